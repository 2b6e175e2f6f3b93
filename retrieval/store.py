"""The on-disk format of an index folder, checked before use: names, the manifest's and docstore's
structure and types, and where an index may be written.

A manifest or docstore that a person edited, or that was damaged in a way its hashes still match,
must fail with a ``CorruptIndexError`` that names the file and the entry ("manifest.json: counts
lacks the 'chunks' entry"), never a KeyError or TypeError deep inside ``HybridIndex.load``.

Library module, used by retrieval/index.py.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from retrieval.embed import HASH_EMBEDDER

FORMAT = "medchat-retrieval-index"
FORMAT_VERSION = 1
MANIFEST, FAISS_FILE, DOCSTORE = "manifest.json", "index.faiss", "docstore.jsonl"
INDEX_TYPES = ("flat", "hnsw", "ivf")


class RetrievalIndexError(Exception):
    """Base class for index loading/saving problems."""


class CorruptIndexError(RetrievalIndexError):
    """The index folder is missing files, or a file is truncated, garbled or does not match the manifest."""


class EmbedderMismatchError(RetrievalIndexError):
    """The index was built with another embedder than the one asked for."""


def check_destination(directory: Path, overwrite: bool = False) -> None:
    """``RetrievalIndexError`` unless ``directory`` is absent, empty, or an index folder of ours
    (a manifest, and nothing but our three files): ``save`` must not delete files it did not write.
    ``overwrite`` allows any folder (never a file)."""
    if directory.exists() and not directory.is_dir():
        raise RetrievalIndexError(f"refusing to write the index to {directory}: it is a file, not a folder")
    if overwrite:
        return
    names = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    others = [name for name in names if name not in (MANIFEST, FAISS_FILE, DOCSTORE)]
    if others or (names and MANIFEST not in names):
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise RetrievalIndexError(
            f"refusing to overwrite {directory}: it exists and is not an index folder "
            f"(it holds {shown or 'no ' + MANIFEST}); choose another folder, or pass --overwrite "
            "(overwrite=True) to replace it and everything in it"
        )


def read_manifest(directory: Path) -> dict:
    """The checked manifest of an index folder (``CorruptIndexError`` naming the file and the bad
    entry if it is missing, malformed, or an entry has the wrong shape or type)."""
    path = directory / MANIFEST
    if not path.is_file():
        raise CorruptIndexError(f"{directory} is not an index folder: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptIndexError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptIndexError(f"{path} is not a medchat retrieval manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CorruptIndexError(
            f"{path}: format version {manifest.get('format_version')} is not supported (this code reads {FORMAT_VERSION}); rebuild the index"
        )
    _check_manifest(path, manifest)
    return manifest


_KIND_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


def _field(path: Path, manifest: dict, keys: tuple[str, ...], kind: type):
    """``manifest[keys[0]][keys[1]]...``, which must exist and be of ``kind`` (bool is no int)."""
    value = manifest
    for depth, key in enumerate(keys):
        if depth and not isinstance(value, dict):
            _wrong_type(path, keys[:depth], dict, value)
        if key not in value:
            where = " -> ".join(keys[:depth]) or "the manifest"
            raise CorruptIndexError(f"{path}: {where} lacks the {key!r} entry; rebuild the index")
        value = value[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        _wrong_type(path, keys, kind, value)
    return value


def _wrong_type(path: Path, keys: tuple[str, ...], kind: type, value) -> None:
    raise CorruptIndexError(
        f"{path}: {' -> '.join(keys)} must be {_KIND_NAMES[kind]}, not {type(value).__name__} "
        f"{json.dumps(value, ensure_ascii=False)[:60]}; rebuild the index"
    )


def _check_manifest(path: Path, manifest: dict) -> None:
    """Shape and types of every manifest entry ``load`` reads, so a hand-edited or damaged manifest
    is a ``CorruptIndexError`` naming the entry instead of a KeyError/TypeError later."""
    for name in (FAISS_FILE, DOCSTORE):
        _field(path, manifest, ("files", name, "sha256"), str)
        _field(path, manifest, ("files", name, "bytes"), int)
    _field(path, manifest, ("counts", "chunks"), int)
    _field(path, manifest, ("chunking", "chunk_size"), int)
    _field(path, manifest, ("chunking", "chunk_overlap"), int)
    if _field(path, manifest, ("embedder", "dimension"), int) < 1:
        raise CorruptIndexError(f"{path}: embedder -> dimension must be positive")
    if _field(path, manifest, ("embedder", "name"), str) == HASH_EMBEDDER:
        _check_hash_spec(path, manifest)
    kind = _field(path, manifest, ("index", "type"), str)
    if kind not in INDEX_TYPES:
        raise CorruptIndexError(f"{path}: index -> type {kind!r} is not one of {', '.join(INDEX_TYPES)}")
    if kind != "flat":
        _field(path, manifest, ("index", "params", "efSearch" if kind == "hnsw" else "nprobe"), int)
    if "inputs" in manifest:
        _field(path, manifest, ("inputs", "paths"), list)


def _check_hash_spec(path: Path, manifest: dict) -> None:
    """The ``hash-ngram`` parameters: version, n-gram weights, and an IDF of ``dimension`` floats."""
    _field(path, manifest, ("embedder", "version"), int)
    weights = _field(path, manifest, ("embedder", "ngram_weights"), list)
    if not weights or not all(isinstance(w, int | float) and not isinstance(w, bool) for w in weights):
        raise CorruptIndexError(f"{path}: embedder -> ngram_weights must be a non-empty list of numbers")
    idf = manifest["embedder"].get("idf_f32_base64")
    if idf is None:
        return
    dimension = manifest["embedder"]["dimension"]
    try:
        size = len(
            base64.b64decode(_field(path, manifest, ("embedder", "idf_f32_base64"), str), validate=True)
        )
    except binascii.Error as e:
        raise CorruptIndexError(f"{path}: embedder -> idf_f32_base64 is not valid base64 ({e})") from None
    if size != 4 * dimension:
        raise CorruptIndexError(
            f"{path}: embedder -> idf_f32_base64 holds {size} bytes, expected {4 * dimension} "
            f"({dimension} float32 values)"
        )


_RECORD_FIELDS = {"id": str, "text": str, "source": str, "meta": dict, "tokens": list}


def read_docstore(path: Path) -> list[dict]:
    """Chunk records, each checked: the fields of ``_RECORD_FIELDS`` with their types, tokens all strings."""
    records = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError(f"a JSON {type(rec).__name__}, not an object")
                for key, kind in _RECORD_FIELDS.items():
                    if key not in rec:
                        raise ValueError(f"no {key!r} field")
                    if not isinstance(rec[key], kind):
                        raise ValueError(
                            f"{key!r} must be {_KIND_NAMES[kind]}, not {type(rec[key]).__name__}"
                        )
                if not all(type(tok) is str for tok in rec["tokens"]):
                    raise ValueError("'tokens' must hold only strings")
            except ValueError as e:
                raise CorruptIndexError(f"{path}, line {line_no}: not a chunk record ({e})") from None
            records.append(rec)
    return records
