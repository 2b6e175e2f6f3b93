r"""Evaluate a checkpoint (local model or OpenAI-compatible endpoint) on one task and write results.json,
report.md, items.jsonl and PNG plots into --out.

    python -m evaluation mcq      --model artifacts/demo-model --data ../shared/data/cmmlu/dev --out runs/mcq
    python -m evaluation ner      --model MODEL --data data/samples/eval/ner_cmeee_sample.json --out runs/ner
    python -m evaluation dialogue --model MODEL --data data/samples/eval/dialogues_sample.jsonl --out runs/dlg
    python -m evaluation bias     --model MODEL --scale data/samples/eval/attitude_scale_zh.yaml --out runs/bias
    python -m evaluation judge    --model MODEL --data data/samples/eval/judge_instructions_sample.jsonl \
        --reference data/samples/eval/judge_reference_sample.jsonl \
        --judge-base-url http://127.0.0.1:8001/v1 --judge-model JUDGE --out runs/judge
    python -m evaluation compare runs/bias-sft runs/bias-rl --out runs/compare

Every task takes --model (Hugging Face id or folder, loaded through model/load.py) or --base-url URL
--model NAME (an OpenAI-compatible endpoint). See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import logging
import sys

from evaluation import bias, compare, dialogue, judge, mcq, ner
from evaluation.runner import add_common_args

# task -> (module, help, default temperature, default max_new_tokens)
TASKS = {
    "mcq": (mcq, "multiple-choice exams (CMMLU/C-Eval CSV, MedQA JSONL)", 0.0, 48),
    "ner": (ner, "entity extraction on CMeEE-style JSON, strict and lenient F1", 0.0, 256),
    "dialogue": (dialogue, "multi-turn reference dialogues: BLEU, ROUGE-L, chrF, distinct-n", 0.0, 256),
    "bias": (bias, "attitude-scale probing (Likert items, subscales, groups)", 0.7, 64),
    "judge": (judge, "free-form answers judged pairwise against a reference model", 0.0, 512),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="task", required=True)
    for name, (module, help_text, temperature, max_new) in TASKS.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        add_common_args(p, temperature=temperature, max_new_tokens=max_new)
        p.set_defaults(func=module.run)
    p = sub.add_parser(
        "compare",
        help="compare run folders",
        description=compare.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_arguments(p)
    p.set_defaults(func=compare.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from evaluation.data import DataError
    from model.chat import ChatFormatError
    from model.generate import GenerationError
    from model.load import ModelLoadError

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = args.func(args)
    except (DataError, ModelLoadError, ChatFormatError, GenerationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
