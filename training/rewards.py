"""Rule-based (verifiable) rewards for RL: checked against a known answer, no reward model needed.

    python -m training rl --method grpo --rewards accuracy,format --config recipes/rl/tiny-verifiable.yaml
    python -m training rl --method grpo --rewards accuracy,format,model --reward_weights 1 0.2 0.5 ...

Rewards (each a TRL reward function ``f(prompts, completions, **columns) -> list[float]``; the
problem's ``answer`` and ``options`` columns come from the dataset, training/data.py
``read_verifiable``):

``accuracy``  1.0 when the final answer (evaluation/answers.py ``final_answer``: the text after
              the reasoning, or inside ``<answer>``; none when the reply stopped still reasoning)
              is right, else 0.0. Multiple choice (``options`` set): the chosen letter, parsed as the
              MCQ evaluation parses it (evaluation/mcq.py ``parse_letter``: "答案：B", "The answer
              is (B)", ...; none or several letters count as wrong). Open-ended: the normalised
              answer (NFKC, case, spaces and punctuation, Chinese and English, and English articles
              removed) equals the normalised gold answer, or contains it while being short (at most
              twice the gold's length plus 8 characters), so a list of guesses earns nothing.
``format``    1.0 when the completion is reasoning, then an answer: ``<think>R</think>A`` with both
              parts non-empty (the prompt may have opened ``<think>`` already; HuatuoGPT-o1's
              ``## Thinking`` / ``## Final Response`` count too), else 0.0.
``model``     the trained reward model (training/rl.py), as before.

Weights: TRL's ``reward_weights`` (one per reward, in ``--rewards`` order; default all 1.0); the
total reward is their weighted sum.
"""

from __future__ import annotations

import json
import re
import unicodedata

from evaluation.answers import final_answer
from evaluation.mcq import parse_letter
from model.chat import THINK_CLOSE, THINK_OPEN
from model.reasoning import split_reasoning

REWARDS = ("accuracy", "format", "model")
_ARTICLES = re.compile(r"\b(?:the|a|an)\b")


def parse_rewards(spec: str) -> list[str]:
    """``"accuracy,format"`` -> ``["accuracy", "format"]``, checked (known names, no repeats)."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in REWARDS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(
            f"--rewards {spec!r}: give a comma-separated list of distinct rewards from {', '.join(REWARDS)}"
        )
    return names


def normalise(text: str) -> str:
    """Short-answer normal form: NFKC, lower case, no punctuation, spaces or English articles."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _ARTICLES.sub(" ", text)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def is_correct(completion: str, answer: str, options: dict[str, str] | None) -> bool:
    """Whether ``completion``'s final answer is ``answer`` (a letter when ``options`` is given)."""
    final = final_answer(completion)
    if final is None:  # still reasoning when it stopped: no answer to check
        return False
    if options:
        return parse_letter(final, options) == answer
    gold, got = normalise(answer), normalise(final)
    if not gold or not got:
        return False
    return got == gold or (gold in got and len(got) <= 2 * len(gold) + 8)


def has_format(completion: str) -> bool:
    """Reasoning, then an answer: ``<think>R</think>A`` (or ``R</think>A`` after a prompt that opened
    the tag, or HuatuoGPT-o1's ``## Thinking`` / ``## Final Response``) with R and A non-empty."""
    opened = THINK_CLOSE in completion and not completion.lstrip().startswith(THINK_OPEN)
    split = split_reasoning(completion, opened=opened)
    return bool(split.reasoning) and split.closed and bool(final_answer(completion))


def _text(completion) -> str:
    """TRL hands conversational completions as ``[{"role": "assistant", "content": ...}]``."""
    return completion[-1]["content"] if isinstance(completion, list) else completion


def accuracy(prompts, completions, answer, options=None, **kwargs) -> list[float]:
    """TRL reward function: 1.0 per completion whose final answer is right (see the module doc)."""
    options = options or [""] * len(completions)
    return [
        float(is_correct(_text(c), a, json.loads(o) if o else None))
        for c, a, o in zip(completions, answer, options, strict=True)
    ]


def format_reward(prompts, completions, **kwargs) -> list[float]:
    """TRL reward function: 1.0 per completion written as reasoning, then an answer."""
    return [float(has_format(_text(c))) for c in completions]


format_reward.__name__ = "format"  # TRL logs each reward under its function's name


def reward_funcs(names: list[str], model_reward=None) -> list:
    """The reward functions for ``names`` (``model_reward``: the reward model's function)."""
    table = {"accuracy": accuracy, "format": format_reward, "model": model_reward}
    if "model" in names and model_reward is None:
        raise ValueError("the model reward needs a reward model")
    return [table[n] for n in names]


def weighted_scores(funcs, weights, prompts, completions: list[str], columns: dict) -> dict[str, list[float]]:
    """Each reward's scores and their weighted sum (``"total"``) for plain-text ``completions``,
    one per prompt (``columns``: the dataset columns aligned with them)."""
    weights = list(weights) if weights else [1.0] * len(funcs)
    if len(weights) != len(funcs):
        raise ValueError(f"reward_weights has {len(weights)} values for {len(funcs)} rewards")
    conversational = [[{"role": "assistant", "content": c}] for c in completions]
    out = {f.__name__: f(prompts=prompts, completions=conversational, **columns) for f in funcs}
    out["total"] = [
        sum(w * scores[i] for w, scores in zip(weights, out.values(), strict=False))
        for i in range(len(completions))
    ]
    return out


def group_scorer(funcs, weights, columns: dict[str, list]):
    """``scorer(prompts, groups) -> totals grouped like groups``: the weighted reward of every sampled
    completion (``groups[i]``: prompt i's completions; ``columns``: dataset columns aligned with the
    prompts), for measuring a policy's reward before and after training."""

    def scorer(prompts, groups: list[list[str]]) -> list[list[float]]:
        flat_prompts = [p for p, g in zip(prompts, groups, strict=True) for _ in g]
        flat_columns = {
            k: [v for v, g in zip(vals, groups, strict=True) for _ in g] for k, vals in columns.items()
        }
        total = weighted_scores(funcs, weights, flat_prompts, [c for g in groups for c in g], flat_columns)[
            "total"
        ]
        out, i = [], 0
        for g in groups:
            out.append(total[i : i + len(g)])
            i += len(g)
        return out

    return scorer
