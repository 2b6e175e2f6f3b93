"""Reader for the labelled safety sets (data/samples/safety/*.jsonl), used by the tests and
benchmarks/bench_safety.py. Not runnable.
"""

from __future__ import annotations

import json

from safety.texts import EMERGENCY_CATEGORIES, HARM_CATEGORIES

LABELS = ("emergency", "ordinary", "harmful")


def read_labelled(path) -> list[dict]:
    """Read a labelled safety set (JSONL: ``text``, ``label`` emergency|ordinary|harmful, ``category``,
    ``lang`` zh|en, optional ``refuse``: true where a refusal is expected).

    Raises ``ValueError`` naming the file and line of the first bad record."""
    known = set(EMERGENCY_CATEGORIES) | set(HARM_CATEGORIES) | {"general"}
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
                raise ValueError(f"{where}: needs a non-empty 'text' string")
            if row.get("label") not in LABELS:
                raise ValueError(f"{where}: 'label' must be one of {LABELS}, got {row.get('label')!r}")
            if row.get("lang") not in ("zh", "en"):
                raise ValueError(f"{where}: 'lang' must be 'zh' or 'en', got {row.get('lang')!r}")
            if row.get("category") not in known:
                raise ValueError(f"{where}: unknown 'category' {row.get('category')!r}")
            if not isinstance(row.get("refuse", False), bool):
                raise ValueError(f"{where}: 'refuse' must be true or false")
            rows.append(row)
    return rows
