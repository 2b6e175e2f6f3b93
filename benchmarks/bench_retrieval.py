"""Retrieval benchmark: quality (recall@1, recall@5, MRR@10) of dense, BM25 and hybrid search on the
shared real medical Q&A, query latency (p50/p95) at 1k/10k/100k chunks for flat, HNSW and IVF FAISS
indexes, and build throughput (chunks/s).

Quality: each data set's distinct answers are indexed (default chunking), each question is a query,
and a question counts as found at rank r when a chunk of its own answer is the r-th distinct answer
retrieved. ``--data medicalgpt`` (default): ../shared/data/medicalgpt/medical_corpus.txt (87 问/答
records) and medical_sft_1K_format.jsonl (1,000 Chinese patient questions with doctors' answers).
``--data alpacare``: ../shared/data/alpacare/iCliniq_gpt-4.jsonl (1,000 English iCliniq patient
questions, GPT-4's answers as the documents). ``--embedding`` takes several embedders (one index
each; BM25 is reported once): ``hash-ngram``, ``minilm`` (the local all-MiniLM-L6-v2 folder from
model/assets.py) or any sentence-transformers id/folder. ``--heldout`` reports the first half of the
questions and lets ``--sweep`` (the RRF constant x dense-weight grid) tune on the second half only.

Latency/throughput: chunks are synthesised by recombining 2-4 random sentences of the real answers
(seeded), queries are the real questions. Latency is one query at a time, end to end through
``HybridIndex.search`` (query embedding, FAISS, BM25, fusion, chunk lookup), on the CPU threads
this machine has.

    python benchmarks/bench_retrieval.py                         # everything (about 15 min on 2 cores)
    python benchmarks/bench_retrieval.py --skip-latency --sweep  # quality + RRF parameter sweep
    python benchmarks/bench_retrieval.py --skip-quality --sizes 1000 10000
    python benchmarks/bench_retrieval.py --data alpacare --embedding hash-ngram minilm --heldout --sweep \
        --skip-latency --index-cache /tmp/idx   # English, real MiniLM (about 10 min on 2 cores)
    python benchmarks/bench_retrieval.py --embedding BAAI/bge-small-zh-v1.5 --skip-latency  # a Chinese neural embedder
"""

from __future__ import annotations

import argparse
import json
import os
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

SHARED = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))
DATA = SHARED / "medicalgpt"
# --data NAME -> the Q&A files it stands for (questions are queries, distinct answers the documents).
DATASETS = {
    "medicalgpt": [DATA / "medical_corpus.txt", DATA / "medical_sft_1K_format.jsonl"],
    "alpacare": [SHARED / "alpacare" / "iCliniq_gpt-4.jsonl"],
}
# Fusion grid of --sweep: RRF constants x the dense list's weight (BM25 has weight 1).
SWEEP_K, SWEEP_W = (5, 10, 20, 60), (0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)


def load_qa(path: Path) -> tuple[list[str], list[str]]:
    """(questions, answers) of a shared data set: ShareGPT, 问/答 records or AlpaCare's input/output."""
    questions, answers = [], []
    with path.open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "conversations" in record:
                turns = record["conversations"]
                questions.append(turns[0]["value"])
                answers.append(turns[1]["value"])
            elif "问" in record:
                questions.append(record["问"])
                answers.append(record["答"])
            else:
                questions.append(record["input"])
                answers.append(record["output"])
    return questions, answers


def resolve_embedding(name: str) -> str:
    """``minilm`` -> the local all-MiniLM-L6-v2 folder (model.assets); anything else unchanged."""
    if name != "minilm":
        return name
    from model.assets import minilm_dir

    return str(minilm_dir())


def display_name(embedding: str) -> str:
    return Path(embedding).name if Path(embedding).is_dir() else embedding


def answer_index(
    answers: list[str], embedding: str, cache: Path | None = None
) -> tuple[HybridIndex, list[int], float]:
    """Index the distinct answers; returns the index, each question's answer id, build seconds.
    With ``cache`` (a folder saved by an earlier run with the same answers and embedder) it is
    loaded instead of rebuilt (build seconds then 0)."""
    ids: dict[str, int] = {}
    target = [ids.setdefault(a, len(ids)) for a in answers]
    if cache is not None and cache.is_dir():
        return HybridIndex.load(cache, embedding=embedding), target, 0.0
    docs = [Document(page_content=a, metadata={"source": str(i), "file": str(i)}) for a, i in ids.items()]
    index = HybridIndex(embedding)
    start = time.perf_counter()
    index.add_documents(docs, progress=True)
    seconds = time.perf_counter() - start
    if cache is not None:
        index.save(cache)
    return index, target, seconds


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


