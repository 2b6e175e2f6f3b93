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
COMPILED: dict[str, tuple[Concept, re.Pattern]] = {c.name: (c, compile_concept(c)) for c in CONCEPTS}
_ORDER = {rule: i for i, rule in enumerate(RULES)}
_REQUESTS = {c.name for c in HARM_CONCEPTS}


def fire_rules(text: str) -> list[tuple[Rule, list[str]]]:
    """Every rule whose groups all have a current match in normalised ``text``, with the matched
    words as evidence, in the order of ``RULES``.

    Harmful-request rules go first: findings inside a request they matched ("让人失去意识的药")
    describe the request, not an emergency, and are dropped before the emergency rules run."""
    current = _current_findings(text)
    fired = [(rule, hits) for rule in RULES if not rule.emergency if (hits := _rule_hits(rule, current))]
    harm_names = {
        n for rule, _ in fired for group in rule.groups for n in group if not COMPILED[n][0].context
    }
    harm_spans = [m.span() for n in harm_names for m in current[n]]
    for name in [n for n in current if not COMPILED[n][0].context]:
        current[name] = [m for m in current[name] if not any(a <= m.start() < b for a, b in harm_spans)]
    if not CASE_FRAME.search(text):
        fired += [(rule, hits) for rule in RULES if rule.emergency if (hits := _rule_hits(rule, current))]
    return [(rule, [m.group() for m in hits]) for rule, hits in sorted(fired, key=lambda f: _ORDER[f[0]])]


def _current_findings(text: str) -> dict[str, list[re.Match]]:
    """Concept name -> its matches that count: all for context concepts, current ones for findings."""
    matches = {name: list(pat.finditer(text)) for name, (_, pat) in COMPILED.items()}
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
