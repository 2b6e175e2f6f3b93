r"""Evaluate a checkpoint (local model or OpenAI-compatible endpoint) on one task and write results.json,
report.md, items.jsonl and PNG plots into --out.

    python -m evaluation mcq      --model artifacts/demo-model --data ../shared/data/cmmlu/dev --out runs/mcq
    python -m evaluation ner      --model MODEL --data data/samples/eval/ner_cmeee_sample.json --out runs/ner
    python -m evaluation dialogue --model MODEL --data data/samples/eval/dialogues_sample.jsonl --out runs/dlg
    python -m evaluation bias     --model MODEL --scale data/samples/eval/attitude_scale_zh.yaml --out runs/bias
    python -m evaluation judge    --model MODEL --data data/samples/eval/judge_instructions_sample.jsonl \
        --reference data/samples/eval/judge_reference_sample.jsonl \
        --judge-base-url http://127.0.0.1:8001/v1 --judge-api-model JUDGE --out runs/judge
    python -m evaluation mcq --base-url http://127.0.0.1:8000/v1 --api-model medchat --data medqa.jsonl
    python -m evaluation compare runs/bias-sft runs/bias-rl --out runs/compare

Every task takes the model as model/engines.py names it everywhere: --model (Hugging Face id or
local folder, with --adapter, --quant, --chat-template, --device) or --base-url URL --api-model NAME
(an OpenAI-compatible endpoint). See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import logging
import sys

from evaluation import bias, compare, dialogue, judge, mcq, ner
from evaluation.runner import add_common_args, run_task

TASKS = {t.name: t for t in (mcq.TASK, ner.TASK, dialogue.TASK, bias.TASK, judge.TASK)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="task", required=True)
    for task in TASKS.values():
        p = sub.add_parser(
            task.name,
            help=task.help,
            description=task.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        task.add_args(p)
        add_common_args(p, temperature=task.temperature, max_new_tokens=task.max_new_tokens)
        p.set_defaults(func=lambda args, task=task: run_task(task, args))
    p = sub.add_parser(
        "compare",
        help="compare run folders",
        description=compare.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_arguments(p)
    p.set_defaults(func=lambda args: compare.run(args, TASKS))
    return parser


def main(argv: list[str] | None = None) -> int:
    from evaluation.data import DataError
    from model.chat import ChatFormatError
    from model.engines import EngineArgsError
    from model.generate import GenerationError
    from model.load import ModelLoadError

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = args.func(args)
    except (DataError, EngineArgsError, ModelLoadError, ChatFormatError, GenerationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
