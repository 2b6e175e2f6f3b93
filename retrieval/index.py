"""The hybrid index: a FAISS vector index (through LangChain's ``FAISS`` vector store) plus BM25 over
jieba tokens, fused by reciprocal rank, with an optional cross-encoder reranker.

On disk an index is a folder of three files, none of them pickled:

    manifest.json    format version, embedder (name, dimension, its parameters), chunking, FAISS index
                     type and parameters, BM25 parameters, counts, content hash, SHA-256 of each file
    index.faiss      the vectors, written by ``faiss.write_index`` (row i = line i of the docstore)
    docstore.jsonl   one chunk per line: {"id", "text", "source", "meta", "tokens"}

LangChain's own ``FAISS.save_local`` pickles the docstore and ``load_local`` refuses to read it
unless ``allow_dangerous_deserialization=True``: a downloaded index could run code. Here the
docstore is JSON and the LangChain wrapper is rebuilt around it on load. ``save`` writes a new
folder beside the target and swaps it in with ``os.replace``, so a crash never leaves a half-written
index, and refuses to replace a folder holding anything but an index of ours unless told to.
``load`` checks every file against the manifest, and the shape and type of every manifest entry
and docstore field it reads, and raises ``CorruptIndexError`` (naming the file and the entry) or
``EmbedderMismatchError`` with the reason.

Chunk ids are content hashes (SHA-256 of the chunk text): identical chunks are stored once, and
``add_files`` appends new chunks without re-embedding the old ones.

Library module; the command line is ``python -m retrieval build|query|add|info`` (retrieval/__main__.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
from langchain_community.docstore.in_memory import InMemoryDocstore
from langchain_community.vectorstores import FAISS
from langchain_community.vectorstores.utils import DistanceStrategy
from langchain_core.documents import Document
from tqdm.auto import tqdm

from retrieval import ingest
from retrieval.embed import (
    HASH_EMBEDDER,
    EmbedderError,
    HashingEmbedder,
    embedder_from_spec,
    load_embedder,
    model_name,
)
from retrieval.search import BM25, RRF_K, Reranker, rrf, tokenize
from retrieval.store import (
    DOCSTORE,
    FAISS_FILE,
    FORMAT,
    FORMAT_VERSION,
    INDEX_TYPES,
    MANIFEST,
    CorruptIndexError,
    EmbedderMismatchError,
    RetrievalIndexError,
    check_destination,
    read_docstore,
    read_manifest,
)

MODES = ("hybrid", "dense", "bm25")
# HNSW graph degree M, build beam efConstruction, search beam efSearch; IVF probes per query.
# Measured at 100k chunks of hashed 2048-d vectors (docs/benchmarks.md): HNSW efSearch 64/128/256
# found 71%/84%/91% of the exact top 10 in 0.5/0.9/1.6 ms median; IVF nprobe 16/64/128 found
# 66%/77%/83% in 0.7/3.3/7.6 ms. Hashed n-gram vectors are hard for approximate search; use flat
# up to ~20k chunks.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 256
IVF_NPROBE = 64
# What faiss.read_index returns for each index type (it downcasts to the concrete class).
_FAISS_CLASSES = {"flat": faiss.IndexFlat, "hnsw": faiss.IndexHNSW, "ivf": faiss.IndexIVF}


@dataclass
class Hit:
    """One retrieved chunk. ``score`` depends on the mode: fused RRF score (hybrid), cosine
    similarity (dense), BM25 score (bm25), or the cross-encoder's score when reranked."""

    rank: int
    score: float
    source: str
    text: str
    chunk_id: str
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AddReport:
    """What ``add_files``/``add_documents`` did: chunks added, chunks skipped as already present."""

    added: int = 0
    duplicates: int = 0
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"added {self.added} chunks ({self.duplicates} duplicates skipped) from {len(self.files)} files"
        )


