"""Per-session document indexes with bounded memory, freed when the session closes or idles out.

Each chat session that uploads documents gets its own ``HybridIndex.copy()`` of the shared base
index (other sessions never see its files). Unbounded, that is a memory leak an anonymous visitor
can drive: every upload clones the base vectors and adds its own chunks, and nothing is freed. The
``SessionIndexes`` manager owns all of them and enforces:

- per session: at most ``max_chunks`` added chunks and ``max_bytes`` of estimated memory;
- across sessions: at most ``max_total_bytes`` (a new upload that would pass it is refused);
- release: ``close(session_id)`` drops a session's index at once (the app calls it when the
  browser tab closes), and a session unused for ``idle_seconds`` is dropped by the next
  ``index_for``, ``add_documents`` or ``stats`` (``expire()`` runs it explicitly). ``clock`` is
  injectable for tests.

"Bytes" are an estimate of what a session holds beyond the shared base: the UTF-8 text of its
chunks, their float32 vectors and ``OVERHEAD_PER_CHUNK`` of Python objects each, plus, from its
first upload on, the cloned copy of the base's vectors (``HybridIndex.copy`` clones FAISS on the
first add). benchmarks/bench_sessions.py measures the real RSS against it.

The manager holds the only reference to each session index: callers get it from
``index_for(session_id)`` per request and must not keep it (e.g. in a ``gr.State``), or closing the
session cannot free it. Thread-safe: bookkeeping under one lock, embedding under a per-session
lock, so one session's large upload does not stall the others.

Library module, used by app.py; benchmark: ``python benchmarks/bench_sessions.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_core.documents import Document

from retrieval import ingest
from retrieval.index import AddReport, HybridIndex, chunk_id

DEFAULT_MAX_CHUNKS = 2_000  # per session: about 800k characters at the default chunk size
DEFAULT_MAX_BYTES = 64 * 2**20  # per session, estimated (see the module docstring)
DEFAULT_MAX_TOTAL_BYTES = 512 * 2**20  # all sessions together
DEFAULT_IDLE_SECONDS = 30 * 60
# Python objects per chunk beyond its text and vector: the chunk record, its BM25 tokens, the
# LangChain docstore Document, BM25 matrix entries. Fitted to the RSS growth bench_sessions.py
# measured (about 15.5 KB per 280-byte chunk with 8 KB hash-ngram vectors).
OVERHEAD_PER_CHUNK = 6 * 1024


class SessionLimitError(RuntimeError):
    """An upload was refused because it would pass a per-session or global cap; the message says
    which and is meant for the user. Nothing was added."""


@dataclass
class _Session:
    index: HybridIndex | None = None  # None until its first upload: searches use the base
    chunks: int = 0  # chunks this session added
    bytes: int = 0  # estimated bytes this session holds, reserved uploads included
    last_used: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionIndexes:
    """The per-session indexes of one app. ``base``: the shared index every session starts from."""

    def __init__(
        self,
        base: HybridIndex,
        max_chunks: int = DEFAULT_MAX_CHUNKS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.base = base
        self.max_chunks, self.max_bytes, self.max_total_bytes = max_chunks, max_bytes, max_total_bytes
        self.idle_seconds, self.clock = idle_seconds, clock
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self.total_bytes = 0  # sum of the sessions' bytes

    # ------------------------------------------------------------------ reading
    def index_for(self, session_id: str) -> HybridIndex:
        """The index to search for this session: its own once it uploaded something, else the base."""
        with self._lock:
            self._expire_locked()
            session = self._sessions.get(session_id)
            if session is None:
                return self.base
            session.last_used = self.clock()
            return session.index or self.base

    def stats(self) -> dict:
        """{"sessions", "chunks", "bytes"} over the live sessions (after expiring idle ones)."""
        with self._lock:
            self._expire_locked()
            return {
                "sessions": len(self._sessions),
                "chunks": sum(s.chunks for s in self._sessions.values()),
                "bytes": self.total_bytes,
            }

    def __contains__(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._sessions

    # ------------------------------------------------------------------ adding
    def add_documents(self, session_id: str, docs: list[Document]) -> AddReport:
        """Split unsplit documents (e.g. from ``ingest.check_upload``) and add them to the session's
        index, copying the base on its first upload. ``SessionLimitError`` if a cap would be passed
        (checked before anything is embedded; the session keeps what it had)."""
        chunks = ingest.split_documents(docs, self.base.chunk_size, self.base.chunk_overlap)
        with self._lock:
            self._expire_locked()
            session = self._sessions.setdefault(session_id, _Session(last_used=self.clock()))
        with session.lock:
            index = session.index or self.base
            new = {chunk_id(c.page_content): c.page_content for c in chunks}
            new = [text for cid, text in new.items() if cid not in index.row_of]
            per_chunk = 4 * index.embedder.dimension + OVERHEAD_PER_CHUNK
            cost = sum(len(t.encode("utf-8")) for t in new) + per_chunk * len(new)
            if session.index is None and new:
                cost += 4 * index.embedder.dimension * len(self.base)  # the first add clones the base vectors
            self._reserve(session, len(new), cost)
            try:
                index = session.index or self.base.copy()
                report = index.add_chunks(chunks)
            except BaseException:
                with self._lock:
                    if self._sessions.get(session_id) is session:  # else close() released it all
                        session.bytes -= cost
                        self.total_bytes -= cost
                raise
            with self._lock:
                if self._sessions.get(session_id) is session:  # else closed while embedding: drop it
                    session.index, session.last_used = index, self.clock()
                    session.chunks += report.added
        return report

    def _reserve(self, session: _Session, chunks: int, cost: int) -> None:
        """Count ``cost`` bytes against the caps, or raise ``SessionLimitError`` naming the cap."""
        with self._lock:
            if session.chunks + chunks > self.max_chunks:
                raise SessionLimitError(
                    f"this upload adds {chunks} chunks to the {session.chunks} this session already has; the "
                    f"limit is {self.max_chunks} per session: upload less, or start a new session"
                )
            if session.bytes + cost > self.max_bytes:
                raise SessionLimitError(
                    f"this upload needs about {cost / 2**20:.1f} MB and the session holds "
                    f"{session.bytes / 2**20:.1f} MB; the limit is {self.max_bytes / 2**20:.0f} MB per session"
                )
            if self.total_bytes + cost > self.max_total_bytes:
                raise SessionLimitError(
                    "the server holds as many uploaded documents as it can right now "
                    f"({self.total_bytes / 2**20:.0f} of {self.max_total_bytes / 2**20:.0f} MB): try again later"
                )
            session.bytes += cost
            self.total_bytes += cost

    # ------------------------------------------------------------------ freeing
    def close(self, session_id: str) -> bool:
        """Drop the session and its index now; True if it existed. Safe to call twice."""
        with self._lock:
            return self._drop_locked(session_id)

    def expire(self) -> list[str]:
        """Drop every session idle for more than ``idle_seconds``; returns their ids."""
        with self._lock:
            return self._expire_locked()

    def _expire_locked(self) -> list[str]:
        cutoff = self.clock() - self.idle_seconds
        idle = [sid for sid, s in self._sessions.items() if s.last_used < cutoff and not s.lock.locked()]
        for sid in idle:
            self._drop_locked(sid)
        return idle

    def _drop_locked(self, session_id: str) -> bool:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        self.total_bytes -= session.bytes
        session.bytes, session.index = 0, None
        return True
