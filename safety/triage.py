"""A second opinion from a model: an optional triage check that asks a chat model, with a short
timeout and a JSON answer, whether a message describes an emergency happening now and which kind.

It runs beside generation (``TriageCheck.start`` returns at once), may add an emergency notice,
and never removes one the rules raised; when it fails, times out or answers garbage, the rules
alone decide and the decision carries no triage field, so nothing claims a check that did not
happen. Every outcome (decision, latency, agreement with the rules) is logged on the
``medchat.safety.triage`` logger.

    python -m safety.triage --triage-base-url http://127.0.0.1:8000/v1 --triage-api-model NAME "胸口像撕开一样疼"
    python -m safety.triage --triage-model ./my-instruct-model "My chest hurts"

The model is named the project's way: ``--triage-model`` (hub id or local folder, loaded with
model/load.py, generated with model/generate.py) or ``--triage-base-url`` + ``--triage-api-model``
(an OpenAI-compatible endpoint, model/client.py). Never the offline demo model: it knows no medicine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import re
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from safety.decision import SafetyDecision, build_notice
from safety.texts import CATEGORY_INFO, EMERGENCY_CATEGORIES

log = logging.getLogger("medchat.safety.triage")

DEMO_MARKER = "medchat_demo.json"  # training/demo.py writes it into the demo model's folder

TRIAGE_PROMPT = (
    "You are an emergency triage nurse. Read the user's message (Chinese or English) and decide "
    "whether it describes a medical emergency happening now, to the writer or someone with them, "
    "that needs an ambulance or the emergency department today. General questions, past events "
    "and hypotheticals are not emergencies. Answer with one JSON object and nothing else: "
    '{"emergency": true or false, "category": one of '
    + json.dumps(list(EMERGENCY_CATEGORIES) + ["other"])
    + ' or null, "reason": "a few words"}'
)

_JSON_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


class TriageError(ValueError):
    """The triage model's answer could not be read as the requested JSON."""


