"""Human feedback from the chat app, stored in SQLite, exported as preference pairs for RLHF.

The app records two kinds of feedback (app.py):
  * ratings: thumbs up (+1) or down (-1) on one answer;
  * comparisons: the user regenerated an answer and picked the better of the two.
Each row keeps the conversation as the user saw it, the exact messages the model received (system
prompt and grounding included), the model, the generation settings and the time (UTC).

    python -m training export-feedback --db artifacts/feedback.sqlite --out prefs.jsonl
    python -m training export-feedback --format kto --db artifacts/feedback.sqlite --out kto.jsonl

writes TRL's conversational preference records, one JSON object a line, which ``training rm`` and
``training dpo`` read::

    {"prompt": [{"role": "user", "content": ...}, ...],
     "chosen": [{"role": "assistant", "content": ...}],
     "rejected": [{"role": "assistant", "content": ...}]}

Pairs come from every comparison, and from ratings: for the same prompt, each answer rated up is
paired with each answer rated down (a user's latest rating of an answer wins). Ratings with no
opposite rating on the same prompt cannot form a pair and are counted in the report.

``--format kto`` writes TRL's unpaired records for ``training kto`` instead, no pairing needed:
``{"prompt": [...], "completion": [{"role": "assistant", ...}], "label": true | false}``, one per
rated answer (thumbs up: true) and per compared answer (chosen: true, rejected: false).

The database runs in WAL mode with synchronous=FULL: a write that returned is on disk, and a process
killed mid-write leaves every earlier row intact (tests/test_app_feedback.py kills a writer to check).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from datagen.records import write_jsonl_atomic

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,          -- ISO 8601, UTC
    session TEXT,                      -- the app session that gave it
    model TEXT NOT NULL,
    settings TEXT NOT NULL,            -- JSON: generation settings, grounding
    conversation TEXT NOT NULL,        -- JSON: [{role, content}] as the user saw it, ending with the question
    prompt TEXT NOT NULL,              -- JSON: [{role, content}] the model received (system, grounding)
    answer TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1))
);
CREATE TABLE IF NOT EXISTS comparisons (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    session TEXT,
    model TEXT NOT NULL,
    settings TEXT NOT NULL,            -- JSON: {"a": settings of the first answer, "b": of the regenerated one}
    conversation TEXT NOT NULL,
    prompt TEXT NOT NULL,
    chosen TEXT NOT NULL,
    rejected TEXT NOT NULL
);
"""


class FeedbackError(RuntimeError):
    """A feedback database that cannot be used (not SQLite, newer schema, unwritable)."""


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _check_messages(messages, what: str) -> None:
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{what} must be a non-empty list of {{role, content}} messages")
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise ValueError(f"{what}: every message needs a role of system, user or assistant, got {m!r}")
        if not isinstance(m.get("content"), str):
            raise ValueError(f"{what}: message content must be text, got {m!r}")
    if messages[-1]["role"] != "user":
        raise ValueError(f"{what} must end with the user's message")


def _row(prompt, model: str, settings: dict, conversation, session) -> dict:
    """The columns ratings and comparisons share, validated and JSON-encoded."""
    _check_messages(prompt, "prompt")
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "session": session,
        "model": model,
        "settings": _json(settings),
        "conversation": _json(conversation if conversation is not None else prompt),
        "prompt": _json(prompt),
    }


