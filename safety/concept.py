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
    both: tuple[str, ...] = ()  # patterns for either language (numbers like "230/130", mixed word lists)


def _c(name: str, zh=(), en=(), context: bool = False, both=()) -> Concept:
    return Concept(name, tuple(zh), tuple(en), context, tuple(both))


def compile_concept(concept: Concept) -> tuple[re.Pattern | None, re.Pattern | None]:
    """``concept``'s Chinese and English patterns, each as one alternation with ``<gap>`` expanded
    (None where the concept has none in that language).

    Kept apart so that a message runs only the languages it is written in (the matcher skips the
    Chinese patterns for a message with no Chinese character, the English ones for a message with
    no Latin letter or digit): about half the matching time for a one-language message. The
    English alternatives share one pair of letter boundaries: the same matches as wrapping each
    alternative, about three times faster on long messages (the lookbehind is tried once per
    position instead of once per alternative)."""
    chinese = concept.zh + concept.both
    zh = re.compile("|".join(f"(?:{p.replace('<gap>', ZH_GAP)})" for p in chinese)) if chinese else None
    en = None
    if concept.en or concept.both:
        english = "|".join(f"(?:{p.replace('<gap>', EN_GAP)})" for p in concept.en)
        parts = [r"(?<![a-z])(?:" + english + r")(?![a-z])"] if concept.en else []
        parts += [f"(?:{p.replace('<gap>', ZH_GAP)})" for p in concept.both]
        en = re.compile("|".join(parts))
    return zh, en
