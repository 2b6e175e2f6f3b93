"""Task and record files: AlpaCare's seed format (JSON list) and JSON lines, read with clear errors,
and append-only outputs that a re-run resumes from.

A task is ``{instruction, input, type, topic, view, difficulty}``; on disk ``input`` is the string
``<noinput>`` when the task needs none and ``difficulty`` is "1".."5" (AlpaCare's seed format, so a
generated tasks file can seed another run); in memory ``input`` is "" and ``difficulty`` an int.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

NOINPUT = "<noinput>"
# One digit 1-5, optionally "/5", with words around it ("3", "3/5", "Level 3", "难度 3 (中等)").
_DIFFICULTY_RE = re.compile(r"\D*([1-5])(?:\s*/\s*5)?\D*")
_NOINPUT_RE = re.compile(r"^[<(\[]?\s*(no\s*-?\s*input|无输入|无|none|n/?a|空)\s*[>)\]]?[.。]?$", re.I)


class DatagenError(ValueError):
    """Bad input to datagen (file, line and what is wrong)."""


def is_noinput(text: str | None) -> bool:
    return text is None or not text.strip() or bool(_NOINPUT_RE.match(text.strip()))


def parse_difficulty(value) -> int | None:
    """1..5 from "3", 3, "3/5", "Level 3" ...; None when there is no such digit."""
    m = _DIFFICULTY_RE.fullmatch(str(value).strip()) if value is not None else None
    return int(m.group(1)) if m else None


def task_key(instruction: str, input_text: str) -> str:
    """Stable id of a task's content (used to resume the responses stage)."""
    return hashlib.sha1(f"{instruction.strip()}\n{input_text.strip()}".encode()).hexdigest()[:16]


def normalize_task(item: dict, where: str) -> dict:
    """A task dict from a seed or tasks file in memory form; raises DatagenError naming ``where``."""
    if not isinstance(item, dict):
        raise DatagenError(f"{where}: expected a JSON object, got {type(item).__name__}")
    instruction = item.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        raise DatagenError(f"{where}: missing or empty 'instruction'")
    raw_input = item.get("input")
    if raw_input is not None and not isinstance(raw_input, str):
        raise DatagenError(f"{where}: 'input' must be a string")
    task = dict(item)
    task.update(
        instruction=instruction.strip(),
        input="" if is_noinput(raw_input) else raw_input.strip(),
        type=str(item.get("type") or "").strip(),
        topic=str(item.get("topic") or "").strip(),
        view=str(item.get("view") or "").strip(),
        difficulty=parse_difficulty(item.get("difficulty")),
    )
    return task


def to_disk(task: dict) -> dict:
    """Memory form -> AlpaCare's on-disk form (``<noinput>``, difficulty as a string)."""
    out = dict(task)
    out["input"] = task["input"] or NOINPUT
    out["difficulty"] = str(task["difficulty"]) if task.get("difficulty") else ""
    return out


def read_json_records(path: str | Path) -> list[tuple[str, object]]:
    """Items of a JSON list file or a JSON-lines file, each with its location ("file:line")."""
    path = Path(path)
    if not path.is_file():
        raise DatagenError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise DatagenError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
        return [(f"{path} item {i}", item) for i, item in enumerate(items)]
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((f"{path}:{n}", json.loads(line)))
        except json.JSONDecodeError as err:
            raise DatagenError(f"{path}:{n}: not valid JSON ({err.msg})") from None
    return out


def read_tasks(paths) -> list[dict]:
    """Tasks from one or more seed/task files (AlpaCare's JSON list or JSON lines)."""
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    tasks = []
    for path in paths:
        tasks += [normalize_task(item, where) for where, item in read_json_records(path)]
    if not tasks:
        raise DatagenError(f"no tasks in {', '.join(map(str, paths))}")
    return tasks


def resume_jsonl(path: str | Path) -> list[dict]:
    """Records already in an output file, for a re-run to continue from.

    A last line cut off by a kill mid-write is removed from the file (the item it held was not
    complete, so the re-run produces it again); any other unreadable line is an error naming it."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        tail = data[cut:].decode("utf-8", errors="replace")
        try:
            json.loads(tail)
            with path.open("ab") as f:  # complete record, only its newline missing
                f.write(b"\n")
        except json.JSONDecodeError:
            log.warning(
                "%s: removing an incomplete last line left by an interrupted run: %.60s...", path, tail
            )
            with path.open("r+b") as f:
                f.truncate(cut)
    records = []
    for where, item in read_json_records(path):
        if not isinstance(item, dict):
            raise DatagenError(f"{where}: expected a JSON object")
        records.append(item)
    return records


class JsonlWriter:
    """Append records one per line, flushed at once: a kill loses at most the line being written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("a", encoding="utf-8")

    def write(self, record: dict) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_jsonl_atomic(path: str | Path, records) -> None:
    """Write ``records`` one JSON object per line to ``path`` through a temporary file swapped in
    with ``os.replace``: readers (and a resumed run) never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def log_path(out: str | Path) -> Path:
    """The run log beside an output file: requests made and items dropped, with reasons."""
    out = Path(out)
    return out.with_name(out.name + ".log.jsonl")


def stats_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".stats.json")


def _log_stage(out: Path) -> str | None:
    """The stage (tasks | responses) that started the run log beside ``out`` (its first line), or
    None for a log without that line."""
    with log_path(out).open(encoding="utf-8") as f:
        first = f.readline()
    try:
        event = json.loads(first)
    except json.JSONDecodeError:
        return None
    return event.get("stage") if isinstance(event, dict) and event.get("event") == "run" else None


def claim_output(out: str | Path, stage: str, overwrite: bool = False) -> None:
    """Make sure writing to ``out`` destroys nothing datagen did not write.

    An ``out`` that does not exist, is empty, or holds an earlier run of the same ``stage`` (its run
    log beside it; the run then continues) is fine. A folder is refused; so is a file holding other
    content (no run log of this stage beside it), unless ``overwrite``. ``overwrite`` deletes
    ``out`` with its log and stats, so the run starts afresh."""
    out = Path(out)
    if out.is_dir():
        raise DatagenError(
            f"--out {out} is a folder: name the JSON lines file to write, e.g. {out / (stage + '.jsonl')}"
        )
    log = log_path(out)
    ours = log.is_file() and _log_stage(out) in (None, stage)
    if out.is_file() and out.stat().st_size and not ours and not overwrite:
        stage_of_log = _log_stage(out) if log.is_file() else None
        why = (
            f"it holds `datagen {stage_of_log}` output"
            if stage_of_log
            else f"no {log.name} from a datagen run beside it"
        )
        raise DatagenError(
            f"--out {out} already exists and was not written by `datagen {stage}` ({why}): "
            "name a new file, or pass --overwrite to replace it (its contents are deleted)"
        )
    if overwrite:
        for path in (out, log, stats_path(out)):
            path.unlink(missing_ok=True)
