"""A training stage's output folder: the files that mark it as medchat's, reading what a finished
stage saved, and refusing to write into a folder of someone else's files.

Every stage's output folder holds, besides the model (or LoRA adapter) and tokenizer:

    medchat_stage.json   what this folder is: stage, base model, adapter or full model, task
    medchat_run.json     written when training starts: the folder is a medchat run (finished or not)
    config.yaml          the resolved config the stage ran with
    metrics.json         final metrics (train/eval loss and the stage's own measurements)
    metrics.jsonl        the metrics log, one JSON object per logging step
    data.json            fingerprint of the training data (SHA-256 per file, record counts)

``--output_dir`` may be a new or empty folder, or one of our own runs (either marker present: a
rerun replaces it, ``--resume`` continues it). Any other folder with files in it is refused unless
``--overwrite_output_dir`` says to write there anyway: a stage replaces files such as config.json,
config.yaml and metrics.jsonl. (Used by training/common.py; no stage logic here.)
"""

from __future__ import annotations

import json
import time
from pathlib import Path

STAGE_FILE = "medchat_stage.json"
RUN_FILE = "medchat_run.json"


class StageError(RuntimeError):
    """A stage that cannot start (no base model, missing reward model, bad option combination)."""


def read_stage(run_dir: str | Path) -> dict:
    """The ``medchat_stage.json`` of a stage output folder."""
    path = Path(run_dir) / STAGE_FILE
    if not path.exists():
        raise StageError(f"{run_dir} is not a medchat stage output (no {STAGE_FILE})")
    return json.loads(path.read_text())


def is_our_run(folder: Path) -> bool:
    """Whether ``folder`` is a medchat stage's output (finished, or killed after training started)."""
    return (folder / STAGE_FILE).exists() or (folder / RUN_FILE).exists()


def check_output_dir(output_dir: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse an ``output_dir`` holding files a stage did not write, before anything is loaded
    (``resume`` continues the run already there; ``overwrite`` writes into any folder)."""
    folder = Path(output_dir)
    if overwrite or resume or not folder.exists():
        return
    if not folder.is_dir():
        raise StageError(f"--output_dir {folder} is a file, not a folder")
    entries = sorted(p.name for p in folder.iterdir())
    if not entries or is_our_run(folder):
        return
    shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    raise StageError(
        f"--output_dir {folder} already holds files that are not a medchat training run ({shown}); "
        "a stage would replace files there (config.json, config.yaml, metrics.jsonl, ...). Choose an "
        "empty or new folder, or pass --overwrite_output_dir to write into it anyway"
    )


def mark_run(output_dir: str | Path) -> None:
    """Mark ``output_dir`` as a medchat run (called as training starts; idempotent)."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / RUN_FILE
    if not marker.exists():
        marker.write_text(json.dumps({"started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}))
