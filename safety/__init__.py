"""medchat's medical safety layer: emergency red flags (Chinese and English), the standing
disclaimer, the demo notice, and refusal of clearly harmful requests. Used by the app and the API
server; no model code.

    from safety import check, disclaimer, DEMO_NOTICE, detect_language
    python -m safety "胸口疼得厉害，还一直出冷汗"        # prints the decision as JSON

How it decides (all of it plain, readable data, no model), file by file:

- language.py: normalise (NFKC, Traditional -> Simplified, lower case, figurative phrases masked);
- lexicon_emergency.py, lexicon_harm.py: *concepts*, named lists of zh and en regexes
  (``chest_pain``, ``sweating``, ``child``...), notation in concept.py;
- context.py: drop findings that do not describe something happening now: negated, past or
  recurrent, hypothetical, or part of a general-knowledge question (NegEx / ConText style);
- rules.py: a rule names a category and groups of concepts; every group needs a current finding;
- matcher.py runs them; decision.py builds the ``SafetyDecision``; texts.py holds every text a
  user sees (disclaimer, notices, crisis lines, refusals); data.py reads the labelled sets.

Rules lean towards catching every red flag: a false alarm costs a notice, a miss can cost a life.
docs/safety.md has the measured rates.
"""

from safety.data import LABELS, read_labelled
from safety.decision import SafetyDecision, check, disclaimer
from safety.language import detect_language
from safety.texts import (
    CATEGORY_INFO,
    DEMO_NOTICE,
    DISCLAIMER,
    EMERGENCY_CATEGORIES,
    HARM_CATEGORIES,
    HARM_REFUSAL,
    SELF_HARM_REFUSAL,
)

__all__ = [
    "CATEGORY_INFO",
    "DEMO_NOTICE",
    "DISCLAIMER",
    "EMERGENCY_CATEGORIES",
    "HARM_CATEGORIES",
    "HARM_REFUSAL",
    "LABELS",
    "SELF_HARM_REFUSAL",
    "SafetyDecision",
    "check",
    "detect_language",
    "disclaimer",
    "read_labelled",
]
