"""Command line of the MedInstruct (AlpaCare-style) data generator.

    python -m datagen tasks --seeds data/samples/seeds_zh.json --num 1000 --out tasks.jsonl \\
        --base-url http://127.0.0.1:8000/v1 --api-model medchat      # or --model PATH_OR_ID (run here)
    python -m datagen responses --tasks tasks.jsonl --out sft.jsonl --base-url URL --api-model NAME
    python -m datagen stats tasks.jsonl
    python -m datagen verifiable --mcq ../shared/data/cmmlu/dev --out verifiable.jsonl [--open-ended]

Re-running a command continues where it stopped. ``--api-key`` defaults to $OPENAI_API_KEY.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from datagen import stats as stats_mod
from datagen import verifiable
from datagen.records import DatagenError, read_tasks
from datagen.run import generate_responses, generate_tasks
from model.engines import EngineArgsError, add_engine_args, engine_from_args
from model.generate import GenerationSettings

DEFAULT_SEEDS = str(Path(__file__).resolve().parent.parent / "data" / "samples" / "seeds_zh.json")


def _backend_args(p: argparse.ArgumentParser, max_new_tokens: int, temperature: float, top_p: float) -> None:
    add_engine_args(p)  # --model (run here) or --base-url + --api-model (an endpoint): model/engines.py
    g = p.add_argument_group("generation")
    g.add_argument("--concurrency", type=int, default=4, help="requests in flight (a local model runs one)")
    g.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    g.add_argument("--temperature", type=float, default=temperature)
    g.add_argument("--top-p", type=float, default=top_p)
    g.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out (and its log and stats) even if it holds other content; without it, only "
        "an earlier run of this command's own output is continued",
    )


def _engine(args):
    """(engine, concurrency) from the model flags: an endpoint takes --concurrency requests at a time,
    a model run here one."""
    from model.load import ModelLoadError

    try:
        engine = engine_from_args(args, concurrency=args.concurrency)
    except (EngineArgsError, ModelLoadError) as err:
        raise SystemExit(f"error: {err}") from None
    if args.base_url:
        return engine, args.concurrency
    if args.concurrency > 1:
        logging.info("--model generates one request at a time (serve it for parallel requests)")
    return engine, 1


def _endpoint_reply_limit(engine) -> int | None:
    """The longest reply (tokens) the endpoint says a request may ask for: the ``max_tokens`` field of
    its /v1/models card for our model (model.server advertises its cap there), else None."""
    import openai

    try:
        cards = engine.client.models.list().data
    except openai.APIError as err:  # an endpoint without /v1/models: nothing advertised
        logging.info("could not read %s/models (%s): --max-new-tokens is sent as given", engine.base_url, err)
        return None
    for card in cards:
        limit = (card.model_extra or {}).get("max_tokens")
        if card.id == engine.name and isinstance(limit, int):
            return limit
    return None


def _settings(args, engine) -> GenerationSettings:
    """Generation settings from the flags; on an endpoint that advertises a shorter reply limit than
    --max-new-tokens, that limit (asking for more is refused by the server on every request)."""
    max_new_tokens = args.max_new_tokens
    limit = _endpoint_reply_limit(engine) if args.base_url else None
    if limit is not None and max_new_tokens > limit:
        logging.warning(
            "--max-new-tokens %d is over the endpoint's limit of %d tokens per reply: asking for %d",
            max_new_tokens,
            limit,
            limit,
        )
        max_new_tokens = limit
    try:
        return GenerationSettings(
            max_new_tokens=max_new_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            timeout_s=args.timeout,
        )
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m datagen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_tasks_parser(sub)
    _add_responses_parser(sub)
    s = sub.add_parser("stats", help="counts by topic, viewpoint, type, difficulty; drops by reason")
    s.add_argument("file")
    s.add_argument("--json", default=None, help="also write the stats to this JSON file")

    v = sub.add_parser("verifiable", help="MCQs (CMMLU / C-Eval / MedQA) -> verifiable RL problems")
    verifiable.add_arguments(v)
    return parser


def _add_tasks_parser(sub) -> None:
    t = sub.add_parser("tasks", help="generate new tasks from seed tasks")
    t.add_argument(
        "--seeds",
        nargs="+",
        default=[DEFAULT_SEEDS],
        help="seed files: AlpaCare's JSON list (../shared/data/alpacare/med_seed.json) or JSON lines "
        "(default: our Chinese seeds, data/samples/seeds_zh.json)",
    )
    t.add_argument("--num", type=int, required=True, help="tasks to have in --out")
    t.add_argument("--out", required=True, help="tasks file (JSON lines; appended to, resumable)")
    t.add_argument("--batch-tasks", type=int, default=8, help="new tasks asked for per request")
    t.add_argument("--k-seeds", type=int, default=3, help="seed tasks shown per request")
    t.add_argument("--k-generated", type=int, default=2, help="generated tasks shown per request")
    t.add_argument(
        "--threshold", type=float, default=0.7, help="drop when ROUGE-L F to a kept instruction exceeds this"
    )
    t.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the new tasks")
    t.add_argument(
        "--max-requests",
        type=int,
        default=None,
        help="stop after this many requests (default: 5x the requests needed at full yield + 10)",
    )
    t.add_argument("--seed", type=int, default=0, help="random seed for sampling the shown examples")
    _backend_args(t, max_new_tokens=3072, temperature=1.0, top_p=1.0)


def _add_responses_parser(sub) -> None:
    r = sub.add_parser("responses", help="answer tasks with a (second) model -> SFT records")
    r.add_argument("--tasks", nargs="+", required=True, help="tasks files (from `tasks`, or seed files)")
    r.add_argument("--out", required=True, help="SFT file (JSON lines; appended to, resumable)")
    r.add_argument("--system", default=None, help="optional system prompt for the answering model")
    _backend_args(r, max_new_tokens=1024, temperature=0.7, top_p=0.9)


def _run_tasks(args, parser: argparse.ArgumentParser) -> int:
    if args.num < 1 or args.batch_tasks < 1:
        parser.error("--num and --batch-tasks must be at least 1")
    seeds = read_tasks(args.seeds)
    engine, concurrency = _engine(args)
    stats = generate_tasks(
        engine,
        seeds,
        args.out,
        args.num,
        batch_tasks=args.batch_tasks,
        k_seeds=args.k_seeds,
        k_generated=args.k_generated,
        threshold=args.threshold,
        concurrency=concurrency,
        lang=args.lang,
        settings=_settings(args, engine),
        max_requests=args.max_requests,
        seed=args.seed,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    print(stats_mod.table(stats))
    if stats["records"] < args.num:
        print(f"\nonly {stats['records']} of {args.num} tasks; re-run to continue", file=sys.stderr)
        return 1
    return 0


def _run_responses(args) -> int:
    tasks = read_tasks(args.tasks)
    engine, concurrency = _engine(args)
    stats = generate_responses(
        engine,
        tasks,
        args.out,
        concurrency=concurrency,
        settings=_settings(args, engine),
        system=args.system,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    print(stats_mod.table(stats))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "stats":
            stats_mod.main([args.file] + (["--json", args.json] if args.json else []))
            return 0
        if args.command == "verifiable":
            return verifiable.run(args)
        if args.command == "tasks":
            return _run_tasks(args, parser)
        return _run_responses(args)
    except DatagenError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
