"""Retrieval benchmark: quality (recall@1, recall@5, MRR@10) of dense, BM25 and hybrid search on the
shared real medical Q&A, query latency (p50/p95) at 1k/10k/100k chunks for flat, HNSW and IVF FAISS
indexes, and build throughput (chunks/s).

Quality: each data set's distinct answers are indexed (default chunking), each question is a query,
and a question counts as found at rank r when a chunk of its own answer is the r-th distinct answer
retrieved. Data: ../shared/data/medicalgpt/medical_corpus.txt (87 问/答 records) and
medical_sft_1K_format.jsonl (1,000 patient questions with doctors' answers).

Latency/throughput: chunks are synthesised by recombining 2-4 random sentences of the real answers
(seeded), queries are the real questions. Latency is one query at a time, end to end through
``HybridIndex.search`` (query embedding, FAISS, BM25, fusion, chunk lookup), on the CPU threads
this machine has.

    python benchmarks/bench_retrieval.py                         # everything (about 15 min on 2 cores)
    python benchmarks/bench_retrieval.py --skip-latency --sweep  # quality + RRF parameter sweep
    python benchmarks/bench_retrieval.py --skip-quality --sizes 1000 10000
    python benchmarks/bench_retrieval.py --embedding BAAI/bge-small-zh-v1.5 --skip-latency  # a neural embedder
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval import search as search_mod  # noqa: E402
from retrieval.index import HybridIndex  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "medicalgpt"


def load_qa(name: str) -> tuple[list[str], list[str]]:
    """(questions, answers) of a shared data set."""
    questions, answers = [], []
    with (DATA / name).open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "conversations" in record:
                turns = record["conversations"]
                questions.append(turns[0]["value"])
                answers.append(turns[1]["value"])
            else:
                questions.append(record["问"])
                answers.append(record["答"])
    return questions, answers


def answer_index(answers: list[str], embedding: str) -> tuple[HybridIndex, list[int], float]:
    """Index the distinct answers; returns the index, each question's answer id, build seconds."""
    ids: dict[str, int] = {}
    target = [ids.setdefault(a, len(ids)) for a in answers]
    docs = [Document(page_content=a, metadata={"source": str(i), "file": str(i)}) for a, i in ids.items()]
    index = HybridIndex(embedding)
    start = time.perf_counter()
    index.add_documents(docs)
    return index, target, time.perf_counter() - start


def metrics(ranked_docs: list[list[str]], target: list[int]) -> dict:
    """recall@1, recall@5, MRR@10 over best-first lists of distinct answer ids."""
    r1 = r5 = mrr = 0.0
    for docs, t in zip(ranked_docs, target, strict=True):
        docs = docs[:10]
        if str(t) in docs:
            rank = docs.index(str(t)) + 1
            r1 += rank == 1
            r5 += rank <= 5
            mrr += 1 / rank
    n = len(target)
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr@10": mrr / n}


def distinct(sources: list[str]) -> list[str]:
    return list(dict.fromkeys(sources))


def quality(embedding: str, sweep: bool) -> list[dict]:
    rows = []
    for name in ("medical_corpus.txt", "medical_sft_1K_format.jsonl"):
        questions, answers = load_qa(name)
        index, target, seconds = answer_index(answers, embedding)
        print(
            f"{name}: {len(set(answers))} answers -> {len(index)} chunks in {seconds:.1f}s", file=sys.stderr
        )
        n = 50  # candidates per method, the default for k <= 10
        per_mode = {}
        for mode in ("dense", "bm25", "hybrid"):
            hits = [index.search(q, k=n, mode=mode, candidates=n) for q in questions]
            per_mode[mode] = hits
            m = metrics([distinct([h.source for h in hs]) for hs in hits], target)
            rows.append({"data": name, "queries": len(questions), "chunks": len(index), "mode": mode, **m})
        if sweep:
            # Re-fuse the stored dense/BM25 candidate lists with other RRF constants and weights.
            row_of = index.row_of
            dense = [[row_of[h.chunk_id] for h in hs] for hs in per_mode["dense"]]
            lexical = [[row_of[h.chunk_id] for h in hs] for hs in per_mode["bm25"]]
            for k in (5, 10, 20, 60):
                for w in (0.3, 0.5, 0.7, 1.0):
                    fused = [
                        search_mod.rrf([d, b], [w, 1.0], k=k) for d, b in zip(dense, lexical, strict=True)
                    ]
                    ranked = [distinct([index.records[r]["source"] for r, _ in f]) for f in fused]
                    rows.append(
                        {"data": name, "mode": f"sweep rrf_k={k} dense_w={w}", **metrics(ranked, target)}
                    )
    return rows


