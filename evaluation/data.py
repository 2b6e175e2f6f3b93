"""Readers shared by the evaluation tasks: JSON / JSONL records with their line numbers, so every
error in a data file names the file and the line (``DataError``), and a language guess per text."""

from __future__ import annotations

import json
import re
from pathlib import Path

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


class DataError(ValueError):
    """A data file that cannot be used; the message starts with ``FILE:LINE:`` where a line applies."""


def where(path: str | Path, line: int | None = None) -> str:
    """``FILE:LINE`` (or ``FILE``) for error messages."""
    return f"{path}:{line}" if line else str(path)


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _array_elements(text: str) -> list[tuple[int, object]]:
    """Elements of a (valid) top-level JSON array with the line each one starts on."""
    decoder = json.JSONDecoder()
    i = _skip_space(text, 0) + 1  # past "["
    out: list[tuple[int, object]] = []
    line, counted_to = 1, 0
    while True:
        i = _skip_space(text, i)
        if i >= len(text) or text[i] == "]":
            return out
        line += text.count("\n", counted_to, i)
        counted_to = i
        value, i = decoder.raw_decode(text, i)
        out.append((line, value))
        i = _skip_space(text, i)
        if i < len(text) and text[i] == ",":
            i += 1


def read_records(path: str | Path) -> list[tuple[int, dict]]:
    """Read ``path`` as JSONL (one object per line) or JSON (an array of objects).

    Returns ``(line, record)`` pairs, the line being where the record starts (1-based). Raises
    ``DataError`` naming the file and line for a missing file, invalid JSON or a non-object record."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    records: list[tuple[int, object]] = []
    if path.suffix == ".json" or text.lstrip().startswith("["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"{where(path, err.lineno)}: invalid JSON: {err.msg}") from None
        if not isinstance(doc, list):
            raise DataError(f"{path}: expected a JSON array of records (or JSONL, one object per line)")
        records = _array_elements(text)
    else:
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                records.append((lineno, json.loads(raw)))
            except json.JSONDecodeError as err:
                raise DataError(f"{where(path, lineno)}: invalid JSON: {err.msg}") from None
    for lineno, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{where(path, lineno)}: expected a JSON object, got {type(record).__name__}")
    if not records:
        raise DataError(f"{path}: no records")
    return records  # type: ignore[return-value]


def require(record: dict, key: str, path, line: int, kind: type | tuple = str):
    """``record[key]``, checked to exist, be of ``kind`` and (for strings) be non-empty."""
    if key not in record:
        raise DataError(f"{where(path, line)}: missing field {key!r}")
    value = record[key]
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(f"{where(path, line)}: field {key!r} must be a non-empty {expected}, got {value!r}")
    return value


def files_in(path: str | Path, suffixes: tuple[str, ...]) -> list[Path]:
    """``path`` itself, or the files with one of ``suffixes`` inside the folder ``path`` (sorted)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in suffixes)
        if not found:
            raise DataError(f"{path}: no {'/'.join(suffixes)} files in this folder")
        return found
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    return [path]


def detect_language(text: str) -> str:
    """ "zh" when the text contains Chinese characters, else "en"."""
    return "zh" if _CJK.search(text) else "en"