def chunk_id(text: str) -> str:
    """Content hash of a chunk: identical text, identical id (so it is stored once)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint_files(paths) -> str:
    """SHA-256 over the names and bytes of the files the paths expand to (detects changed inputs)."""
    h = hashlib.sha256()
    for path, name in ingest.expand_paths(paths):
        h.update(name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


class HybridIndex:
    """Dense (FAISS) + BM25 index over chunks of documents.

    Build: ``HybridIndex.build(paths)`` or ``HybridIndex(...).add_files(paths)``; query: ``search``;
    persist: ``save(dir)`` / ``HybridIndex.load(dir)``; per-session extension: ``copy()`` then
    ``add_files`` on the copy (the original and its saved folder are untouched)."""

    def __init__(
        self,
        embedder=None,
        chunk_size: int = ingest.DEFAULT_CHUNK_SIZE,
        chunk_overlap: int = ingest.DEFAULT_CHUNK_OVERLAP,
        index_type: str = "flat",
    ):
        """An empty index. ``embedder``: a ``HashingEmbedder``/``SentenceTransformerEmbedder`` or a
        name for ``load_embedder`` (default: the offline ``hash-ngram``)."""
        if index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be one of {INDEX_TYPES}, got {index_type!r}")
        ingest.make_splitter(chunk_size, chunk_overlap)  # validates the sizes now, not at first add
        if embedder is None or isinstance(embedder, str):
            embedder = load_embedder(embedder or HASH_EMBEDDER)
        self.embedder = embedder
        self.chunk_size, self.chunk_overlap, self.index_type = chunk_size, chunk_overlap, index_type
        self.records: list[dict] = []  # row i of the FAISS index <-> records[i]
        self.row_of: dict[str, int] = {}
        self.inputs: dict = {"paths": [], "fingerprint": None}
        self.vectorstore: FAISS | None = None  # LangChain wrapper; None until the first chunk
        self._shared = False  # True in a copy() until its first add (FAISS index shared with the original)
        self._bm25 = BM25([])

    # ---------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        paths,
        embedding: str = HASH_EMBEDDER,
        device: str | None = None,
        progress: bool = False,
        **kwargs,
    ) -> HybridIndex:
        """Index files/folders from scratch. ``embedding``: embedder name/path (``load_embedder``);
        ``device``: for a neural embedder; ``kwargs``: chunk_size, chunk_overlap, index_type."""
        index = cls(load_embedder(embedding, device=device), **kwargs)
        index.add_files(paths, progress=progress)
        index.inputs = {"paths": [str(p) for p in paths], "fingerprint": fingerprint_files(paths)}
        return index

    def _new_faiss(self, vectors: np.ndarray):
        """Empty FAISS index of the configured type (inner product on normalised vectors = cosine);
        IVF trains its coarse quantiser on the first batch."""
        d = vectors.shape[1]
        if self.index_type == "flat":
            return faiss.IndexFlatIP(d)
        if self.index_type == "hnsw":
            index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction, index.hnsw.efSearch = HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH
            return index
        # About 4*sqrt(N) lists, but at least 39 training points per list (faiss's minimum).
        nlist = max(1, min(int(4 * np.sqrt(len(vectors))), len(vectors) // 39))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(IVF_NPROBE, nlist)
        return index

    def _wrap(self, index, docstore: dict[str, Document], ids: list[str]) -> FAISS:
        return FAISS(
            embedding_function=self.embedder,
            index=index,
            docstore=InMemoryDocstore(docstore),
            index_to_docstore_id=dict(enumerate(ids)),
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )

    def add_files(self, paths, progress: bool = False) -> AddReport:
        """Read, split and add files/folders; chunks already in the index are skipped."""
        docs = ingest.load_documents(paths, self.chunk_size, self.chunk_overlap, progress=progress)
        report = self.add_chunks(docs, progress=progress)
        report.files = [str(p) for p, _ in ingest.expand_paths(paths)]
        self.inputs = {"paths": self.inputs["paths"] + [str(p) for p in paths], "fingerprint": None}
        return report

    def add_documents(self, docs: list[Document], progress: bool = False) -> AddReport:
        """Split unsplit documents (``metadata["source"]`` names them) and add the chunks."""
        return self.add_chunks(ingest.split_documents(docs, self.chunk_size, self.chunk_overlap), progress)

    def add_chunks(self, chunks: list[Document], progress: bool = False) -> AddReport:
        """Add already-split chunks: embed only the new ones, append to FAISS, refresh BM25."""
        new: dict[str, Document] = {}
        for chunk in chunks:
            cid = chunk_id(chunk.page_content)
            if cid not in self.row_of and cid not in new:
                new[cid] = Document(id=cid, page_content=chunk.page_content, metadata=dict(chunk.metadata))
        report = AddReport(added=len(new), duplicates=len(chunks) - len(new))
        if not new:
            return report
        texts = [d.page_content for d in new.values()]
        # Everything that can fail (tokenising, embedding) runs before the index is touched.
        tokens = [tokenize(t) for t in tqdm(texts, desc="tokenizing", unit="chunk", disable=not progress)]
        if isinstance(self.embedder, HashingEmbedder) and self.embedder.idf is None:
            self.embedder.fit(texts)  # IDF from the first chunks indexed, then frozen
        vectors = self.embedder.encode(texts, progress=progress)
        if self.vectorstore is None:
            self.vectorstore = self._wrap(self._new_faiss(vectors), {}, [])
        elif self._shared:
            # A copy() shares the original's FAISS index until it changes: clone it now.
            self.vectorstore = self._wrap(
                faiss.clone_index(self.vectorstore.index), self._documents(), [r["id"] for r in self.records]
            )
        self._shared = False
        self.vectorstore.add_embeddings(
            list(zip(texts, vectors, strict=True)),
            metadatas=[d.metadata for d in new.values()],
            ids=list(new),
        )
        for (cid, doc), doc_tokens in zip(new.items(), tokens, strict=True):
            meta = {k: v for k, v in doc.metadata.items() if k != "source"}
            self.row_of[cid] = len(self.records)
            self.records.append(
                {
                    "id": cid,
                    "text": doc.page_content,
                    "source": doc.metadata.get("source", ""),
                    "meta": meta,
                    "tokens": doc_tokens,
                }
            )
        self._bm25 = self._bm25.extended(tokens)
        return report

    def copy(self) -> HybridIndex:
        """A cheap in-memory copy for one session: it shares the FAISS index, chunk records and
        embedder with this index until its first ``add_*``, which clones the FAISS index (memory:
        chunks x dimension x 4 bytes). Adding to the copy never changes this index or its folder."""
        other = object.__new__(HybridIndex)
        other.__dict__.update(self.__dict__)
        other.records, other.row_of, other.inputs = list(self.records), dict(self.row_of), dict(self.inputs)
        other._shared = self.vectorstore is not None
        if isinstance(self.embedder, HashingEmbedder) and self.embedder.idf is None:
            other.embedder = HashingEmbedder(
                self.embedder.dimension, self.embedder.ngram_weights
            )  # fitted on its own first add
        return other

    def _documents(self) -> dict[str, Document]:
        """LangChain docstore contents rebuilt from the chunk records."""
        return {
            r["id"]: Document(
                id=r["id"], page_content=r["text"], metadata={"source": r["source"], **r["meta"]}
            )
            for r in self.records
        }

    def __len__(self) -> int:
        return len(self.records)

    # ---------------------------------------------------------------- searching
    def search(
        self,
        query: str,
        k: int = 5,
        mode: str = "hybrid",
        candidates: int | None = None,
        reranker: Reranker | None = None,
    ) -> list[Hit]:
        """Best ``k`` chunks for ``query``.

        mode: ``hybrid`` (RRF of dense and BM25), ``dense`` or ``bm25``. ``candidates``: how many
        each method contributes before fusion/reranking (default max(50, 5k)). ``reranker``: a
        ``Reranker`` that rescores the best ``candidates`` of the chosen mode."""
        return self.search_batch([query], k, mode, candidates, reranker)[0]

    def search_batch(
        self,
        queries: list[str],
        k: int = 5,
        mode: str = "hybrid",
        candidates: int | None = None,
        reranker: Reranker | None = None,
    ) -> list[list[Hit]]:
        """``search`` for many queries at once (evaluation, benchmarks): the queries are embedded in
        batches, far faster with a neural embedder than one by one. Results equal ``search``'s up
        to the float rounding of batched encoding."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        live = [i for i, q in enumerate(queries) if q.strip()] if self.records else []
        vectors = {}
        if mode != "bm25" and live:
            vectors = dict(zip(live, self.embedder.encode_queries([queries[i] for i in live]), strict=True))
        results: list[list[Hit]] = [[] for _ in queries]
        for i in live:
            results[i] = self._ranked_hits(queries[i], vectors.get(i), k, mode, candidates, reranker)
        return results

    def _ranked_hits(self, query, vector, k, mode, candidates, reranker) -> list[Hit]:
        n = candidates or max(50, 5 * k)
        if mode == "dense":
            ranked = self._dense(vector, n)
        elif mode == "bm25":
            ranked = self._bm25.top(tokenize(query), n)
        else:
            dense = [row for row, _ in self._dense(vector, n)]
            lexical = [row for row, _ in self._bm25.top(tokenize(query), n)]
            ranked = rrf([dense, lexical], [self.embedder.fusion_weight, 1.0], k=RRF_K)[:n]
        if reranker is not None and ranked:
            rows = [row for row, _ in ranked]
            scores = reranker.scores(query, [self.records[r]["text"] for r in rows])
            order = np.argsort(-scores, kind="stable")
            ranked = [(rows[i], float(scores[i])) for i in order]
        hits = []
        for rank, (row, score) in enumerate(ranked[:k], start=1):
            rec = self.records[row]
            hits.append(Hit(rank, float(score), rec["source"], rec["text"], rec["id"], dict(rec["meta"])))
        return hits

    def _dense(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """(row, cosine) of the ``n`` chunks nearest the query vector, through the LangChain vector store."""
        # One query gains little from OpenMP threads and loses a lot when the cores are busy: flat
        # search over 100k chunks took 212 ms median with 2 threads on a loaded 2-core machine and
        # 32 ms with 1 (docs/benchmarks.md). The setting is per calling thread in OpenMP, so builds
        # and other threads keep theirs; it is restored afterwards.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            found = self.vectorstore.similarity_search_with_score_by_vector(
                vector, k=min(n, len(self.records))
            )
        finally:
            faiss.omp_set_num_threads(threads)
        return [(self.row_of[doc.id], float(score)) for doc, score in found]

    # ---------------------------------------------------------------- persistence
    def manifest(self) -> dict:
        """Everything needed to check and rebuild this index (file hashes are added by ``save``)."""
        params = {}
        if self.index_type == "hnsw":
            params = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
        elif self.index_type == "ivf" and self.vectorstore is not None:
            params = {
                "nlist": int(self.vectorstore.index.nlist),
                "nprobe": int(self.vectorstore.index.nprobe),
            }
        content = hashlib.sha256("\n".join(r["id"] for r in self.records).encode()).hexdigest()
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder.spec(),
            "chunking": {
                "splitter": "langchain RecursiveCharacterTextSplitter",
                "chunk_size": self.chunk_size,
                "chunk_overlap": self.chunk_overlap,
                "separators": ingest.SEPARATORS,
            },
            "index": {"type": self.index_type, "metric": "inner_product", "params": params},
            "bm25": {
                "tokenizer": "jieba.cut_for_search",
                "k1": self._bm25.k1,
                "b": self._bm25.b,
                "idf": "lucene",
            },
            "counts": {
                "chunks": len(self.records),
                "sources": len({r["meta"].get("file", r["source"]) for r in self.records}),
            },
            "content_hash": content,
            "inputs": self.inputs,
        }

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the index folder atomically: build it in a temporary sibling folder, then swap it
        in with ``os.replace``. An existing index folder (only our three files) is replaced; a
        folder holding anything else is refused unless ``overwrite`` (then it is replaced whole)."""
        if not self.records:
            raise RetrievalIndexError("the index is empty: add documents before saving")
        directory = Path(directory)
        check_destination(directory, overwrite)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
        try:
            faiss.write_index(self.vectorstore.index, str(tmp / FAISS_FILE))
            with (tmp / DOCSTORE).open("w", encoding="utf-8") as f:
                for rec in self.records:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            manifest = self.manifest()
            manifest["created"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            manifest["files"] = {
                name: {"sha256": _sha256_file(tmp / name), "bytes": (tmp / name).stat().st_size}
                for name in (FAISS_FILE, DOCSTORE)
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            if directory.exists():
                # A folder cannot be os.replace'd over a non-empty one: move the old one aside first.
                old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
                os.replace(directory, old)
                os.replace(tmp, directory)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, directory)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return directory

    @classmethod
    def load(
        cls, directory: str | Path, embedding: str | None = None, device: str | None = None
    ) -> HybridIndex:
        """Load an index folder (nothing is unpickled).

        ``embedding``: the embedder the caller expects (``None``: whatever the index was built
        with); a different one raises ``EmbedderMismatchError``. Missing, truncated or garbled
        files raise ``CorruptIndexError`` naming the file."""
        directory = Path(directory)
        if not directory.is_dir():
            raise RetrievalIndexError(f"{directory}: no such index folder")
        manifest = read_manifest(directory)
        spec = manifest["embedder"]
        if embedding == "hash":
            embedding = HASH_EMBEDDER
        elif embedding is not None:
            embedding = model_name(embedding)  # a local folder as its absolute path, as saved
        if embedding is not None and embedding != spec["name"]:
            raise EmbedderMismatchError(
                f"{directory} was built with embedder {spec['name']!r} ({spec['dimension']}-d), not {embedding!r}: "
                f"query it with --embedding {spec['name']} or rebuild it with the new embedder"
            )
        for name in (FAISS_FILE, DOCSTORE):
            path = directory / name
            if not path.is_file():
                raise CorruptIndexError(f"{path} is missing")
            expected = manifest["files"][name]
            if path.stat().st_size != expected["bytes"] or _sha256_file(path) != expected["sha256"]:
                raise CorruptIndexError(
                    f"{path} does not match {MANIFEST} (truncated or modified); rebuild the index"
                )
        try:
            index = faiss.read_index(str(directory / FAISS_FILE))
        except RuntimeError as e:
            raise CorruptIndexError(
                f"{directory / FAISS_FILE} is not a readable FAISS index: {str(e).splitlines()[0]}"
            ) from None
        kind = manifest["index"]["type"]
        if not isinstance(index, _FAISS_CLASSES[kind]):
            raise CorruptIndexError(
                f"{directory / FAISS_FILE} holds a {type(index).__name__}, but {MANIFEST} says index type {kind!r}"
            )
        records = read_docstore(directory / DOCSTORE)
        count = manifest["counts"]["chunks"]
        if index.ntotal != count or len(records) != count:
            raise CorruptIndexError(
                f"{directory}: manifest says {count} chunks, {FAISS_FILE} has {index.ntotal}, {DOCSTORE} has {len(records)}"
            )
        if index.d != spec["dimension"]:
            raise CorruptIndexError(
                f"{directory / FAISS_FILE} holds {index.d}-d vectors, manifest says {spec['dimension']}-d"
            )
        try:
            embedder = embedder_from_spec(spec, device=device)
        except EmbedderError as e:
            raise RetrievalIndexError(f"{directory}: {e}") from e
        if embedder.dimension != spec["dimension"]:
            raise EmbedderMismatchError(
                f"{directory}: embedding model {spec['name']!r} now gives {embedder.dimension}-d vectors but the "
                f"index holds {spec['dimension']}-d ones: it is not the model the index was built with; rebuild the index"
            )
        try:
            self = cls(
                embedder, manifest["chunking"]["chunk_size"], manifest["chunking"]["chunk_overlap"], kind
            )
        except ValueError as e:
            raise CorruptIndexError(f"{directory / MANIFEST}: chunking: {e}") from None
        if self.index_type == "hnsw":
            index.hnsw.efSearch = manifest["index"]["params"]["efSearch"]
        elif self.index_type == "ivf":
            index.nprobe = manifest["index"]["params"]["nprobe"]
        self.records = records
        self.row_of = {r["id"]: i for i, r in enumerate(records)}
        if len(self.row_of) != len(records):
            raise CorruptIndexError(f"{directory / DOCSTORE} has repeated chunk ids")
        self.inputs = manifest.get("inputs", {"paths": [], "fingerprint": None})
        self.vectorstore = self._wrap(index, self._documents(), [r["id"] for r in records])
        self._bm25 = BM25([r["tokens"] for r in records])
        return self
