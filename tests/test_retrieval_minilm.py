"""Retrieval with a real neural embedder: all-MiniLM-L6-v2 (the wheel's sentence-transformers folder,
unpacked by model/assets.py) finds answers to reworded English questions that BM25 ranks low, and
an index built with a local model folder saves, loads and queries from the command line.

Run: pytest tests/test_retrieval_minilm.py   (marker ``real``: skipped without the model wheel)
"""

import json

import pytest
from conftest import REPO, REQUIRE_MODELS, SHARED_DATA
from langchain_core.documents import Document

from retrieval.index import EmbedderMismatchError, HybridIndex

pytestmark = pytest.mark.real
KB = REPO / "data" / "samples" / "kb"
ICLINIQ = SHARED_DATA / "alpacare" / "iCliniq_gpt-4.jsonl"


@pytest.fixture(scope="module")
def minilm() -> str:
    from model import assets

    try:
        return str(assets.minilm_dir())
    except assets.MissingAssetError as err:
        if REQUIRE_MODELS:
            pytest.fail(f"MEDCHAT_REQUIRE_MODELS=1: {err}")
        pytest.skip(str(err))


def _rank(hits, source: str) -> float:
    """1-based rank of ``source`` among the distinct sources of the hits (inf: not retrieved)."""
    sources = list(dict.fromkeys(h.source for h in hits))
    return sources.index(source) + 1 if source in sources else float("inf")


@pytest.mark.needs_shared
def test_minilm_finds_reworded_questions_that_bm25_ranks_low(minilm):
    """GPT-4's answers to the first 40 iCliniq questions are the documents; the queries reword two
    of the patients' questions in words the answers do not use ("coke" for cocaine, "short-sighted"
    for myopia)."""
    rows = [json.loads(line) for line in ICLINIQ.read_text(encoding="utf-8").splitlines()[:40]]
    docs = [
        Document(page_content=r["output"], metadata={"source": f"answer {i}"}) for i, r in enumerate(rows)
    ]
    index = HybridIndex(minilm)
    index.add_documents(docs)
    assert index.embedder.dimension == 384
    cases = {
        "answer 1": "We used coke last week and want a baby. How long before it's safe to try?",
        "answer 3": "My teenage boy is very short-sighted; how can we stop his eyesight getting worse?",
    }
    assert "cocaine" in rows[1]["output"].lower() and "coke" not in rows[1]["output"].lower()
    for target, question in cases.items():
        ranks = {m: _rank(index.search(question, k=50, mode=m), target) for m in ("dense", "bm25", "hybrid")}
        assert ranks["dense"] == 1, (question, ranks)
        assert ranks["bm25"] >= 10, (question, ranks)  # measured: 17th of 40, and not retrieved
        assert ranks["hybrid"] < ranks["bm25"], (question, ranks)
    # Batched queries give the same rankings as one at a time.
    questions = list(cases.values())
    batch = index.search_batch(questions, k=10, mode="hybrid")
    assert [[h.chunk_id for h in hits] for hits in batch] == [
        [h.chunk_id for h in index.search(q, k=10, mode="hybrid")] for q in questions
    ]


def test_local_model_folder_builds_saves_and_queries_from_the_cli(minilm, tmp_path, capsys, monkeypatch):
    from retrieval.__main__ import main

    out = tmp_path / "minilm_idx"
    assert main(["build", "--docs", str(KB / "faq_en.jsonl"), "--out", str(out), "--embedding", minilm]) == 0
    assert "384-d" in capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"] == {"name": minilm, "dimension": 384}  # an absolute folder path
    monkeypatch.chdir(tmp_path)  # the index loads from any working directory
    question = "my grandmother's face suddenly droops on one side and her speech is slurred"
    assert main(["query", "--index", "minilm_idx", "--mode", "dense", "--k", "1", question]) == 0
    assert json.loads(capsys.readouterr().out)[0]["source"] == "faq_en.jsonl, line 3"  # the stroke answer
    with pytest.raises(EmbedderMismatchError, match=r"built with embedder '.*all-MiniLM-L6-v2.*' \(384-d\)"):
        HybridIndex.load(out, embedding="hash-ngram")
    assert len(HybridIndex.load(out, embedding=minilm)) == len(HybridIndex.load(out))
