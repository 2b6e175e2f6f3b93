"""medchat retrieval: ground answers on documents with a FAISS + BM25 hybrid index.

ingest.py (txt, md, pdf, jsonl, csv -> chunks; upload checks), embed.py (offline hashed n-gram
embedder, sentence-transformers), search.py (BM25 on jieba tokens, rank fusion, reranker),
index.py (``HybridIndex``: build, search, add, save/load without pickle), ground.py (grounded
prompt with numbered sources), sessions.py (bounded per-session upload indexes, freed on close or
idle). Command line: ``python -m retrieval --help``; docs/retrieval.md.
"""

from pathlib import Path

from model import REPO_ROOT, artifacts_dir

SAMPLE_KB = REPO_ROOT / "data" / "samples" / "kb"


def default_index_dir(progress: bool = True) -> Path:
    """Folder of the sample knowledge-base index (``<MEDCHAT_HOME>/indexes/sample-kb``).

    Built from ``data/samples/kb/`` with the offline default embedder on first use, and rebuilt
    when the sample files change (the manifest keeps a fingerprint of them)."""
    import json

    from retrieval.index import MANIFEST, HybridIndex, fingerprint_files

    out = artifacts_dir() / "indexes" / "sample-kb"
    fingerprint = fingerprint_files([SAMPLE_KB])

    def built() -> str | None:
        try:
            return json.loads((out / MANIFEST).read_text(encoding="utf-8"))["inputs"]["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    if built() != fingerprint:
        try:
            HybridIndex.build([SAMPLE_KB], progress=progress).save(out)
        except OSError:
            # Another process (a second app, a test) may have swapped in the same index first.
            if built() != fingerprint:
                raise
    return out
