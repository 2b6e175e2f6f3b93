"""Rules: a category and groups of concepts ("a|b" = either); every group needs a current finding.

For a clinician to review: each rule carries its clinical rationale (``why``), shown in the
decision's reasons. The tables are safety/rules_emergency.py, safety/rules_presentations.py and
safety/rules_harm.py; their order here is the order categories are reported in. Concepts are in
safety/lexicon_*.py; not runnable.
"""

from __future__ import annotations

from safety.rule import Rule
from safety.rules_emergency import EMERGENCY_RULES
from safety.rules_harm import HARM_RULES
from safety.rules_presentations import PRESENTATION_RULES

__all__ = ["RULES", "Rule"]

RULES: tuple[Rule, ...] = EMERGENCY_RULES + PRESENTATION_RULES + HARM_RULES