def synthetic_chunks(n: int, seed: int = 0) -> list[Document]:
    """``n`` distinct chunks made by recombining 2-4 random sentences of the real answers."""
    sentences = []
    for name in ("medical_corpus.txt", "medical_sft_1K_format.jsonl"):
        for answer in load_qa(name)[1]:
            sentences += [s for s in re.split(r"(?<=[。！？!?])", answer) if len(s) >= 8]
    rng = random.Random(seed)
    texts: dict[str, None] = {}
    while len(texts) < n:
        texts["".join(rng.sample(sentences, rng.randint(2, 4)))[:400]] = None
    return [
        Document(page_content=t, metadata={"source": f"synthetic {i}", "file": "synthetic"})
        for i, t in enumerate(texts)
    ]


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.array(seconds) * 1000, q))


def latency(sizes: list[int], n_queries: int, index_types: list[str], rank_bm25_queries: int) -> list[dict]:
    questions = load_qa("medical_sft_1K_format.jsonl")[0][:n_queries]
    rows = []
    for size in sizes:
        chunks = synthetic_chunks(size)
        exact = None  # flat (exact) dense top-10 per query, to measure the recall of HNSW/IVF
        for index_type in index_types:
            index = HybridIndex(index_type=index_type)
            start = time.perf_counter()
            index.add_chunks(chunks, progress=True)
            build = time.perf_counter() - start
            # BM25 does not depend on the FAISS index type: time it once per size.
            for mode in ("hybrid", "dense", "bm25") if index_type == index_types[0] else ("hybrid", "dense"):
                index.search(questions[0], k=5, mode=mode)  # warm-up (jieba dictionary, caches)
                times = []
                for q in questions:
                    t0 = time.perf_counter()
                    index.search(q, k=5, mode=mode)
                    times.append(time.perf_counter() - t0)
                ann_recall = None
                if mode == "dense":
                    top10 = [[h.chunk_id for h in index.search(q, k=10, mode="dense")] for q in questions]
                    if index_type == "flat":
                        exact = top10
                    elif exact is not None:
                        pairs = zip(top10, exact, strict=True)
                        ann_recall = float(np.mean([len(set(a) & set(e)) / len(e) for a, e in pairs]))
                rows.append(
                    {
                        "chunks": size,
                        "index": index_type if mode != "bm25" else "-",
                        "mode": mode,
                        "recall@10_vs_flat": ann_recall,
                        "p50_ms": percentile_ms(times, 50),
                        "p95_ms": percentile_ms(times, 95),
                        "build_s": build,
                        "build_chunks_per_s": size / build,
                    }
                )
                print(rows[-1], file=sys.stderr)
            del index
        if rank_bm25_queries:
            rows.append(rank_bm25_latency(chunks, questions[:rank_bm25_queries]))
            print(rows[-1], file=sys.stderr)
    return rows


def rank_bm25_latency(chunks: list[Document], questions: list[str]) -> dict:
    """rank-bm25's own ``get_scores`` on the same chunks, for comparison with the sparse BM25."""
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([search_mod.tokenize(c.page_content) for c in chunks])
    times = []
    for q in questions:
        tokens = search_mod.tokenize(q)
        t0 = time.perf_counter()
        bm25.get_scores(tokens)
        times.append(time.perf_counter() - t0)
    return {
        "chunks": len(chunks),
        "index": "-",
        "mode": "rank-bm25 get_scores",
        "p50_ms": percentile_ms(times, 50),
        "p95_ms": percentile_ms(times, 95),
    }


def markdown(rows: list[dict], columns: list[str]) -> str:
    def fmt(v):
        if v is None:
            return ""
        return (
            f"{v:.3f}"
            if isinstance(v, float) and v < 10
            else (f"{v:.1f}" if isinstance(v, float) else str(v))
        )

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--embedding", default="hash-ngram", help="embedder for the quality section")
    p.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 10000, 100000], help="chunk counts for latency"
    )
    p.add_argument(
        "--index-types", nargs="+", default=["flat", "hnsw", "ivf"], choices=["flat", "hnsw", "ivf"]
    )
    p.add_argument("--queries", type=int, default=200, help="queries per latency measurement")
    p.add_argument("--rank-bm25-queries", type=int, default=10, help="queries timed with rank-bm25 (0: skip)")
    p.add_argument("--sweep", action="store_true", help="also sweep the RRF constant and dense weight")
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write all rows to this JSON file")
    args = p.parse_args(argv)

    import faiss

    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"faiss threads {faiss.omp_get_max_threads()}, date {time.strftime('%Y-%m-%d')}"
    )
    print("command: python benchmarks/bench_retrieval.py " + " ".join(sys.argv[1:] if argv is None else argv))
    out = {}
    if not args.skip_quality:
        out["quality"] = quality(args.embedding, args.sweep)
        print(f"\nQuality ({args.embedding}):\n")
        print(markdown(out["quality"], ["data", "mode", "recall@1", "recall@5", "mrr@10"]))
    if not args.skip_latency:
        out["latency"] = latency(args.sizes, args.queries, args.index_types, args.rank_bm25_queries)
        print("\nLatency and build throughput:\n")
        print(
            markdown(
                out["latency"],
                [
                    "chunks",
                    "index",
                    "mode",
                    "p50_ms",
                    "p95_ms",
                    "recall@10_vs_flat",
                    "build_s",
                    "build_chunks_per_s",
                ],
            )
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
