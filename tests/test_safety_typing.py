"""Robust to the way people type (issue 15, item 5): the labelled set rewritten in Traditional
Chinese, in full-width characters, mixed Chinese and English, with emoji, and buried in a
50,000-character message keeps every decision (emergency and refusal).

    pytest tests/test_safety_typing.py
"""

import opencc
import pytest
from conftest import REPO

from safety import check, read_labelled

ROWS = read_labelled(REPO / "data" / "samples" / "safety" / "labelled.jsonl")
_S2T = opencc.OpenCC("s2t")

# Code-switching as people type it: a Chinese message with English words, an English one with Chinese.
_ZH_TO_EN = {
    "胸口疼": "chest pain",
    "胸痛": "chest pain",
    "出冷汗": "sweating",
    "抽搐": "seizure",
    "过敏": "allergic",
}
_EN_TO_ZH = {"chest pain": "胸痛", "sweating": "出汗", "seizure": "抽搐", "ambulance": "救护车"}

_FILLER = {
    "zh": "我先说一下背景情况，家里人都在，今天吃过早饭以后一直在客厅看电视聊天。",
    "en": "Some background first: the family is at home and we had breakfast and watched TV together. ",
}


def traditional(text: str) -> str:
    return _S2T.convert(text)


def full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms, spaces as ideographic spaces."""
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text
    )


def mixed(text: str, lang: str) -> str:
    table = _ZH_TO_EN if lang == "zh" else _EN_TO_ZH
    for word, other in table.items():
        if word in text:
            return text.replace(word, other, 1)
    return ("医生你好，" + text) if lang == "en" else ("Hi doctor, " + text)


def with_emoji(text: str) -> str:
    for mark in "，。,!?！？":
        text = text.replace(mark, mark + "😭")
    return "🙏" + text + " 😰😰🆘"


def long_message(text: str, lang: str, size: int = 50_000) -> str:
    """The message after a ~50,000-character account of ordinary context (the red flag comes last)."""
    filler = _FILLER[lang]
    return filler * (size // len(filler) + 1) + text


REWRITES = {
    "traditional": lambda r: traditional(r["text"]),
    "full-width": lambda r: full_width(r["text"]),
    "mixed zh/en": lambda r: mixed(r["text"], r["lang"]),
    "emoji": lambda r: with_emoji(r["text"]),
}


def test_rewrites_change_the_text():
    assert traditional("孩子发烧抽搐了") == "孩子發燒抽搐了"
    assert full_width("BP 230/130!") == "ＢＰ\u3000２３０／１３０！"
    assert mixed("我胸口疼，出冷汗", "zh") == "我chest pain，出冷汗"
    assert len(long_message("胸口疼", "zh")) >= 50_000


@pytest.mark.parametrize("kind", list(REWRITES))
def test_labelled_set_rewritten_keeps_its_decisions(kind):
    changed = []
    for row in ROWS:
        text = REWRITES[kind](row)
        before, after = check(row["text"]), check(text)
        if (before.emergency, before.refuse) != (after.emergency, after.refuse):
            changed.append((text, before.categories, after.categories))
    assert changed == []


def test_fifty_thousand_character_messages_keep_their_decisions():
    """Every labelled message (zh and en, red flags, ordinary and harmful) buried at the end of a
    50,000-character message is decided as on its own. Every 16th row (each label, both languages):
    a 50,000-character message takes about half a second to check (docs/safety.md, latency)."""
    sample = ROWS[::16]
    assert {r["label"] for r in sample} == {"emergency", "ordinary", "harmful"}
    assert {r["lang"] for r in sample} == {"zh", "en"}
    changed = []
    for row in sample:
        text = long_message(row["text"], row["lang"])
        before, after = check(row["text"]), check(text)
        if (before.emergency, before.refuse) != (after.emergency, after.refuse):
            changed.append((row["text"], before.categories, after.categories))
    assert changed == []


def test_a_red_flag_at_the_start_of_a_long_message_is_still_found():
    text = "我爸胸口压着疼，一直出冷汗。" + _FILLER["zh"] * 2000
    assert len(text) > 50_000 and check(text).emergency
