"""Language detection and text normalisation before matching: NFKC (full-width -> half-width),
Traditional -> Simplified Chinese (OpenCC ``t2s``), lower case, typographic apostrophes, and
figurative phrases masked (safety/context.py ``FIGURATIVE``). Not runnable.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from safety.lexicon_context import FIGURATIVE

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
# Past-tense auxiliaries matched as present ones, so that "his speech was slurred" and "we couldn't
# wake him" read like "is slurred" / "can't wake" (the time markers, not the tense, decide history).
_TENSE = {
    "was": "is",
    "were": "are",
    "wasn't": "isn't",
    "weren't": "aren't",
    "couldn't": "can't",
    "wouldn't": "won't",
}
_TENSE_RE = re.compile(r"(?<![a-z'])(?:" + "|".join(_TENSE) + r")(?![a-z'])")
# Contractions typed without the apostrophe ("hes", "havent", "cant"), restored so that every
# pattern written with one matches; only words that are not also ordinary English words
# ("its", "well", "were", "ill", "shell" stay as they are).
_BARE = {
    "im": "i'm",
    "ive": "i've",
    "hes": "he's",
    "shes": "she's",
    "theyre": "they're",
    "youre": "you're",
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "wont": "won't",
    "isnt": "isn't",
    "arent": "aren't",
    "wasnt": "wasn't",
    "werent": "weren't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "hadnt": "hadn't",
    "couldnt": "couldn't",
    "wouldnt": "wouldn't",
    "shouldnt": "shouldn't",
}
_BARE_RE = re.compile(r"(?<![a-z'])(?:" + "|".join(_BARE) + r")(?![a-z'])")


def detect_language(text: str) -> str:
    """``"zh"`` when the text is mainly Chinese, ``"en"`` when it is mainly Latin-script.

    Chinese characters count three times a Latin letter (one character carries about a word);
    text with neither (empty, digits) gives ``"zh"``, the project's first language."""
    han = len(_HAN.findall(text))
    latin = len(_LATIN.findall(text))
    if han == 0 and latin > 0:
        return "en"
    return "zh" if han * 3 >= latin else "en"


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """NFKC, Traditional -> Simplified, lower case, typographic apostrophes, past auxiliaries as
    present ones, figurative phrases masked.

    Masked spans become underscores so that offsets stay valid for the clause logic."""
    text = _t2s().convert(unicodedata.normalize("NFKC", text)).lower().replace("’", "'")
    text = _BARE_RE.sub(lambda m: _BARE[m.group()], text)
    text = _TENSE_RE.sub(lambda m: _TENSE[m.group()], text)
    return FIGURATIVE.sub(lambda m: "_" * len(m.group()), text)
