"""Multiple-choice questions (CMMLU / C-Eval CSV, MedQA JSONL) -> verifiable problems for RL with
rule-based rewards (training/rewards.py), as HuatuoGPT-o1 built its verifiable set from MCQs.

    python -m datagen verifiable --mcq ../shared/data/cmmlu/dev --out runs/verifiable.jsonl
    python -m datagen verifiable --mcq medqa_train.jsonl --open-ended --out runs/verifiable-open.jsonl

Each question becomes ``{"question", "options", "answer", "subject", "source"}`` (kept as an MCQ:
the answer is the correct letter), or with ``--open-ended`` ``{"question", "answer", ...}`` whose
answer is the correct option's text. An open-ended question must make sense without its options,
so questions that point at them ("以下哪项", "which of the following", "都不是", "all of the
above"), negated ones ("不包括", "except": many right answers without the options) and options
longer than ``--max-answer-chars`` are left out and counted (rules, not a model: a question with
several right answers can still pass). The files are read
by evaluation/mcq.py's readers (errors name the file and line); ``training rl --rewards accuracy``
reads the output.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from datagen.records import DatagenError, write_jsonl_atomic

# Questions or options that only make sense with the options shown, and negated questions ("does
# not include ..."), which have many right answers once the options are gone (Chinese and English).
_NEEDS_OPTIONS = re.compile(
    r"以下|下列|哪一项|哪项|哪个选项|上述|以上|都不是|都是|均是|均不是|不包括|不属于|不正确|错误的|除外|"
    r"which of the following|all of the above|none of the above|both [a-d] and [a-d]|following|"
    r"\bexcept\b|\bnot\b|incorrect|false",
    re.IGNORECASE,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mcq", nargs="+", required=True, help="MCQ files or folders (CSV: CMMLU/C-Eval; JSONL: MedQA)"
    )
    p.add_argument("--out", required=True, help="verifiable problems (JSON lines)")
    p.add_argument(
        "--open-ended", action="store_true", help="drop the options: the answer is the correct option's text"
    )
    p.add_argument(
        "--max-answer-chars", type=int, default=30, help="--open-ended: longest option text kept as an answer"
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def open_ended_skip(item, max_chars: int) -> str | None:
    """Why ``item`` cannot become an open-ended problem, or None when it can."""
    if _NEEDS_OPTIONS.search(item.question) or any(_NEEDS_OPTIONS.search(v) for v in item.options.values()):
        return "refers to its options"
    if len(item.options[item.answer]) > max_chars:
        return "answer too long"
    if list(item.options.values()).count(item.options[item.answer]) > 1:
        return "duplicate options"
    return None


def convert(items, open_ended: bool, max_chars: int) -> tuple[list[dict], Counter]:
    """Problems from MCQ ``items`` (evaluation/mcq.py ``Item``) and the count of each skip reason."""
    problems, skipped = [], Counter()
    for item in items:
        record = {"question": item.question, "subject": item.subject, "source": item.source}
        if not open_ended:
            problems.append({**record, "options": item.options, "answer": item.answer})
            continue
        reason = open_ended_skip(item, max_chars)
        if reason:
            skipped[reason] += 1
        else:
            problems.append({**record, "answer": item.options[item.answer]})
    return problems, skipped


def run(args) -> int:
    """The ``verifiable`` command: read, convert, write atomically; refuses an existing --out."""
    from evaluation.data import DataError
    from evaluation.mcq import read_items

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise DatagenError(f"{out} exists: name a new file, or pass --overwrite to replace it")
    items = []
    try:
        for path in args.mcq:
            items += read_items(path)
    except (DataError, FileNotFoundError) as err:
        raise DatagenError(str(err)) from None
    problems, skipped = convert(items, args.open_ended, args.max_answer_chars)
    if not problems:
        raise DatagenError(f"no verifiable problems from {len(items)} questions (skipped: {dict(skipped)})")
    write_jsonl_atomic(out, problems)
    kind = "open-ended" if args.open_ended else "multiple-choice"
    print(
        f"wrote {out}: {len(problems)} {kind} problems from {len(items)} questions; skipped {dict(skipped)}"
    )
    return 0