class FeedbackStore:
    """Thread- and process-safe feedback store: every call opens its own short SQLite connection."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise FeedbackError(
                        f"{self.path} was written by a newer medchat (schema {version} > {SCHEMA_VERSION})"
                    )
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise FeedbackError(f"{self.path}: SQLite refused WAL mode (got {mode})")
                conn.executescript(SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as err:
            raise FeedbackError(f"{self.path} is not a usable feedback database: {err}") from err
        except OSError as err:
            raise FeedbackError(f"cannot create the feedback database {self.path}: {err}") from err

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        # FULL: a commit is on disk before the call returns (WAL + NORMAL may lose the last commits on
        # power loss); feedback is rare, so the extra fsync costs nothing that matters.
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _insert(self, table: str, row: dict) -> int:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn = self._connect()
        try:
            with conn:  # one transaction: committed on success, rolled back on error
                cursor = conn.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
                )
            return int(cursor.lastrowid)
        finally:
            conn.close()

    def add_rating(
        self,
        prompt: list[dict],
        answer: str,
        rating: int,
        model: str,
        settings: dict,
        conversation: list[dict] | None = None,
        session: str | None = None,
    ) -> int:
        """Store a thumbs up (``rating=1``) or down (``-1``) on ``answer`` to ``prompt``; returns the row id."""
        if rating not in (1, -1):
            raise ValueError(f"rating must be 1 (up) or -1 (down), got {rating!r}")
        row = _row(prompt, model, settings, conversation, session)
        return self._insert("ratings", {**row, "answer": answer, "rating": rating})

    def add_comparison(
        self,
        prompt: list[dict],
        chosen: str,
        rejected: str,
        model: str,
        settings: dict,
        conversation: list[dict] | None = None,
        session: str | None = None,
    ) -> int:
        """Store that the user preferred ``chosen`` over ``rejected`` as the answer to ``prompt``."""
        row = _row(prompt, model, settings, conversation, session)
        return self._insert("comparisons", {**row, "chosen": chosen, "rejected": rejected})

    def rows(self, table: str) -> list[dict]:
        """All rows of ``ratings`` or ``comparisons``, oldest first, JSON columns decoded."""
        if table not in ("ratings", "comparisons"):
            raise ValueError(f"unknown table {table!r}")
        conn = self._connect()
        conn.row_factory = sqlite3.Row
        try:
            rows = [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
        finally:
            conn.close()
        for row in rows:
            for key in ("settings", "conversation", "prompt"):
                row[key] = json.loads(row[key])
        return rows

    def counts(self) -> dict[str, int]:
        conn = self._connect()
        try:
            return {
                t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("ratings", "comparisons")
            }
        finally:
            conn.close()


@dataclass
class ExportReport:
    """What an export wrote: pairs by origin, and ratings that found no opposite rating to pair with."""

    pairs: int = 0
    from_comparisons: int = 0
    from_ratings: int = 0
    unpaired_ratings: int = 0
    duplicates_skipped: int = 0

    def __str__(self) -> str:
        return (
            f"{self.pairs} preference pairs ({self.from_comparisons} from comparisons, {self.from_ratings} "
            f"from ratings); {self.unpaired_ratings} ratings had no opposite rating on the same prompt; "
            f"{self.duplicates_skipped} duplicates skipped"
        )


def preference_pairs(store: FeedbackStore, report: ExportReport | None = None) -> Iterator[dict]:
    """TRL conversational preference records from ``store`` (comparisons first, then rating pairs)."""
    report = report if report is not None else ExportReport()
    seen: set[tuple[str, str, str]] = set()

    def record(prompt: list[dict], chosen: str, rejected: str, origin: str):
        key = (_json(prompt), chosen, rejected)
        if chosen == rejected or key in seen:
            report.duplicates_skipped += 1
            return None
        seen.add(key)
        report.pairs += 1
        setattr(report, origin, getattr(report, origin) + 1)
        return {
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }

    for row in tqdm(store.rows("comparisons"), desc="comparisons", unit="row", disable=None):
        out = record(row["prompt"], row["chosen"], row["rejected"], "from_comparisons")
        if out:
            yield out

    # Latest rating per (prompt, answer) wins; then pair ups with downs on the same prompt.
    latest: dict[tuple[str, str], int] = {}
    prompts: dict[str, list[dict]] = {}
    for row in tqdm(store.rows("ratings"), desc="ratings", unit="row", disable=None):
        key = _json(row["prompt"])
        prompts[key] = row["prompt"]
        latest[(key, row["answer"])] = row["rating"]
    by_prompt: dict[str, dict[int, list[str]]] = defaultdict(lambda: {1: [], -1: []})
    for (key, answer), rating in latest.items():
        by_prompt[key][rating].append(answer)
    for key, answers in by_prompt.items():
        if not answers[1] or not answers[-1]:
            report.unpaired_ratings += len(answers[1]) + len(answers[-1])
            continue
        for chosen in answers[1]:
            for rejected in answers[-1]:
                out = record(prompts[key], chosen, rejected, "from_ratings")
                if out:
                    yield out


@dataclass
class UnpairedReport:
    """What a KTO export wrote: desirable (thumbs up, chosen) and undesirable (thumbs down, rejected)."""

    desirable: int = 0
    undesirable: int = 0

    def __str__(self) -> str:
        return f"{self.desirable} desirable and {self.undesirable} undesirable examples"


def unpaired_examples(store: FeedbackStore, report: UnpairedReport | None = None) -> Iterator[dict]:
    """TRL's unpaired records ``{"prompt", "completion", "label"}`` for KTO: each rated answer, as the
    user's latest rating of it says (up: desirable), and each compared answer (chosen: desirable,
    rejected: undesirable) that was not rated; an answer appears once per prompt."""
    report = report if report is not None else UnpairedReport()
    labels: dict[tuple[str, str], bool] = {}
    prompts: dict[str, list[dict]] = {}
    for row in store.rows("comparisons"):
        key = _json(row["prompt"])
        prompts[key] = row["prompt"]
        labels[(key, row["chosen"])] = True
        labels[(key, row["rejected"])] = False
    for row in store.rows("ratings"):  # oldest first: the latest rating wins, and beats a comparison
        key = _json(row["prompt"])
        prompts[key] = row["prompt"]
        labels[(key, row["answer"])] = row["rating"] == 1
    for (key, answer), label in labels.items():
        if label:
            report.desirable += 1
        else:
            report.undesirable += 1
        yield {
            "prompt": prompts[key],
            "completion": [{"role": "assistant", "content": answer}],
            "label": label,
        }


def export_unpaired(db: str | Path, out: str | Path) -> UnpairedReport:
    """Write the KTO examples of feedback database ``db`` to JSONL file ``out`` (atomically)."""
    db = Path(db)
    if not db.exists():
        raise FeedbackError(f"no feedback database at {db}")
    report = UnpairedReport()
    write_jsonl_atomic(out, unpaired_examples(FeedbackStore(db), report))
    return report


def export_preferences(db: str | Path, out: str | Path) -> ExportReport:
    """Write the preference pairs of feedback database ``db`` to JSONL file ``out`` (atomically)."""
    db = Path(db)
    if not db.exists():
        raise FeedbackError(f"no feedback database at {db}")
    store = FeedbackStore(db)
    report = ExportReport()
    write_jsonl_atomic(out, preference_pairs(store, report))  # readers never see a half-written file
    return report


def main(argv: list[str] | None = None) -> None:
    """``python -m training export-feedback --db FILE --out prefs.jsonl`` (exits with a message on errors)."""
    from model import artifacts_dir

    parser = argparse.ArgumentParser(
        prog="python -m training export-feedback",
        description="Export the chat app's feedback (SQLite) as TRL conversational preference pairs (JSONL).",
    )
    parser.add_argument(
        "--db", default=str(artifacts_dir() / "feedback.sqlite"), help="feedback database (app --feedback-db)"
    )
    parser.add_argument("--out", required=True, help="output JSONL for `training rm` / `dpo` / `kto`")
    parser.add_argument(
        "--format",
        choices=("pairs", "kto"),
        default="pairs",
        help="pairs: preference pairs (rm, dpo); kto: each rated answer as a desirable/undesirable example",
    )
    args = parser.parse_args(argv)
    try:
        report = (export_unpaired if args.format == "kto" else export_preferences)(args.db, args.out)
    except FeedbackError as err:
        raise SystemExit(f"error: {err}") from None
    print(f"wrote {args.out}: {report}")
    if args.format == "kto":
        if not (report.desirable and report.undesirable):
            print("warning: KTO needs both thumbs-up and thumbs-down answers", file=sys.stderr)
    elif report.pairs == 0:
        print(
            "warning: no preference pairs yet (compare answers, or rate answers up and down)", file=sys.stderr
        )


if __name__ == "__main__":
    main()
