"""Wording variants (issue 15, item 4): every labelled red flag rewritten mechanically (determiners
and possessives swapped or dropped, tense changed, a time phrase or a relative clause added,
clauses reordered, Chinese 了/着/过 and measure words varied) is still caught, and the ordinary
messages rewritten the same way stay quiet.

    pytest tests/test_safety_variants.py
"""

import re

import pytest
from conftest import REPO

from safety import check, read_labelled

ROWS = read_labelled(REPO / "data" / "samples" / "safety" / "labelled.jsonl")
RED_FLAGS = [r for r in ROWS if r["label"] == "emergency"]
ORDINARY = [r for r in ROWS if r["label"] == "ordinary"]

_EN_DET = {"a": "the", "an": "the", "the": "a", "my": "his", "his": "her", "her": "his", "their": "his"}
_EN_PAST = {
    "is": "was",
    "are": "were",
    "has": "had",
    "have": "had",
    "can't": "couldn't",
    "won't": "wouldn't",
    "isn't": "wasn't",
    "doesn't": "didn't",
    "keeps": "kept",
    "feels": "felt",
    "says": "said",
}
_EN_PERSON = r"\b(dad|father|mum|mom|mother|son|daughter|wife|husband|friend|baby|grandma|grandad|grandpa|brother|sister|partner|boyfriend|girlfriend|toddler|neighbour|neighbor|colleague|coworker|roommate)\b"
_ZH_PERSON = (
    r"(爸爸|妈妈|老公|老婆|儿子|女儿|孩子|宝宝|爷爷|奶奶|外公|外婆|朋友|同事|室友|邻居|老人|我爸|我妈)"
)
_ZH_MEASURE = {
    "片": "粒",
    "粒": "颗",
    "颗": "片",
    "一个人": "一位",
    "只眼": "边眼睛",
    "半小时": "半个小时",
    "个小时": "小时",
    "一次": "一回",
    "几次": "几回",
    "一口": "一大口",
    "一瓶": "一整瓶",
    "一块": "一片",
    "一阵": "一阵阵",
}


def _words(text, table):
    return re.sub(r"[A-Za-z']+", lambda m: _match_case(m.group(), table.get(m.group().lower())), text)


def _match_case(word, new):
    if new is None:
        return word
    return new.capitalize() if word[0].isupper() else new


def _drop_determiners(text):
    return re.sub(r"\b(?:the|a|an) (?=\w)", "", text, flags=re.IGNORECASE)


def _reorder(text, zh):
    """Swap the first two clauses ("A, B, C" -> "B, A, C"); a one-clause message is returned as is."""
    parts = re.split(r"([，,；;])" if zh else r"(, | and )", text.rstrip("。.!！"))
    if len(parts) < 3:
        return text
    parts[0], parts[2] = parts[2], parts[0]
    return "".join(parts)


def en_variants(text):
    """Mechanical English rewrites of one message."""
    out = {
        "determiners swapped": _words(text, _EN_DET),
        "determiners dropped": _drop_determiners(text),
        "past tense": _words(text, _EN_PAST),
        "time phrase": text.rstrip(".!") + ", as of today",
        "time phrase first": "Since yesterday evening, " + text[0].lower() + text[1:],
        "relative clause": re.sub(_EN_PERSON, r"\1, who lives with us,", text, count=1, flags=re.IGNORECASE)
        if re.search(_EN_PERSON, text, re.IGNORECASE)
        else text.rstrip(".!") + ", which is what worries me",
        "clauses reordered": _reorder(text, zh=False),
    }
    return {k: v for k, v in out.items() if v != text}


def zh_variants(text):
    """Mechanical Chinese rewrites of one message."""
    out = {
        "了 dropped": text.replace("了", ""),
        "了 -> 着": re.sub(r"(?<=[疼痛肿抖抽喘憋流吐冒躺坐站捂按压])了", "着", text),
        "吃了 -> 吃过": re.sub(r"([吃喝吞服])了", r"\1过", text),
        "measure words": re.sub("|".join(_ZH_MEASURE), lambda m: _ZH_MEASURE[m.group()], text),
        "time phrase": "从昨天晚上开始，" + text,
        "time phrase after": text.rstrip("。!！") + "，今天还是这样",
        "relative clause": re.sub(_ZH_PERSON, r"和我住在一起的\1", text, count=1),
        "clauses reordered": _reorder(text, zh=True),
    }
    return {k: v for k, v in out.items() if v != text}


def variants(row):
    return (zh_variants if row["lang"] == "zh" else en_variants)(row["text"])


def test_the_rewriter_really_rewrites():
    """The rewrites are not no-ops: most messages get several distinct variants of each kind."""
    kinds = {}
    for row in RED_FLAGS + ORDINARY:
        for kind in variants(row):
            kinds[kind] = kinds.get(kind, 0) + 1
    assert len(kinds) == 12 and min(kinds.values()) >= 4, kinds
    assert en_variants("He swallowed a whole bottle of pills")["determiners swapped"] == (
        "He swallowed the whole bottle of pills"
    )
    assert zh_variants("孩子吃了五片药")["吃了 -> 吃过"] == "孩子吃过五片药"
    assert zh_variants("孩子吃了五片药")["measure words"] == "孩子吃了五粒药"
    assert _reorder("胸口疼，出冷汗，喘不上气", zh=True) == "出冷汗，胸口疼，喘不上气"


@pytest.mark.parametrize("row", RED_FLAGS, ids=lambda r: r["text"][:30])
def test_every_variant_of_a_red_flag_is_caught(row):
    missed = {kind: v for kind, v in variants(row).items() if not check(v).emergency}
    assert missed == {}


@pytest.mark.parametrize("row", ORDINARY, ids=lambda r: r["text"][:30])
def test_ordinary_messages_rewritten_the_same_way_stay_quiet(row):
    alarms = {kind: (v, check(v).categories) for kind, v in variants(row).items() if check(v).emergency}
    assert alarms == {}
