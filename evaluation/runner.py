"""What every evaluation task shares: the task protocol (``Task``: its flags, its inputs, what it runs,
what it writes and what it adds to comparisons), the one run loop (``run_task``), command-line flags,
the engine under test (model/engines.py: a local ``--model`` or an OpenAI-compatible endpoint),
batched or concurrent generation through model/generate.py with a progress bar and a resume cache,
and the output folder (results.json, report.md, items.jsonl, plots)."""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from evaluation.compare import comparison_section, load_run
from model import artifacts_dir
from model.engines import add_engine_args, engine_from_args, engine_label
from model.generate import GenerationSettings, LocalEngine, generate_batch

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """What a task's ``evaluate`` returns. ``summary``: metric -> ``{"value", "low", "high", "n"}``
    (what reports and ``compare`` table); ``headline``: the summary keys plotted in comparisons;
    ``items``: one row per evaluated item (items.jsonl); ``details``: the task's own parts of
    results.json."""

    summary: dict
    headline: list[str]
    items: list[dict]
    details: dict = field(default_factory=dict)


class Task:
    """One evaluation task. ``run_task`` drives every task through the same steps:
    ``prepare`` (read and check the inputs, before any model loads) -> the engine -> ``evaluate``
    (generate through ``Run.generate`` and score) -> results.json (the shared ``header``, the
    ``Evaluation``) -> ``plot`` -> ``report`` -> the output folder; ``compare`` adds the task's own
    section when runs of it are compared. Subclasses set the class attributes and override the
    methods; the defaults here are what a task without that step does."""

    name: str = ""
    help: str = ""
    temperature: float = 0.0  # default --temperature
    max_new_tokens: int = 256  # default --max-new-tokens
    description: str | None = None  # the --help text (the task module's docstring)

    def add_args(self, parser: argparse.ArgumentParser) -> None:
        """The task's own flags (inputs, options)."""

    def data_files(self, args) -> list[str]:
        """The input files recorded in results.json."""
        return [str(args.data)]

    def prepare(self, args):
        """Read and check the inputs; raise ``DataError`` naming the file and line. Returns what
        ``evaluate``, ``plot`` and ``report`` get as ``inputs``."""
        raise NotImplementedError

    def evaluate(self, run: Run, inputs) -> Evaluation:
        raise NotImplementedError

    def plot(self, results: dict, inputs, out: Path) -> None:
        """Write the task's PNG plots into ``out`` (referenced by its report)."""

    def report(self, results: dict, inputs) -> str:
        """report.md for ``results``."""
        raise NotImplementedError

    def compare(self, runs: list[dict], labels: list[str]) -> str:
        """Markdown the task adds when its runs (results.json contents) are compared."""
        return ""


@dataclass
class Run:
    """One run of a task: its flags, the engine under test, generation settings, output folder."""

    args: argparse.Namespace
    engine: object
    settings: GenerationSettings
    out: Path

    def generate(
        self,
        requests: list,
        desc: str,
        cache: str = "generations.jsonl",
        engine=None,
        settings: GenerationSettings | None = None,
    ) -> list[str]:
        """One reply per request from ``engine`` (default: the model under test), resumable through
        the ``cache`` file in the output folder; see ``generate_all``."""
        return generate_all(
            engine or self.engine,
            requests,
            settings or self.settings,
            self.args.batch_size,
            self.args.concurrency,
            GenerationCache(self.out / cache),
            desc=desc,
        )


def run_task(task: Task, args) -> Path:
    """The one evaluation loop: inputs -> engine -> evaluate -> results.json, plots, report.md,
    items.jsonl (and the comparison with --compare-with runs). Returns the output folder."""
    inputs = task.prepare(args)
    settings = settings_from_args(args)
    engine = build_engine(args)
    out = out_dir(args, task.name)
    evaluation = task.evaluate(Run(args, engine, settings, out), inputs)
    results = header(args, task.name, engine.describe(), task.data_files(args))
    results.update(evaluation.details, summary=evaluation.summary, headline=evaluation.headline)
    out.mkdir(parents=True, exist_ok=True)
    task.plot(results, inputs, out)
    return write_outputs(
        out, results, task.report(results, inputs), evaluation.items, args.compare_with, {task.name: task}
    )


