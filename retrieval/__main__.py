"""Command line for the retrieval index.

    python -m retrieval build --docs data/samples/kb --out artifacts/indexes/kb [--embedding BAAI/bge-small-zh-v1.5]
                              [--chunk-size 400 --chunk-overlap 60 --index-type flat|hnsw|ivf] [--overwrite]
    python -m retrieval query --index artifacts/indexes/kb [--k 5] [--mode hybrid|dense|bm25] [--reranker MODEL] "高血压患者饮食要注意什么？"
    python -m retrieval add   --index artifacts/indexes/kb --docs new_guideline.pdf more/
    python -m retrieval info  --index artifacts/indexes/kb

``query`` prints a JSON list of {rank, score, source, text, chunk_id}. Errors (bad file, corrupt
index, wrong embedder, an --out folder holding files that are not an index) print one line naming
the problem and exit with status 2. ``--embedding`` takes a sentence-transformers hub id or a local
model folder (e.g. all-MiniLM-L6-v2 unpacked by model/assets.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from retrieval import ingest

OVERWRITE_HELP = "replace the output folder even if it holds files that are not an index (they are deleted)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m retrieval",
        description="Build, query and extend a hybrid (FAISS + BM25) document index.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    fmt = {"formatter_class": argparse.ArgumentDefaultsHelpFormatter}

    b = sub.add_parser("build", help="index documents from scratch", **fmt)
    b.add_argument("--docs", nargs="+", required=True, help="files or folders (.txt .md .pdf .jsonl .csv)")
    b.add_argument(
        "--out",
        required=True,
        help="index folder to write; an existing index is replaced atomically, a folder holding other files is refused",
    )
    b.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    b.add_argument(
        "--embedding",
        default="hash-ngram",
        help="'hash-ngram' (offline default) or a sentence-transformers id/path, e.g. BAAI/bge-small-zh-v1.5",
    )
    b.add_argument(
        "--chunk-size", type=int, default=ingest.DEFAULT_CHUNK_SIZE, help="chunk size in characters"
    )
    b.add_argument(
        "--chunk-overlap",
        type=int,
        default=ingest.DEFAULT_CHUNK_OVERLAP,
        help="overlap between chunks in characters",
    )
    b.add_argument(
        "--index-type",
        choices=("flat", "hnsw", "ivf"),
        default="flat",
        help="flat: exact; hnsw/ivf: approximate, for 100k+ chunks",
    )
    b.add_argument(
        "--device",
        default=None,
        help="device for a neural embedder (cpu, cuda, ...); None picks automatically",
    )

    q = sub.add_parser("query", help="search an index; prints JSON", **fmt)
    q.add_argument("--index", required=True, help="index folder")
    q.add_argument("--k", type=int, default=5, help="number of results")
    q.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    q.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="candidates per method before fusion/reranking (default max(50, 5k))",
    )
    q.add_argument(
        "--reranker", default=None, help="cross-encoder id/path to rerank with, e.g. BAAI/bge-reranker-base"
    )
    q.add_argument(
        "--embedding", default=None, help="expected embedder; an index built with another one is an error"
    )
    q.add_argument(
        "--device", default=None, help="device for a neural embedder/reranker; None picks automatically"
    )
    q.add_argument("question", help="the question to search for")

    a = sub.add_parser("add", help="add documents to an existing index without rebuilding it", **fmt)
    a.add_argument("--index", required=True, help="index folder to extend")
    a.add_argument("--docs", nargs="+", required=True, help="files or folders")
    a.add_argument("--out", default=None, help="write the result here instead of updating --index in place")
    a.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    a.add_argument("--device", default=None, help="device for a neural embedder; None picks automatically")

    i = sub.add_parser("info", help="print an index's manifest (without the IDF table)", **fmt)
    i.add_argument("--index", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from retrieval.embed import EmbedderError
    from retrieval.index import HybridIndex, RetrievalIndexError, check_destination, read_manifest

    try:
        if args.command in ("build", "add"):  # before any work: refuse a folder of other files now
            check_destination(Path(args.out or args.index), args.overwrite)
        if args.command == "build":
            index = HybridIndex.build(
                args.docs,
                embedding=args.embedding,
                device=args.device,
                progress=True,
                chunk_size=args.chunk_size,
                chunk_overlap=args.chunk_overlap,
                index_type=args.index_type,
            )
            index.save(args.out, overwrite=args.overwrite)
            print(
                f"built {args.out}: {len(index)} chunks, embedder {index.embedder.name} ({index.embedder.dimension}-d), {index.index_type} index",
                file=sys.stderr,
            )
        elif args.command == "query":
            from retrieval.search import Reranker

            index = HybridIndex.load(args.index, embedding=args.embedding, device=args.device)
            reranker = Reranker(args.reranker, device=args.device) if args.reranker else None
            hits = index.search(
                args.question, k=args.k, mode=args.mode, candidates=args.candidates, reranker=reranker
            )
            rows = [
                {
                    "rank": h.rank,
                    "score": round(h.score, 6),
                    "source": h.source,
                    "text": h.text,
                    "chunk_id": h.chunk_id,
                }
                for h in hits
            ]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        elif args.command == "add":
            index = HybridIndex.load(args.index, device=args.device)
            report = index.add_files(args.docs, progress=True)
            index.save(args.out or args.index, overwrite=args.overwrite)
            print(f"{args.out or args.index}: {report}; {len(index)} chunks in total", file=sys.stderr)
        else:
            manifest = read_manifest(Path(args.index))
            if manifest["embedder"].get("idf_f32_base64"):
                manifest["embedder"]["idf_f32_base64"] = "<omitted>"
            print(json.dumps(manifest, ensure_ascii=False, indent=2))
    except (ingest.IngestError, RetrievalIndexError, EmbedderError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
