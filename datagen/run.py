"""The two datagen stages: generate tasks from seeds, then answer them. Used by ``python -m datagen``.

Both stages send requests ``concurrency`` at a time (an OpenAI-compatible endpoint through
model/client.py, which retries 429/5xx with backoff; or a local model through model/generate.py,
one request at a time), write every accepted item to the output file the moment it is accepted
(flushed), and log each request and each dropped item with its reason to ``<out>.log.jsonl``.
A re-run with the same command continues from the output file: tasks already there are loaded
into the near-duplicate filter (so nothing is repeated), answered tasks are skipped (so nothing is
answered twice), and an interrupted last line is repaired. After 5 failed requests in a row
(after the client's own retries) the run stops with the last error; re-run to continue.
"""

from __future__ import annotations

import json
import logging
import random
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from tqdm import tqdm

from datagen import stats as stats_mod
from datagen.dedup import NearDuplicateFilter
from datagen.prompts import parse_tasks, task_prompt
from datagen.records import (
    DatagenError,
    JsonlWriter,
    claim_output,
    log_path,
    normalize_task,
    read_json_records,
    resume_jsonl,
    stats_path,
    task_key,
    to_disk,
)
from model.chat import ChatFormatError
from model.generate import GenerationError, GenerationSettings

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 5


def complete(engine, messages: list[dict], settings: GenerationSettings) -> tuple[str, str]:
    """One reply and why it ended, through the engine's streaming interface (local or remote)."""
    _, stream = engine.stream_chat(messages, settings)
    text = stream.text()
    return text, stream.finish_reason


class _Requests:
    """Keeps up to ``concurrency`` requests in flight and yields their outcomes as they finish,
    counting failures in a row (an endpoint that is down stops the run instead of spinning)."""

    def __init__(self, engine, settings: GenerationSettings, concurrency: int, events: JsonlWriter):
        self.engine, self.settings, self.events = engine, settings, events
        self.pool = ThreadPoolExecutor(max_workers=concurrency)
        self.concurrency = concurrency
        self.pending: dict[Future, object] = {}
        self.failures_in_row = 0
        self.sent = 0

    def full(self) -> bool:
        return len(self.pending) >= self.concurrency

    def submit(self, messages: list[dict], tag) -> None:
        self.pending[self.pool.submit(complete, self.engine, messages, self.settings)] = tag
        self.sent += 1

    def finished(self):
        """Wait for at least one request; yield (tag, text, finish_reason) for each that succeeded."""
        done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
        for fut in done:
            tag = self.pending.pop(fut)
            try:
                text, reason = fut.result()
            except (GenerationError, ChatFormatError) as err:
                self.failures_in_row += 1
                self.events.write({"event": "request_failed", "tag": str(tag), "error": str(err)})
                log.warning("request failed: %s", err)
                if self.failures_in_row >= MAX_CONSECUTIVE_FAILURES:
                    self.close()
                    raise DatagenError(
                        f"{self.failures_in_row} requests in a row failed; the last error: {err}. "
                        "Fix the endpoint and re-run the same command: it continues where it stopped."
                    ) from err
                continue
            self.failures_in_row = 0
            yield tag, text, reason

    def close(self) -> None:
        for fut in self.pending:
            fut.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _run_log(out: Path, stage: str, engine, settings: GenerationSettings) -> JsonlWriter:
    """The run log beside ``out``, opened for appending, with this run's start recorded (the first
    line names the stage, which is how a later run knows ``out`` is this stage's output)."""
    events = JsonlWriter(log_path(out))
    events.write({"event": "run", "stage": stage, "model": engine.name, "settings": settings.to_dict()})
    return events


def _previous_requests(out: Path) -> int:
    path = log_path(out)
    if not path.exists():
        return 0
    return sum(1 for _, e in read_json_records(path) if isinstance(e, dict) and e.get("event") == "request")


