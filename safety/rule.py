"""What a rule is: a category and groups of concepts ("a|b" = either); every group needs a current
finding. The rule tables are safety/rules_*.py; safety/rules.py joins them. Not runnable.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """Fires ``category`` when every group in ``groups`` has a current match.

    ``emergency``: show the emergency notice; ``refuse``: refuse instead of answering (only when
    refusal is switched on); ``why``: the clinical rationale, shown in the decision's reasons;
    ``unless``: context concepts whose presence stops the rule (e.g. an earlier stroke)."""

    category: str
    groups: tuple[tuple[str, ...], ...]
    why: str
    emergency: bool = True
    refuse: bool = False
    unless: tuple[str, ...] = ()


def _r(category: str, *groups: str, why: str, emergency=True, refuse=False, unless: str = "") -> Rule:
    return Rule(
        category,
        tuple(tuple(g.split("|")) for g in groups),
        why,
        emergency,
        refuse,
        tuple(unless.split("|")) if unless else (),
    )
