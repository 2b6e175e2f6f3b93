"""The matcher: find every concept in a normalised message, keep the current findings (context),
and fire the rules whose groups all have one. Not runnable; safety/decision.py calls it.
"""

from __future__ import annotations

import re

from safety.concept import Concept, compile_concept
from safety.context import is_current, spans
from safety.lexicon_context import CASE_FRAME, CLAUSE_SPLIT, SEGMENT_SPLIT
from safety.lexicon_emergency import EMERGENCY_CONCEPTS
from safety.lexicon_harm import HARM_CONCEPTS
from safety.lexicon_presentations import PRESENTATION_CONCEPTS
from safety.rules import RULES, Rule

CONCEPTS: tuple[Concept, ...] = EMERGENCY_CONCEPTS + PRESENTATION_CONCEPTS + HARM_CONCEPTS
COMPILED: dict[str, tuple[Concept, re.Pattern | None, re.Pattern | None]] = {
    c.name: (c, *compile_concept(c)) for c in CONCEPTS
}
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN_OR_DIGIT = re.compile(r"[a-z0-9]")
_ORDER = {rule: i for i, rule in enumerate(RULES)}
# Rules by the concepts of their first group: only rules whose first group has a match can fire.
_BY_FIRST: dict[str, list[Rule]] = {}
for _rule in RULES:
    for _name in _rule.groups[0]:
        _BY_FIRST.setdefault(_name, []).append(_rule)
_REQUESTS = {c.name for c in HARM_CONCEPTS}


def fire_rules(text: str) -> list[tuple[Rule, list[str]]]:
    """Every rule whose groups all have a current match in normalised ``text``, with the matched
    words as evidence, in the order of ``RULES``.

    Harmful-request rules go first: findings inside a request they matched ("让人失去意识的药")
    describe the request, not an emergency, and are dropped before the emergency rules run."""
    current = _current_findings(text)
    candidates = _candidates(current)
    fired = [(rule, hits) for rule in candidates if not rule.emergency if (hits := _rule_hits(rule, current))]
    harm_names = {
        n for rule, _ in fired for group in rule.groups for n in group if not COMPILED[n][0].context
    }
    harm_spans = [m.span() for n in harm_names for m in current[n]]
    for name in [n for n in current if not COMPILED[n][0].context]:
        current[name] = [m for m in current[name] if not any(a <= m.start() < b for a, b in harm_spans)]
    if not CASE_FRAME.search(text):
        fired += [
            (rule, hits) for rule in candidates if rule.emergency if (hits := _rule_hits(rule, current))
        ]
    return [(rule, [m.group() for m in hits]) for rule, hits in sorted(fired, key=lambda f: _ORDER[f[0]])]


def _current_findings(text: str) -> dict[str, list[re.Match]]:
    """Concept name -> its matches that count: all for context concepts, current ones for findings."""
    matches = _matches(text)
    all_spans = sorted({m.span() for ms in matches.values() for m in ms})
    clauses = spans(CLAUSE_SPLIT, text)
    segments = spans(SEGMENT_SPLIT, text)
    current: dict[str, list[re.Match]] = {}
    for name, ms in matches.items():
        concept = COMPILED[name][0]
        request = name in _REQUESTS
        kept = [
            m for m in ms if concept.context or is_current(text, m, clauses, segments, all_spans, request)
        ]
        if kept:
            current[name] = kept
    return current


def _candidates(current: dict[str, list[re.Match]]) -> list[Rule]:
    """The rules whose first group has a match in ``current``, in the order of ``RULES``."""
    found = {rule for name in current for rule in _BY_FIRST.get(name, ())}
    return sorted(found, key=_ORDER.__getitem__)


def _matches(text: str) -> dict[str, list[re.Match]]:
    """Concept name -> every match in ``text``, in text order; only the languages ``text`` uses are
    searched (Chinese patterns need a Chinese character to match, English ones a letter or digit)."""
    use_zh, use_en = bool(_HAN.search(text)), bool(_LATIN_OR_DIGIT.search(text))
    out = {}
    for name, (_, zh, en) in COMPILED.items():
        found = list(zh.finditer(text)) if use_zh and zh else []
        if use_en and en:
            found = (
                sorted(found + list(en.finditer(text)), key=re.Match.start)
                if found
                else list(en.finditer(text))
            )
        out[name] = found
    return out


def _rule_hits(rule: Rule, current: dict[str, list[re.Match]]) -> list[re.Match]:
    """One current match per group of ``rule`` (empty when a group has none or an ``unless`` is present)."""
    if any(current.get(n) for n in rule.unless):
        return []
    hits = []
    for group in rule.groups:
        hit = next((current[n][0] for n in group if current.get(n)), None)
        if hit is None:
            return []
        hits.append(hit)
    return hits