def generate_tasks(
    engine,
    seeds: list[dict],
    out: str | Path,
    num: int,
    *,
    batch_tasks: int = 8,
    k_seeds: int = 3,
    k_generated: int = 2,
    threshold: float = 0.7,
    concurrency: int = 4,
    lang: str = "zh",
    settings: GenerationSettings | None = None,
    max_requests: int | None = None,
    seed: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Grow ``seeds`` into ``num`` new tasks in ``out`` (JSON lines, AlpaCare's task format).

    Each request shows ``k_seeds`` sampled seed tasks and ``k_generated`` sampled tasks of this
    run and asks for ``batch_tasks`` new ones. A new task is kept when it parses, passes the
    checks in datagen/prompts.py and its instruction's ROUGE-L F against every seed and kept
    instruction is at most ``threshold``. Stops at ``num`` kept tasks, or after ``max_requests``
    requests in this run (default: 5 times the requests needed at full yield, plus 10).
    An ``out`` holding anything but an earlier tasks run is refused unless ``overwrite``
    (records.claim_output). Returns the stats (also written to ``<out>.stats.json``)."""
    if lang not in ("zh", "en"):
        raise DatagenError(f"unknown language {lang!r}; use zh or en")
    out = Path(out)
    claim_output(out, "tasks", overwrite)
    settings = settings or GenerationSettings(max_new_tokens=3072, temperature=1.0, top_p=1.0, timeout_s=300)
    kept, dedup = _resume_tasks(out, seeds, threshold)
    max_requests = max_requests or 5 * -(-max(num - len(kept), 0) // batch_tasks) + 10
    rng = random.Random(seed * 1_000_003 + _previous_requests(out))
    events = _run_log(out, "tasks", engine, settings)
    requests = _Requests(engine, settings, concurrency, events)
    bar = tqdm(total=num, initial=min(len(kept), num), desc="tasks", unit="task", disable=not progress)
    try:
        with JsonlWriter(out) as writer:
            while len(kept) < num:
                while not requests.full() and requests.sent < max_requests:
                    prompt = _next_task_prompt(rng, seeds, kept, k_seeds, k_generated, batch_tasks, lang)
                    requests.submit([{"role": "user", "content": prompt}], requests.sent)
                if not requests.pending:
                    break
                _take_replies(requests, lang, num, dedup, events, writer, kept, engine.name, bar)
    finally:
        requests.close()
        events.close()
        bar.close()
    if len(kept) < num:
        log.warning(
            "stopped after %d requests with %d of %d tasks: the replies yielded too few usable tasks "
            "(see the dropped reasons below); re-run to continue, or raise --max-requests",
            requests.sent,
            len(kept),
            num,
        )
    return _finish(out)


def _take_replies(requests: _Requests, lang, num, dedup, events, writer, kept, model, bar) -> None:
    """Wait for at least one request; parse each reply that came back, log it and its drops, and
    keep its new tasks (up to ``num`` in all) that are not near-duplicates."""
    for tag, text, reason in requests.finished():
        parsed = parse_tasks(text, lang, truncated=reason in ("length", "timeout"))
        _log_parsed(events, tag, reason, parsed)
        for task in parsed.tasks:
            if len(kept) >= num:
                break
            if _keep_task(task, tag, dedup, events, writer, kept, model):
                bar.update(1)
        bar.set_postfix(requests=requests.sent, refresh=False)


def _resume_tasks(out: Path, seeds: list[dict], threshold: float) -> tuple[list[dict], NearDuplicateFilter]:
    """The tasks already in ``out`` (an interrupted last line repaired), and the near-duplicate
    filter loaded with the seeds' and those tasks' instructions."""
    kept = [normalize_task(r, f"{out}:{i + 1}") for i, r in enumerate(resume_jsonl(out))]
    dedup = NearDuplicateFilter(threshold)
    dedup.add_all(t["instruction"] for t in seeds)
    dedup.add_all(t["instruction"] for t in kept)
    return kept, dedup


def _next_task_prompt(rng, seeds, kept, k_seeds, k_generated, batch_tasks, lang) -> str:
    """One request's prompt: sampled seed tasks and tasks of this run, shuffled, as examples."""
    examples = rng.sample(seeds, min(k_seeds, len(seeds)))
    examples += rng.sample(kept, min(k_generated, len(kept)))
    rng.shuffle(examples)
    return task_prompt(examples, batch_tasks, lang)


def _log_parsed(events: JsonlWriter, tag, reason: str, parsed) -> None:
    """Record one reply (how it ended, how many items it held) and each item its parse dropped."""
    events.write(
        {
            "event": "request",
            "tag": tag,
            "finish_reason": reason,
            "items": len(parsed.tasks) + len(parsed.dropped),
        }
    )
    for why, raw in parsed.dropped:
        events.write({"event": "dropped", "reason": why, "raw": raw[:500], "tag": tag})


def _keep_task(
    task: dict, tag, dedup, events: JsonlWriter, writer: JsonlWriter, kept: list, model: str
) -> bool:
    """Offer a parsed task to the near-duplicate filter: write and keep it when accepted, else log
    the drop. Returns whether it was kept."""
    verdict = dedup.offer(task["instruction"])
    if not verdict.accepted:
        events.write(
            {
                "event": "dropped",
                "reason": "near_duplicate",
                "instruction": task["instruction"],
                "similar_to": verdict.similar_to,
                "rouge_l": round(verdict.score, 4),
                "tag": tag,
            }
        )
        return False
    writer.write({"id": f"task-{len(kept):06d}", **to_disk(task), "model": model})
    kept.append(task)
    return True


def _finish(out: Path) -> dict:
    stats = stats_mod.load(out)
    stats_path(out).write_text(json.dumps(stats, ensure_ascii=False, indent=2), encoding="utf-8")
    return stats


def response_messages(task: dict, system: str | None = None) -> list[dict]:
    """The request for a task's answer: its instruction, then its input on the next line (when it
    has one), the same join training/data.py uses for Alpaca records, so SFT trains on the exact
    prompt the answering model saw."""
    content = task["instruction"] + (f"\n{task['input']}" if task["input"] else "")
    return ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": content}
    ]


def generate_responses(
    engine,
    tasks: list[dict],
    out: str | Path,
    *,
    concurrency: int = 4,
    settings: GenerationSettings | None = None,
    system: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Answer every task and write SFT records ``{instruction, input, output}`` (+ id, task
    metadata, model) to ``out``. Tasks already answered in ``out`` are skipped; a reply that is
    empty or cut off at the token limit is dropped and logged (a re-run tries it again). An
    ``out`` holding anything but an earlier responses run is refused unless ``overwrite``."""
    out = Path(out)
    claim_output(out, "responses", overwrite)
    settings = settings or GenerationSettings(max_new_tokens=1024, temperature=0.7, timeout_s=300)
    done = {r.get("id") for r in resume_jsonl(out)}
    todo, queued = [], set()
    for task in tasks:
        key = task_key(task["instruction"], task["input"])
        if key not in done and key not in queued:
            queued.add(key)
            todo.append((key, task))
    events = _run_log(out, "responses", engine, settings)
    requests = _Requests(engine, settings, concurrency, events)
    bar = tqdm(
        total=len(done) + len(todo), initial=len(done), desc="responses", unit="reply", disable=not progress
    )
    pending_tasks = iter(todo)
    by_key = dict(todo)
    try:
        with JsonlWriter(out) as writer:
            while True:
                while not requests.full():
                    nxt = next(pending_tasks, None)
                    if nxt is None:
                        break
                    requests.submit(response_messages(nxt[1], system), nxt[0])
                if not requests.pending:
                    break
                for key, text, reason in requests.finished():
                    events.write({"event": "request", "tag": key, "finish_reason": reason, "items": 1})
                    task = by_key[key]
                    if reason in ("length", "timeout") or not text.strip():
                        why = "empty_response" if not text.strip() else "truncated"
                        events.write({"event": "dropped", "reason": why, "tag": key, "raw": text[:500]})
                        continue
                    disk = to_disk(task)
                    writer.write(
                        {
                            "id": key,
                            "instruction": task["instruction"],
                            "input": task["input"],
                            "output": text.strip(),
                            "type": disk["type"],
                            "topic": disk["topic"],
                            "view": disk["view"],
                            "difficulty": disk["difficulty"],
                            "model": engine.name,
                        }
                    )
                    bar.update(1)
    finally:
        requests.close()
        events.close()
        bar.close()
    return _finish(out)