def split_queries(n: int, heldout: bool) -> tuple[list[int], list[int]]:
    """(reported, tuned) query positions: with ``heldout`` the first half is reported and the
    second half tunes the fusion (--sweep); otherwise both are all queries."""
    if not heldout:
        return list(range(n)), list(range(n))
    return list(range(n // 2)), list(range(n // 2, n))


def sweep_rows(index, dense, lexical, target, label) -> list[dict]:
    """Re-fuse stored dense/BM25 candidate lists (row ids) over the fusion grid."""
    rows = []
    for k in SWEEP_K:
        for w in SWEEP_W:
            fused = [search_mod.rrf([d, b], [w, 1.0], k=k) for d, b in zip(dense, lexical, strict=True)]
            ranked = [distinct([index.records[r]["source"] for r, _ in f]) for f in fused]
            rows.append({**label, "method": f"sweep rrf_k={k} dense_w={w}", **metrics(ranked, target)})
    return rows


def quality(
    embeddings: list[str],
    datasets: list[str],
    sweep: bool,
    heldout: bool,
    limit: int | None,
    cache: Path | None = None,
):
    """Rows of recall@1/@5/MRR@10 per data file and method (BM25 once; dense and hybrid per embedder)."""
    rows = []
    n = 50  # candidates per method, the default for k <= 10
    for path in [p for name in datasets for p in DATASETS[name]]:
        questions, answers = load_qa(path)
        questions = questions[:limit] if limit else questions
        report, tune = split_queries(len(questions), heldout)
        label = {"data": path.name, "queries": len(report)}
        bm25_done = False
        for embedding in embeddings:
            folder = cache / f"{path.stem}-{Path(embedding).name}" if cache else None
            index, target, seconds = answer_index(answers, resolve_embedding(embedding), folder)
            name = display_name(index.embedder.name)
            print(f"{path.name}: {len(index)} chunks, {name}, built in {seconds:.1f}s", file=sys.stderr)
            label["chunks"] = len(index)
            hits = {}
            for mode in ("dense", "hybrid") if bm25_done else ("bm25", "dense", "hybrid"):
                start = time.perf_counter()
                hits[mode] = index.search_batch(questions, k=n, mode=mode, candidates=n)
                print(f"  {mode}: {time.perf_counter() - start:.1f}s", file=sys.stderr)
            for mode, found in hits.items():
                ranked = [distinct([h.source for h in found[i]]) for i in report]
                method = {"bm25": "bm25", "dense": name, "hybrid": f"hybrid {name}+bm25"}[mode]
                rows.append({**label, "method": method, **metrics(ranked, [target[i] for i in report])})
            if not bm25_done:
                lexical_ids = [[h.chunk_id for h in hs] for hs in hits["bm25"]]
            bm25_done = True
            if sweep:
                dense = [[index.row_of[h.chunk_id] for h in hs] for hs in hits["dense"]]
                lexical = [[index.row_of[c] for c in cs] for cs in lexical_ids]
                tuned = {**label, "queries": len(tune), "split": "tune" if heldout else "all"}
                tuned_target = [target[i] for i in tune]
                alone = [distinct([h.source for h in hits["dense"][i]]) for i in tune]
                rows.append({**tuned, "embedder": name, "method": name, **metrics(alone, tuned_target)})
                rows += sweep_rows(
                    index,
                    [dense[i] for i in tune],
                    [lexical[i] for i in tune],
                    tuned_target,
                    {**tuned, "embedder": name},
                )
    return rows


def synthetic_chunks(n: int, seed: int = 0) -> list[Document]:
    """``n`` distinct chunks made by recombining 2-4 random sentences of the real answers."""
    sentences = []
    for path in DATASETS["medicalgpt"]:
        for answer in load_qa(path)[1]:
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
    questions = load_qa(DATA / "medical_sft_1K_format.jsonl")[0][:n_queries]
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
    p.add_argument(
        "--embedding",
        nargs="+",
        default=["hash-ngram"],
        help="embedders for the quality section: hash-ngram, minilm (the local all-MiniLM-L6-v2), "
        "or sentence-transformers ids/folders",
    )
    p.add_argument(
        "--data", nargs="+", default=["medicalgpt"], choices=sorted(DATASETS), help="quality data sets"
    )
    p.add_argument("--quality-queries", type=int, default=None, help="use only the first N questions")
    p.add_argument(
        "--index-cache",
        type=Path,
        default=None,
        help="save the quality indexes here and load them on later runs (skips re-embedding)",
    )
    p.add_argument(
        "--heldout",
        action="store_true",
        help="report quality on the first half of the questions; --sweep tunes on the second half",
    )
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
        rows = quality(
            args.embedding, args.data, args.sweep, args.heldout, args.quality_queries, args.index_cache
        )
        out["quality"] = rows
        columns = ["data", "queries", "chunks", "method", "recall@1", "recall@5", "mrr@10"]
        print("\nQuality" + (" (held-out half)" if args.heldout else "") + ":\n")
        print(markdown([r for r in rows if "split" not in r], columns))
        if args.sweep:
            print("\nFusion sweep" + (" (tuning half)" if args.heldout else "") + ":\n")
            print(markdown([r for r in rows if "split" in r], ["embedder", *columns]))
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