def add_common_args(parser: argparse.ArgumentParser, temperature: float = 0.0, max_new_tokens: int = 256):
    """Flags every task takes: the model (model/engines.py), generation settings, output folder."""
    add_engine_args(parser)
    gen = parser.add_argument_group("generation")
    gen.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    gen.add_argument("--temperature", type=float, default=temperature, help="0 = greedy")
    gen.add_argument("--top-p", type=float, default=0.9)
    gen.add_argument("--repetition-penalty", type=float, default=1.0)
    gen.add_argument("--timeout", type=float, default=300.0, help="seconds per reply")
    gen.add_argument("--batch-size", type=int, default=8, help="prompts per batch on a local model")
    gen.add_argument("--concurrency", type=int, default=4, help="parallel requests to an endpoint")
    gen.add_argument("--seed", type=int, default=0, help="torch seed for sampled generation")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N items")
    parser.add_argument("--name", default=None, help="label of this run in reports and `compare`")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: $MEDCHAT_HOME/eval/TASK-NAME-TIME)"
    )
    parser.add_argument(
        "--compare-with",
        nargs="+",
        type=Path,
        default=[],
        metavar="RUN_DIR",
        help="earlier runs of the same task (e.g. before rl) to compare against in this report",
    )


def settings_from_args(args) -> GenerationSettings:
    try:
        return GenerationSettings(
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            repetition_penalty=args.repetition_penalty,
            timeout_s=args.timeout,
        )
    except ValueError as err:  # names the flag's setting and the allowed range
        raise SystemExit(f"error: {err}") from None


def build_engine(args):
    """The engine under test (model/engines.py): an ``OpenAIEngine`` for --base-url/--api-model, else
    a ``LocalEngine`` for --model (torch seeded with --seed for sampled generation)."""
    if not args.base_url:
        import torch

        torch.manual_seed(args.seed)
    return engine_from_args(args, concurrency=args.concurrency)


def run_label(args) -> str:
    return args.name or engine_label(args)


def out_dir(args, task: str) -> Path:
    if args.out:
        return Path(args.out)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return artifacts_dir() / "eval" / f"{task}-{run_label(args)}-{stamp}"


