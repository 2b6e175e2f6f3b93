"""Counts over a tasks or SFT file and its run log: by topic, viewpoint, type and difficulty, and
dropped items by reason. Printed as a table and saved as JSON.

    python -m datagen stats tasks.jsonl [--json tasks.stats.json]
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from datagen.records import log_path, parse_difficulty, read_json_records

_GROUPS = (("topic", "by_topic"), ("view", "by_view"), ("type", "by_type"), ("difficulty", "by_difficulty"))


def _label(value) -> str:
    return " ".join(str(value).split()) or "(none)"


def compute(records: list[dict], events: list[dict]) -> dict:
    """Stats of ``records`` (tasks or SFT records) and the run log ``events``."""
    stats: dict = {"records": len(records)}
    for key, name in _GROUPS:
        if key == "difficulty":
            counts = Counter(str(parse_difficulty(r.get(key)) or "(none)") for r in records)
        else:
            counts = Counter(_label(r.get(key, "")) for r in records)
        stats[name] = dict(counts.most_common())
    requests = [e for e in events if e.get("event") == "request"]
    stats["requests"] = len(requests)
    stats["failed_requests"] = sum(1 for e in events if e.get("event") == "request_failed")
    stats["items_seen"] = sum(e.get("items", 0) for e in requests)
    stats["dropped"] = dict(Counter(e["reason"] for e in events if e.get("event") == "dropped").most_common())
    return stats


def load(path: str | Path) -> dict:
    """Stats of an output file (and of its ``.log.jsonl`` when present)."""
    records = [item for _, item in read_json_records(path) if isinstance(item, dict)]
    log = log_path(path)
    events = [item for _, item in read_json_records(log)] if log.exists() else []
    stats = {"file": str(path), **compute(records, events)}
    return stats


def table(stats: dict, top: int = 12) -> str:
    """A plain-text report: each grouping's most common values, then dropped items by reason."""
    lines = [f"{stats.get('file', '')}: {stats['records']} records"]
    if stats.get("requests"):
        lines.append(
            f"requests: {stats['requests']} ({stats['failed_requests']} failed), "
            f"items in replies: {stats['items_seen']}"
        )
    for _, name in (*_GROUPS, (None, "dropped")):
        counts = stats.get(name) or {}
        if not counts:
            continue
        total = sum(counts.values())
        lines.append(f"\n{name.replace('_', ' ')} ({len(counts)} distinct, {total} total)")
        width = min(max(len(k) for k in counts), 40)
        for key, n in list(counts.items())[:top]:
            lines.append(f"  {key[:40]:<{width}}  {n:>7}  {100 * n / total:5.1f}%")
        if len(counts) > top:
            lines.append(f"  ... {len(counts) - top} more")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m datagen stats",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="a tasks.jsonl or sft.jsonl written by datagen (or any seed file)")
    parser.add_argument("--json", default=None, help="also write the stats to this JSON file")
    args = parser.parse_args(argv)
    stats = load(args.file)
    print(table(stats))
    if args.json:
        Path(args.json).write_text(json.dumps(stats, ensure_ascii=False, indent=2), encoding="utf-8")
