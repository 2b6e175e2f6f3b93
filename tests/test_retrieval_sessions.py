"""Per-session document indexes: isolation, caps per session and across sessions, and release on
close and on idle expiry (an injected clock, so nothing depends on timing).

Run: pytest tests/test_retrieval_sessions.py
"""

import gc
import weakref

import pytest
from conftest import REPO
from langchain_core.documents import Document

from retrieval.index import HybridIndex
from retrieval.sessions import OVERHEAD_PER_CHUNK, SessionIndexes, SessionLimitError

KB = REPO / "data" / "samples" / "kb"
LEAFLET = (
    "Chlamydia is treated with a single dose of azithromycin or a week of doxycycline. "
    "Partners should be treated at the same time, and sex avoided for seven days after treatment."
)
QUESTION = "how is chlamydia treated"


def _doc(text: str, name: str = "leaflet.txt") -> list[Document]:
    return [Document(page_content=text, metadata={"source": name, "file": name})]


def _paragraphs(n: int, tag: str) -> list[Document]:
    """``n`` distinct sentences, one chunk each at the default chunk size."""
    return [
        Document(page_content=f"Note {tag} {i}: rest and drink water.", metadata={"source": f"{tag}.txt"})
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def base():
    return HybridIndex.build([KB])


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _finds_leaflet(index: HybridIndex) -> bool:
    return any(h.source == "leaflet.txt" for h in index.search(QUESTION, k=3))


def test_sessions_are_isolated_and_close_frees_the_index(base):
    sessions = SessionIndexes(base)
    assert sessions.index_for("a") is base  # no upload yet: the shared base, no copy
    report = sessions.add_documents("a", _doc(LEAFLET))
    assert report.added == 1
    index_a = sessions.index_for("a")
    assert index_a is not base and _finds_leaflet(index_a)
    assert sessions.index_for("b") is base and not _finds_leaflet(base)  # others never see it
    stats = sessions.stats()
    # the clone of the base vectors plus the new chunk's text, vector and object overhead
    assert stats["sessions"] == 1 and stats["chunks"] == 1
    assert stats["bytes"] == 4 * base.embedder.dimension * (len(base) + 1) + len(LEAFLET) + OVERHEAD_PER_CHUNK

    # The same upload again adds nothing and costs nothing.
    assert sessions.add_documents("a", _doc(LEAFLET)).duplicates == 1
    assert sessions.stats() == stats

    ref = weakref.ref(index_a)
    del index_a
    assert sessions.close("a") is True
    gc.collect()
    assert ref() is None  # the manager held the only reference, and dropped it
    assert sessions.stats() == {"sessions": 0, "chunks": 0, "bytes": 0}
    assert sessions.index_for("a") is base and sessions.close("a") is False
    assert len(base) == len(HybridIndex.build([KB]))  # the base never changed


def test_idle_sessions_expire_and_use_keeps_a_session_alive(base):
    clock = Clock()
    sessions = SessionIndexes(base, idle_seconds=600, clock=clock)
    sessions.add_documents("early", _doc(LEAFLET))
    refs = {"early": weakref.ref(sessions.index_for("early"))}  # last used at 0
    clock.now = 100
    sessions.add_documents("late", _paragraphs(3, "late"))
    refs["late"] = weakref.ref(sessions.index_for("late"))  # last used at 100

    clock.now = 650  # "early" last used at 0, "late" at 100
    assert sessions.expire() == ["early"]
    gc.collect()
    assert refs["early"]() is None and refs["late"]() is not None
    assert "early" not in sessions and sessions.stats()["sessions"] == 1
    assert sessions.index_for("late") is refs["late"]()  # a search counts as use: idle clock restarts

    clock.now = 1200  # 550 s after that use: still alive
    assert sessions.stats()["sessions"] == 1
    clock.now = 1251  # 601 s: expired by any call, here stats()
    assert sessions.stats() == {"sessions": 0, "chunks": 0, "bytes": 0}
    gc.collect()
    assert refs["late"]() is None


def test_per_session_chunk_and_byte_caps_refuse_without_adding(base):
    sessions = SessionIndexes(base, max_chunks=5)
    sessions.add_documents("a", _paragraphs(4, "first"))
    before = sessions.stats()
    with pytest.raises(
        SessionLimitError, match=r"adds 2 chunks to the 4 this session already has; the limit is 5"
    ):
        sessions.add_documents("a", _paragraphs(2, "second"))
    assert sessions.stats() == before and len(sessions.index_for("a")) == len(base) + 4
    sessions.add_documents("a", _paragraphs(1, "third"))  # still room for one
    assert sessions.stats()["chunks"] == 5

    clone = 4 * base.embedder.dimension * len(base)
    small = SessionIndexes(base, max_bytes=clone + 10_000)
    with pytest.raises(SessionLimitError, match=r"MB per session"):
        small.add_documents("a", _paragraphs(2, "big"))  # two chunks of 8 KB vectors + 6 KB overhead each
    assert small.stats()["bytes"] == 0 and small.index_for("a") is base


def test_global_cap_refuses_new_sessions_until_one_closes(base):
    one_session = 4 * base.embedder.dimension * (len(base) + 1) + 8 * 1024
    sessions = SessionIndexes(base, max_total_bytes=int(one_session * 1.5))
    sessions.add_documents("a", _doc(LEAFLET))
    with pytest.raises(SessionLimitError, match=r"the server holds as many uploaded documents as it can"):
        sessions.add_documents("b", _doc(LEAFLET, "b.txt"))
    assert sessions.index_for("b") is base
    sessions.close("a")
    assert sessions.add_documents("b", _doc(LEAFLET, "b.txt")).added == 1
    assert _finds_leaflet(sessions.index_for("b")) is False  # named b.txt in this session
    assert any(h.source == "b.txt" for h in sessions.index_for("b").search(QUESTION, k=3))