class GenerationCache:
    """Replies generated so far in an output folder (``generations.jsonl``, appended as batches finish),
    so a run that is interrupted (Ctrl-C, a dropped endpoint) resumes where it stopped when the same
    command is run again. Delete the file, or pick a new --out, to generate afresh."""

    def __init__(self, path: Path):
        self.path = path
        self.done: dict[str, str] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill: generate that reply again
                self.done[row["key"]] = row["text"]

    def add(self, pairs: list[tuple[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            for key, text in pairs:
                self.done[key] = text
                f.write(json.dumps({"key": key, "text": text}, ensure_ascii=False) + "\n")


def _keys(engine_name: str, settings: GenerationSettings, requests: list) -> list[str]:
    """A key per request; identical requests (repeated samples) get their occurrence number."""
    seen: collections.Counter = collections.Counter()
    keys = []
    base = json.dumps([engine_name, settings.to_dict()], sort_keys=True)
    for req in requests:
        body = json.dumps(req, ensure_ascii=False, sort_keys=True)
        seen[body] += 1
        keys.append(hashlib.sha1(f"{base}|{body}|{seen[body]}".encode()).hexdigest())
    return keys


def generate_all(
    engine,
    requests: list,
    settings: GenerationSettings,
    batch_size: int = 8,
    concurrency: int = 4,
    cache: GenerationCache | None = None,
    desc: str = "generating",
) -> list[str]:
    """One reply per request, in order, through model/generate.py.

    A request is a conversation (list of ``{"role", "content"}``, ending with a user message) or a
    plain prompt string (completion without chat template; local models only). Local models
    generate in batches of ``batch_size`` (sorted by length to waste less padding); endpoints take
    ``concurrency`` requests at a time."""
    keys = _keys(engine.name, settings, requests)
    replies: dict[int, str] = {}
    todo = []
    for i, key in enumerate(keys):
        if cache is not None and key in cache.done:
            replies[i] = cache.done[key]
        else:
            todo.append(i)
    if len(todo) < len(requests):
        log.info(
            "resuming: %d of %d replies were already generated", len(requests) - len(todo), len(requests)
        )
    bar = tqdm(total=len(requests), initial=len(requests) - len(todo), desc=desc, unit="reply")

    def finish(indices: list[int], texts: list[str]) -> None:
        for i, text in zip(indices, texts, strict=True):
            replies[i] = text
        if cache is not None:
            cache.add([(keys[i], replies[i]) for i in indices])
        bar.update(len(indices))

    try:
        if isinstance(engine, LocalEngine):
            todo.sort(key=lambda i: len(json.dumps(requests[i], ensure_ascii=False)))
            for start in range(0, len(todo), batch_size):
                chunk = todo[start : start + batch_size]
                if isinstance(requests[chunk[0]], str):
                    out = generate_batch(
                        engine.model, engine.tokenizer, [requests[i] for i in chunk], settings
                    )
                else:
                    out = engine.chat_batch([requests[i] for i in chunk], settings)
                finish(chunk, [texts[0] for texts in out])
        else:
            if any(isinstance(requests[i], str) for i in todo):
                raise SystemExit("error: plain-text prompts need a local model (--model, not --base-url)")
            pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
            try:
                futures = {pool.submit(engine.chat, requests[i], settings): i for i in todo}
                for future in as_completed(futures):
                    finish([futures[future]], [future.result()])  # the first failure stops the run
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    except BaseException:
        if cache is not None:
            log.error(
                "%d of %d replies are saved in %s: run the same command again to resume",
                len(replies),
                len(requests),
                cache.path,
            )
        raise
    finally:
        bar.close()
    return [replies[i] for i in range(len(requests))]


def redact(argv: list[str]) -> list[str]:
    """The command line with the value of every ``--*api-key`` flag replaced by ``***``."""
    out = []
    for i, arg in enumerate(argv):
        if arg.split("=", 1)[0].endswith("api-key") and "=" in arg:
            arg = arg.split("=", 1)[0] + "=***"
        elif i and argv[i - 1].endswith("api-key"):
            arg = "***"
        out.append(arg)
    return out


def header(args, task: str, engine_description: str, data: list[str]) -> dict:
    """The part of results.json every task shares: what ran, on what, when, with which command."""
    return {
        "task": task,
        "name": run_label(args),
        "model": engine_description,
        "base_url": args.base_url,
        "data": data,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python -m evaluation", *redact(args.argv)]),
        "settings": {
            k: [str(x) for x in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("func", "argv") and not k.endswith("api_key")  # never write keys to disk
        },
    }


def write_outputs(
    out: Path,
    results: dict,
    report: str,
    items: list[dict],
    compare_with: list[Path] | None = None,
    tasks: dict | None = None,
) -> Path:
    """Write results.json (everything, machine-readable), report.md and items.jsonl (one row per item).

    With ``compare_with`` (earlier run folders) the report gains a comparison section and plot
    (``tasks``: name -> ``Task``, for the tasks' own comparison sections)."""
    out.mkdir(parents=True, exist_ok=True)
    if compare_with:
        report += "\n" + comparison_section([*map(load_run, compare_with), results], out, tasks)
    (out / "results.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "report.md").write_text(report, encoding="utf-8")
    with (out / "items.jsonl").open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    return out
