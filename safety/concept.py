"""What a concept is (a named medical idea with zh and en regexes) and how its patterns compile.

Pattern notation: ``<gap>`` is a short filler that cannot cross punctuation or a negation
("胸口<gap>痛" matches 胸口一阵阵痛 but not 胸口不痛); English patterns are wrapped in letter
boundaries automatically. Text is already lower-case, half-width and Simplified when matched
(safety/language.py). The lexicons themselves are safety/lexicon_*.py; not runnable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ZH_GAP = r"[^,.!?;:、。没无不未]{0,4}?"
EN_GAP = r"[^,.!?;:]{0,25}?"


@dataclass(frozen=True)
class Concept:
    """A named medical idea, with regex patterns per language; see the notes above."""

    name: str
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    context: bool = False


def _c(name: str, zh=(), en=(), context: bool = False) -> Concept:
    return Concept(name, tuple(zh), tuple(en), context)


def compile_concept(concept: Concept) -> re.Pattern:
    """One alternation of all of ``concept``'s zh and en patterns, ``<gap>`` expanded.

    The English alternatives share one pair of letter boundaries: the same matches as wrapping each
    alternative, about three times faster on long messages (the lookbehind is tried once per
    position instead of once per alternative)."""
    parts = [p.replace("<gap>", ZH_GAP) for p in concept.zh]
    if concept.en:
        english = "|".join(f"(?:{p.replace('<gap>', EN_GAP)})" for p in concept.en)
        parts.append(r"(?<![a-z])(?:" + english + r")(?![a-z])")
    return re.compile("|".join(f"(?:{p})" for p in parts))
