"""The decision for one user message (``check``) and the texts that go with it (``disclaimer``).

Not runnable; ``python -m safety "..."`` (safety/__main__.py) prints a decision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from safety.language import detect_language, normalise
from safety.matcher import fire_rules
from safety.texts import (
    CATEGORY_INFO,
    DISCLAIMER,
    EMERGENCY_HEADER,
    HARM_REFUSAL,
    MODEL_TRIAGE_INFO,
    SELF_HARM_REFUSAL,
)


@dataclass
class SafetyDecision:
    """What the app/server does with a user message.

    ``emergency``: show ``notice`` above the answer. ``refuse``: show ``refusal`` instead of
    generating. ``categories``: every rule category that fired (emergency ones such as "cardiac",
    "stroke", "suicide"..., and harmful-request ones "harm_others", "forgery", "controlled_drugs").
    ``lang``: "zh" or "en", the language of ``notice`` and ``refusal``. ``reasons``: for each fired
    rule, its category, rationale and the matched words (for logs and debugging). ``triage``: the
    optional triage model's answer (safety/triage.py) when that check ran and answered, else None."""

    emergency: bool
    categories: list[str]
    refuse: bool
    refusal: str | None
    notice: str | None
    lang: str
    reasons: list[dict] = field(default_factory=list)
    triage: dict | None = None

    def to_dict(self) -> dict:
        """Plain dict, JSON-serialisable."""
        return asdict(self)


def disclaimer(lang: str) -> str:
    """The standing disclaimer (not a doctor; information only, not a diagnosis; see a clinician)."""
    return DISCLAIMER[_lang_key(lang)]


def check(text: str, refuse_harmful: bool = True) -> SafetyDecision:
    """Check one user message; see :class:`SafetyDecision` for how to use the result.

    ``refuse_harmful=False`` keeps every category and the emergency notice but never refuses."""
    lang = detect_language(text)
    fired = fire_rules(normalise(text))
    categories = list(dict.fromkeys(rule.category for rule, _ in fired))
    emergency_cats = [c for c in dict.fromkeys(r.category for r, _ in fired if r.emergency)]
    refusing = [r for r, _ in fired if r.refuse] if refuse_harmful else []
    refusal = None
    if refusing:
        self_harm = any(r.emergency for r in refusing)
        refusal = (SELF_HARM_REFUSAL if self_harm else HARM_REFUSAL)[lang]
    return SafetyDecision(
        emergency=bool(emergency_cats),
        categories=categories,
        refuse=bool(refusing),
        refusal=refusal,
        notice=build_notice(emergency_cats, lang) if emergency_cats else None,
        lang=lang,
        reasons=[{"category": r.category, "why": r.why, "matched": ev} for r, ev in fired],
    )


def _lang_key(lang: str) -> str:
    key = lang.lower()[:2]
    if key not in ("zh", "en"):
        raise ValueError(f"unsupported language {lang!r}: use 'zh' or 'en'")
    return key


def build_notice(categories: list[str], lang: str) -> str:
    """The emergency notice for ``categories`` in ``lang``: the header (call 120 / 911·112·999) with
    their labels, then one first-aid line each ("model_triage": the triage model's own line)."""
    info = [MODEL_TRIAGE_INFO[lang] if c == "model_triage" else CATEGORY_INFO[c][lang] for c in categories]
    labels = ("、" if lang == "zh" else "; ").join(label for label, _ in info)
    lines = [EMERGENCY_HEADER[lang].format(labels=labels)]
    lines += [f"• {hint}" for _, hint in info]
    return "\n".join(lines)
