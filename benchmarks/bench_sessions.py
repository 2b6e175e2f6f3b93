"""Memory of per-session document indexes: process RSS while N chat sessions each upload a document
into their own copy of the sample index, then after they close (round 1: ``close``) or idle out
(round 2: expiry on an injected clock), through ``retrieval.sessions.SessionIndexes`` directly.

The upload is a text file of real English medical answers (../shared/data/alpacare, GPT-4's iCliniq
answers), ``--upload-kb`` KB per session, read and checked like an app upload (``check_upload``).
RSS is read from /proc (Linux). After closing, RSS is shown before and after glibc's
``malloc_trim(0)`` (freed memory the allocator keeps for reuse vs returned to the system); a second
round reusing the freed memory shows whether anything accumulates.

    python benchmarks/bench_sessions.py                      # 8 sessions x 500 KB
    python benchmarks/bench_sessions.py --sessions 16 --upload-kb 1000
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval import default_index_dir  # noqa: E402
from retrieval.index import HybridIndex  # noqa: E402
from retrieval.ingest import check_upload  # noqa: E402
from retrieval.sessions import SessionIndexes  # noqa: E402

SHARED = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))
ANSWERS = SHARED / "alpacare" / "iCliniq_gpt-4.jsonl"


def rss_mb() -> float:
    """Resident set size of this process in MiB (from /proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def trim() -> None:
    """Return freed heap memory to the system (glibc); a no-op elsewhere."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def upload_file(folder: Path, kb: int, offset: int) -> Path:
    """A ``kb``-KB .txt of real answers, starting at answer ``offset`` (each session's text differs)."""
    answers = [json.loads(line)["output"] for line in ANSWERS.read_text(encoding="utf-8").splitlines()]
    text, i = [], offset
    while sum(map(len, text)) < kb * 1000:
        text.append(answers[i % len(answers)])
        i += 1
    path = folder / f"upload-{offset}.txt"
    path.write_text("\n\n".join(text), encoding="utf-8")
    return path


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def one_round(sessions: SessionIndexes, files: list[Path], clock: Clock, how: str, label: str) -> list[dict]:
    rows = []
    for i, path in enumerate(files):
        report = sessions.add_documents(f"{label}-{i}", check_upload(path))
        stats = sessions.stats()
        rows.append(
            {
                "round": label,
                "step": f"{i + 1} open",
                "rss_mb": rss_mb(),
                "estimate_mb": stats["bytes"] / 2**20,
                "chunks": stats["chunks"],
                "added": report.added,
            }
        )
        print(rows[-1], file=sys.stderr)
    if how == "close":
        for i in range(len(files)):
            sessions.close(f"{label}-{i}")
    else:
        clock.now += sessions.idle_seconds + 1
        sessions.expire()
    gc.collect()
    rows.append({"round": label, "step": f"all {how}d", "rss_mb": rss_mb(), **_est(sessions)})
    trim()
    rows.append({"round": label, "step": f"all {how}d + malloc_trim", "rss_mb": rss_mb(), **_est(sessions)})
    return rows


def _est(sessions: SessionIndexes) -> dict:
    stats = sessions.stats()
    return {"estimate_mb": stats["bytes"] / 2**20, "chunks": stats["chunks"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=8, help="sessions per round")
    p.add_argument("--upload-kb", type=int, default=500, help="size of each session's upload")
    args = p.parse_args(argv)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, date {time.strftime('%Y-%m-%d')}")
    print("command: python benchmarks/bench_sessions.py " + " ".join(sys.argv[1:] if argv is None else argv))

    base = HybridIndex.load(default_index_dir(progress=False))
    clock = Clock()
    sessions = SessionIndexes(base, max_chunks=10**6, max_bytes=2**40, max_total_bytes=2**40, clock=clock)
    with tempfile.TemporaryDirectory() as tmp:
        files = [upload_file(Path(tmp), args.upload_kb, 37 * i) for i in range(args.sessions)]
        sessions.add_documents("warm-up", check_upload(files[0]))  # jieba's dictionary, allocator pools
        sessions.close("warm-up")
        gc.collect()
        trim()
        rows = [
            {
                "round": "-",
                "step": f"base index loaded ({len(base)} chunks)",
                "rss_mb": rss_mb(),
                **_est(sessions),
            }
        ]
        rows += one_round(sessions, files, clock, "close", "1")
        rows += one_round(sessions, files, clock, "expire", "2")
    print("\n| round | step | RSS MiB | manager's estimate MiB | chunks held |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['round']} | {r['step']} | {r['rss_mb']:.0f} | {r['estimate_mb']:.1f} | {r['chunks']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