@dataclass(frozen=True)
class TriageResult:
    """The model's answer: ``emergency``, ``category`` (one of the rule categories, "other", or
    None), its ``reason``, the ``model`` that gave it and the ``latency_s`` it took."""

    emergency: bool
    category: str | None
    reason: str
    model: str
    latency_s: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def parse_answer(text: str, model: str, latency_s: float) -> TriageResult:
    """Read the first JSON object in ``text``; raise :class:`TriageError` naming what is wrong."""
    match = _JSON_OBJECT.search(text or "")
    if match is None:
        raise TriageError(f"no JSON object in the answer {text[:80]!r}")
    try:
        data = json.loads(match.group())
    except json.JSONDecodeError as err:
        raise TriageError(f"the answer's JSON does not parse ({err.msg}): {match.group()[:80]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("emergency"), bool):
        raise TriageError(f"'emergency' must be true or false, got {data.get('emergency')!r}")
    category = data.get("category")
    if category is not None and not isinstance(category, str):
        raise TriageError(f"'category' must be a string or null, got {category!r}")
    if category is not None and category not in CATEGORY_INFO:
        category = "other"
    reason = data.get("reason")
    return TriageResult(data["emergency"], category, str(reason or "")[:200], model, round(latency_s, 3))


class PendingTriage:
    """A triage check in flight; ``result(timeout)`` waits at most ``timeout`` seconds."""

    def __init__(self, future: Future, check: TriageCheck, message: str, rules: SafetyDecision | None):
        self._future, self._check, self._message, self._rules = future, check, message, rules
        self._deadline = time.monotonic() + check.timeout_s
        self._done = False
        self._result: TriageResult | None = None

    def result(self, timeout: float | None = None) -> TriageResult | None:
        """The model's answer, or None when it failed, answered garbage or is not back within
        ``timeout`` seconds (default: until the check's own timeout, counted from ``start``). Logged once."""
        if self._done:
            return self._result
        wait = self._deadline - time.monotonic() if timeout is None else timeout
        try:
            self._result = self._future.result(timeout=max(wait, 0.0))
            outcome = "ok"
        except FutureTimeout:
            outcome = f"no answer within {self._check.timeout_s:.1f} s"
        except Exception as err:  # the engine's error or a TriageError: the rules alone decide
            outcome = f"failed: {err}"
        self._done = True
        self._check.record(self._message, self._rules, self._result, outcome)
        return self._result


class TriageCheck:
    """Ask ``engine`` (LocalEngine or OpenAIEngine: anything with ``chat(messages, settings)`` and
    ``name``) for a triage opinion, ``timeout_s`` seconds at most, ``workers`` checks at a time."""

    def __init__(self, engine, timeout_s: float = 4.0, max_new_tokens: int = 96, workers: int = 2):
        from model.generate import GenerationSettings

        self.engine = engine
        self.timeout_s = timeout_s
        self.settings = GenerationSettings(
            max_new_tokens=max_new_tokens, temperature=0.0, repetition_penalty=1.0, timeout_s=timeout_s
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="triage")
        self.stats = {"asked": 0, "answered": 0, "failed": 0, "agreed": 0, "added": 0}

    @property
    def name(self) -> str:
        return self.engine.name

    def messages(self, message: str) -> list[dict]:
        return [{"role": "system", "content": TRIAGE_PROMPT}, {"role": "user", "content": message}]

    def _ask(self, message: str) -> TriageResult:
        t0 = time.perf_counter()
        text = self.engine.chat(self.messages(message), self.settings)
        return parse_answer(text, self.engine.name, time.perf_counter() - t0)

    def start(self, message: str, rules: SafetyDecision | None = None) -> PendingTriage:
        """Start a check of ``message`` in the background; ``rules`` (the rule decision) is used
        only to log agreement."""
        self.stats["asked"] += 1
        return PendingTriage(self._pool.submit(self._ask, message), self, message, rules)

    def check(self, message: str, rules: SafetyDecision | None = None) -> TriageResult | None:
        """Start and wait: the result, or None when it failed or timed out."""
        return self.start(message, rules).result()

    def record(self, message, rules: SafetyDecision | None, result: TriageResult | None, outcome: str):
        """Log one outcome: the model's decision and latency, and whether it agrees with the rules."""
        if result is None:
            self.stats["failed"] += 1
            log.warning("triage %s: %s (rules alone decide) for %r", self.name, outcome, message[:60])
            return
        self.stats["answered"] += 1
        agrees = None if rules is None else result.emergency == rules.emergency
        self.stats["agreed"] += bool(agrees)
        self.stats["added"] += bool(result.emergency and rules is not None and not rules.emergency)
        log.info(
            "triage %s: emergency=%s category=%s latency=%.3fs rules=%s agree=%s reason=%r",
            self.name,
            result.emergency,
            result.category,
            result.latency_s,
            None if rules is None else rules.emergency,
            agrees,
            result.reason,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def combine(rules: SafetyDecision, result: TriageResult | None) -> SafetyDecision:
    """The rule decision with the model's opinion added: an emergency the rules missed gets a
    notice; an emergency the rules raised is never removed; refusals are the rules' alone. With no
    result (failed, timed out, not run) the rule decision is returned unchanged, with no triage field."""
    if result is None:
        return rules
    triage = {**result.to_dict(), "agrees": result.emergency == rules.emergency}
    if not result.emergency or rules.emergency:
        return dataclasses.replace(rules, triage=triage)
    category = result.category if result.category in CATEGORY_INFO else None
    categories = list(rules.categories) + [category or "model_triage"]
    why = f"triage model {result.model}: {result.reason or 'emergency'}"
    return dataclasses.replace(
        rules,
        emergency=True,
        categories=categories,
        notice=build_notice([category or "model_triage"], rules.lang),
        reasons=list(rules.reasons) + [{"category": categories[-1], "why": why, "matched": []}],
        triage=triage,
    )


def add_triage_args(parser: argparse.ArgumentParser) -> None:
    """``--triage-model`` (a model run here) or ``--triage-base-url`` + ``--triage-api-model``
    (an endpoint), and ``--triage-timeout``."""
    from model.engines import add_remote_args

    group = parser.add_argument_group("second-opinion triage model (safety/triage.py)")
    group.add_argument(
        "--triage-model",
        default=None,
        help="second-opinion triage model run here (hub id or local folder; not the demo model)",
    )
    group.add_argument(
        "--triage-timeout", type=float, default=4.0, help="seconds to wait for the triage model's answer"
    )
    add_remote_args(parser, prefix="triage", what="the triage model")


def triage_from_args(args: argparse.Namespace) -> TriageCheck | None:
    """The :class:`TriageCheck` the triage flags name, or None when none is given. Raises
    ``ValueError`` for the demo model or for both a local model and an endpoint."""
    from model.engines import remote_from_args

    remote = remote_from_args(args, prefix="triage", concurrency=1)
    if remote is not None and args.triage_model:
        raise ValueError("--triage-model and --triage-base-url are alternatives: give one of them")
    if remote is not None:
        return TriageCheck(remote, timeout_s=args.triage_timeout)
    if not args.triage_model:
        return None
    if (Path(args.triage_model).expanduser() / DEMO_MARKER).exists():
        raise ValueError(
            f"--triage-model {args.triage_model} is the offline demo model, which knows no medicine: "
            "name a real instruction-tuned model or an endpoint"
        )
    from model.generate import LocalEngine
    from model.load import load_model

    return TriageCheck(LocalEngine(load_model(args.triage_model)), timeout_s=args.triage_timeout)


def main(argv: list[str] | None = None) -> int:
    """CLI: the rule decision and the triage model's opinion on one message, as JSON."""
    from safety.decision import check

    parser = argparse.ArgumentParser(prog="python -m safety.triage", description=__doc__.splitlines()[0])
    parser.add_argument("message", help="the user message")
    add_triage_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    triage = triage_from_args(args)
    if triage is None:
        parser.error(
            "name a triage model: --triage-model ID or --triage-base-url URL --triage-api-model NAME"
        )
    rules = check(args.message)
    result = triage.check(args.message, rules)
    print(json.dumps(combine(rules, result).to_dict(), ensure_ascii=False, indent=2))
    triage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
