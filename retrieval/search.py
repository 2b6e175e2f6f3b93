"""Lexical search and rank fusion: BM25 over jieba tokens, reciprocal-rank fusion, cross-encoder reranking.

BM25 is Okapi BM25 (k1=1.5, b=0.75, rank-bm25's defaults) with Lucene's non-negative IDF
log(1 + (N - df + 0.5) / (df + 0.5)), which stays sensible for tiny collections where rank-bm25's
Okapi IDF turns zero or negative. Scores are computed as one sparse matrix product: rank-bm25's
``get_scores`` walks every document in Python for every query term, about 0.1 s per query at
100k chunks (benchmarks/bench_retrieval.py), far over the 20 ms budget. The tests check this
implementation against rank-bm25 given the same IDF.

Library module; the command line is ``python -m retrieval query --mode bm25 ...``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from itertools import chain

import numpy as np
from scipy import sparse

_WORD = re.compile(r"\w")

# Reciprocal-rank fusion constant: score = sum_m w_m / (RRF_K + rank_m). The classic value is 60;
# a small constant lets each list's top ranks count for more. 5 (with the hashed embedder's weight
# 0.5) was best of the grid swept on the shared medical Q&A; see docs/benchmarks.md.
RRF_K = 5


# Function words and the stock phrases of patients' questions (怎么办, 医生您好...). Dropping them
# raised BM25 recall@5 on the shared medical Q&A from 0.444 to 0.470 (docs/benchmarks.md).
STOPWORDS = frozenset(
    """
    的 了 是 吗 呢 吧 啊 呀 么 和 与 及 或 在 有 也 都 就 还 又 很 我 你 他 她 它 我们 你们 他们 这 那 这个 那个
    什么 怎么 怎么办 怎样 如何 为什么 哪些 是否 可以 能 会 要 请问 医生 您好 你好 谢谢 一下 一些 一个 情况 问题 应该 需要
    a an the and or but if of to in on at by for with from as is are was were be been being do does did have has
    had i you he she it we they me my your his her its our their this that these those what which who whom how
    when where why can could should would will shall may might must not no so than then there here about into
    over under up down out very just also only any some all each more most other such own same too s t
    """.split()
)


def tokenize(text: str) -> list[str]:
    """Text -> BM25 tokens: jieba's search-engine mode (words plus their sub-words, so 高血压 also
    yields 血压) on NFKC-lowercased text; punctuation, whitespace and ``STOPWORDS`` dropped."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading at INFO on first use
    text = unicodedata.normalize("NFKC", text).lower()
    return [tok for tok in jieba.cut_for_search(text) if _WORD.search(tok) and tok not in STOPWORDS]


class BM25:
    """Okapi BM25 over pre-tokenised documents, held as a (documents x terms) sparse matrix of
    per-term contributions so a query costs a column slice and a sum. Immutable: ``extended``
    returns a new object, so an index copy can grow without touching the original's BM25."""

    def __init__(self, corpus_tokens: list[list[str]] = (), k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        # token -> column; a missing key gets the next free column (used only while adding).
        self.vocab: defaultdict[str, int] = defaultdict()
        self.vocab.default_factory = self.vocab.__len__
        self.tf = sparse.csr_matrix((0, 0), dtype=np.float32)  # term frequencies, documents x terms
        self._append(list(corpus_tokens))

    @property
    def n_docs(self) -> int:
        return self.tf.shape[0]

    def extended(self, corpus_tokens: list[list[str]]) -> BM25:
        """A new BM25 over this one's documents plus ``corpus_tokens`` (IDF and average length
        recomputed over all of them; the old documents are not re-tokenised)."""
        other = BM25.__new__(BM25)
        other.k1, other.b = self.k1, self.b
        other.vocab = self.vocab.copy()
        other.vocab.default_factory = other.vocab.__len__
        other.tf = self.tf
        other._append(list(corpus_tokens))
        return other

    def _append(self, corpus_tokens: list[list[str]]) -> None:
        # Vectorised token -> column mapping: about 3x faster than a Python loop over tokens.
        cols = np.fromiter(map(self.vocab.__getitem__, chain.from_iterable(corpus_tokens)), dtype=np.int64)
        lengths = np.fromiter(map(len, corpus_tokens), dtype=np.int64, count=len(corpus_tokens))
        rows = np.repeat(np.arange(len(corpus_tokens)), lengths)
        shape = (len(corpus_tokens), len(self.vocab))
        # Duplicate (row, col) entries are summed on conversion: the matrix holds term frequencies.
        new = sparse.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=shape)
        old = sparse.csr_matrix(
            (self.tf.data, self.tf.indices, self.tf.indptr), shape=(self.n_docs, shape[1])
        )
        self.tf = sparse.vstack([old, new], format="csr")
        self.tf.sum_duplicates()
        tf, n = self.tf, self.n_docs
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = doc_len.mean() if n else 0.0
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        # Per-entry weight idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl)).
        norm = self.k1 * (1 - self.b + self.b * doc_len / max(avgdl, 1e-9))
        row_of_entry = np.repeat(np.arange(n), np.diff(tf.indptr))
        weights = self.idf[tf.indices] * tf.data * (self.k1 + 1) / (tf.data + norm[row_of_entry])
        # Stored column-major: a query reads the columns of its terms.
        self.matrix = sparse.csr_matrix(
            (weights.astype(np.float32), tf.indices, tf.indptr), shape=tf.shape
        ).tocsc()

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document, shape (n_docs,); a repeated query term counts repeatedly."""
        cols = [self.vocab[t] for t in query_tokens if t in self.vocab]
        if not cols:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.matrix[:, cols].sum(axis=1)).ravel()

    def top(self, query_tokens: list[str], n: int) -> list[tuple[int, float]]:
        """Best ``n`` (row, score) pairs with a positive score, best first."""
        scores = self.scores(query_tokens)
        n = min(n, self.n_docs)
        if n <= 0:
            return []
        best = np.argpartition(-scores, n - 1)[:n] if n < self.n_docs else np.arange(self.n_docs)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]


def rrf(rankings: list[list[int]], weights: list[float], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of several best-first lists of ids -> (id, fused score), best first."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])


class Reranker:
    """A sentence-transformers ``CrossEncoder`` (hub id or local path) that scores (query, chunk)
    pairs; for users e.g. ``BAAI/bge-reranker-base`` (Chinese and English)."""

    def __init__(self, name_or_path: str, device: str | None = None, batch_size: int = 16):
        from sentence_transformers import CrossEncoder

        from retrieval.embed import EmbedderError

        self.name, self.batch_size = str(name_or_path), batch_size
        try:
            self.model = CrossEncoder(self.name, device=device)
        except Exception as e:  # hub errors, missing files, bad configs: all mean "cannot load"
            raise EmbedderError(f"cannot load reranker {self.name!r} ({type(e).__name__}: {e})") from e

    def scores(self, query: str, texts: list[str]) -> np.ndarray:
        """Relevance score of each text for the query, shape (len(texts),)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        pairs = [(query, text) for text in texts]
        return np.asarray(
            self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False), dtype=np.float32
        ).reshape(-1)
