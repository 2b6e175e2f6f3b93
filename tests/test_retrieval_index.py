"""The hybrid index: retrieval quality on real medical Q&A, save/load round trips without pickle,
corrupt and wrong-embedder indexes, adding without rebuilding, dedupe, per-session copies, the CLI.

Run: pytest tests/test_retrieval_index.py
"""

import json
import pickle
import shutil
from itertools import pairwise

import faiss
import numpy as np
import pytest
from conftest import HAVE_SHARED_DATA, REPO, SHARED_DATA
from langchain_core.documents import Document

from retrieval.index import (
    CorruptIndexError,
    EmbedderMismatchError,
    HybridIndex,
    RetrievalIndexError,
)
from retrieval.search import BM25, tokenize

KB = REPO / "data" / "samples" / "kb"
CORPUS = SHARED_DATA / "medicalgpt" / "medical_corpus.txt"
RECORDS = (
    [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if HAVE_SHARED_DATA
    else []
)


@pytest.fixture(scope="module")
def kb_index():
    return HybridIndex.build([KB])


@pytest.fixture(scope="module")
def saved_kb(kb_index, tmp_path_factory):
    return kb_index.save(tmp_path_factory.mktemp("idx") / "kb")


def _copy_index(saved, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


@pytest.mark.needs_shared
def test_question_finds_its_record_in_the_medicalgpt_corpus():
    index = HybridIndex.build([CORPUS])
    assert len(index) >= 87
    top1 = sum(index.search(r["问"], k=1)[0].text.startswith(f"问：{r['问']}") for r in RECORDS)
    assert top1 / len(RECORDS) >= 0.95
    # A reworded question (not the stored wording) still finds the varicose-vein answer first.
    hit = index.search("腿上静脉曲张怎么治疗效果好？", k=3)[0]
    assert "静脉曲张的最好治疗方法" in hit.text and hit.source == "medical_corpus.txt, line 41"


@pytest.mark.needs_shared
def test_answers_only_index_retrieves_answers_for_questions():
    """Harder: index only the answers, query with the questions (no shared question text)."""
    index = HybridIndex()
    docs = [
        Document(page_content=r["答"], metadata={"source": f"answer {i}", "file": "corpus"})
        for i, r in enumerate(RECORDS)
    ]
    index.add_documents(docs)
    recall5 = {}
    for mode in ("dense", "bm25", "hybrid"):
        found = [
            any(h.source == f"answer {i}" for h in index.search(r["问"], k=5, mode=mode))
            for i, r in enumerate(RECORDS)
        ]
        recall5[mode] = sum(found) / len(found)
    # Measured: dense 0.563, bm25 0.586, hybrid 0.609 (docs/benchmarks.md has the full table).
    assert recall5["bm25"] >= 0.55 and recall5["dense"] >= 0.5
    assert recall5["hybrid"] >= max(recall5["dense"], recall5["bm25"])


def test_every_mode_returns_ranked_hits(kb_index):
    for mode in ("hybrid", "dense", "bm25"):
        hits = kb_index.search("孩子发烧抽搐怎么办", k=3, mode=mode)
        # bm25 returns only chunks sharing a term with the query, so possibly fewer than k.
        assert [h.rank for h in hits] == [1, 2, 3][: len(hits)] and hits
        assert hits[0].source == "kb/fever_children_zh.txt" and "热性惊厥" in hits[0].text
        assert all(a.score >= b.score for a, b in pairwise(hits))
    hit = kb_index.search("How long should a burn be cooled under running water?", k=1)[0]
    assert hit.source == "kb/burns_first_aid_en.pdf, page 1" and "20 minutes" in hit.text
    assert kb_index.search("   ") == []
    with pytest.raises(ValueError, match="mode must be one of"):
        kb_index.search("x", mode="sparse")


@pytest.mark.needs_shared
def test_bm25_matches_rank_bm25_given_the_same_idf():
    """Our sparse-matrix BM25 equals rank-bm25's loop over documents (with Lucene's IDF)."""
    from rank_bm25 import BM25Okapi

    class LuceneIdfBM25(BM25Okapi):
        def _calc_idf(self, nd):
            self.idf = {
                w: float(np.log1p((self.corpus_size - df + 0.5) / (df + 0.5))) for w, df in nd.items()
            }

    corpus = [tokenize(r["答"]) for r in RECORDS]
    ours, reference = BM25(corpus), LuceneIdfBM25(corpus)
    grown = BM25().extended(corpus[:30]).extended(corpus[30:])  # the add-without-rebuild path
    for record in RECORDS[:20]:
        query = tokenize(record["问"]) + ["未登录词xyz"]
        np.testing.assert_allclose(ours.scores(query), reference.get_scores(query), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(grown.scores(query), ours.scores(query), rtol=1e-6)
    assert "未登录词xyz" not in ours.vocab  # querying never grows the vocabulary


@pytest.mark.needs_shared
@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivf"])
def test_save_then_load_gives_identical_results_and_never_unpickles(tmp_path, monkeypatch, index_type):
    index = HybridIndex.build([KB, CORPUS], index_type=index_type)
    folder = index.save(tmp_path / "idx")
    assert sorted(p.name for p in folder.iterdir()) == ["docstore.jsonl", "index.faiss", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"]["name"] == "hash-ngram" and manifest["embedder"]["dimension"] == 2048
    assert manifest["counts"]["chunks"] == len(index) and manifest["index"]["type"] == index_type
    assert manifest["chunking"] == {**manifest["chunking"], "chunk_size": 400, "chunk_overlap": 60}

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading an index")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded = HybridIndex.load(folder)
    for query in ("高血压患者每天吃多少盐", "What should I do if I miss a dose?", "土源性线虫感染的多发地区"):
        for mode in ("hybrid", "dense", "bm25"):
            assert loaded.search(query, k=5, mode=mode) == index.search(query, k=5, mode=mode)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left behind


def test_corrupt_index_files_give_clear_errors(saved_kb, tmp_path):
    folder = _copy_index(saved_kb, tmp_path)
    data = (folder / "index.faiss").read_bytes()
    (folder / "index.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CorruptIndexError, match=r"index\.faiss does not match manifest\.json \(truncated or modified\)"
    ):
        HybridIndex.load(folder)

    # A garbled FAISS file whose hash was "fixed" in the manifest still fails, in faiss itself.
    (folder / "index.faiss").write_bytes(b"\x00garbage" * 100)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    import hashlib

    manifest["files"]["index.faiss"] = {
        "sha256": hashlib.sha256(b"\x00garbage" * 100).hexdigest(),
        "bytes": 800,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CorruptIndexError, match=r"index\.faiss is not a readable FAISS index"):
        HybridIndex.load(folder)

    folder = _copy_index(saved_kb, tmp_path / "b")
    with (folder / "docstore.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"id": "extra"}\n')
    with pytest.raises(CorruptIndexError, match=r"docstore\.jsonl does not match manifest\.json"):
        HybridIndex.load(folder)

    folder = _copy_index(saved_kb, tmp_path / "c")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["counts"]["chunks"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(
        CorruptIndexError, match=r"manifest says \d+ chunks, index\.faiss has \d+, docstore\.jsonl has \d+"
    ):
        HybridIndex.load(folder)

    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptIndexError, match=r"manifest\.json is not valid JSON"):
        HybridIndex.load(folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(CorruptIndexError, match=r"not an index folder: manifest\.json is missing"):
        HybridIndex.load(folder)


def test_wrong_embedder_is_refused(saved_kb):
    with pytest.raises(
        EmbedderMismatchError,
        match=r"built with embedder 'hash-ngram' \(2048-d\), not 'BAAI/bge-small-zh-v1\.5'",
    ):
        HybridIndex.load(saved_kb, embedding="BAAI/bge-small-zh-v1.5")
    assert len(HybridIndex.load(saved_kb, embedding="hash")) > 0


def test_add_without_rebuild_keeps_old_vectors_and_stores_identical_chunks_once(tmp_path):
    index = HybridIndex.build([KB / "faq_zh.jsonl", KB / "hypertension_zh.md"])
    folder = index.save(tmp_path / "idx")
    before = index.vectorstore.index.reconstruct_n(0, len(index))
    loaded = HybridIndex.load(folder)
    assert "衣原体" not in loaded.search("衣原体感染怎么治疗", k=1)[0].text

    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps(
            {
                "问": "衣原体感染怎么治疗？",
                "答": "衣原体感染一般需要在医生指导下规范使用抗生素，性伴侣应同时检查和治疗。",
            },
            ensure_ascii=False,
        )
        + "\n"
        + (KB / "faq_zh.jsonl").read_text(encoding="utf-8").splitlines()[0]
        + "\n",  # already indexed
        encoding="utf-8",
    )
    report = loaded.add_files([extra])
    assert (report.added, report.duplicates) == (1, 1)
    assert len(loaded) == len(index) + 1
    np.testing.assert_array_equal(loaded.vectorstore.index.reconstruct_n(0, len(index)), before)
    assert "衣原体" in loaded.search("衣原体感染怎么治疗", k=1)[0].text

    again = loaded.add_files([extra, KB / "faq_zh.jsonl"])
    assert (again.added, again.duplicates) == (0, 10)
    loaded.save(folder)
    assert len(HybridIndex.load(folder)) == len(index) + 1


def test_session_copy_leaves_the_original_and_its_folder_untouched(kb_index, saved_kb, tmp_path):
    files_before = {p.name: p.read_bytes() for p in saved_kb.iterdir()}
    original = HybridIndex.load(saved_kb)
    baseline = original.search("衣原体感染怎么治疗", k=3)
    session = original.copy()
    assert session.search("衣原体感染怎么治疗", k=3) == baseline  # shares everything until it changes
    upload = tmp_path / "upload.md"
    upload.write_text("衣原体感染需要在医生指导下规范使用抗生素治疗，性伴侣也要同时检查。", encoding="utf-8")
    assert session.add_files([upload]).added == 1
    assert session.search("衣原体感染怎么治疗", k=1)[0].source == "upload.md"
    assert len(session) == len(original) + 1
    assert original.search("衣原体感染怎么治疗", k=3) == baseline
    assert original.vectorstore.index.ntotal == len(original)
    assert {p.name: p.read_bytes() for p in saved_kb.iterdir()} == files_before


def test_save_is_atomic_and_refuses_to_replace_other_folders(kb_index, tmp_path, monkeypatch):
    folder = kb_index.save(tmp_path / "idx")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", crash)
    bigger = kb_index.copy()
    bigger.add_documents([Document(page_content="新增的一段文字。", metadata={"source": "x"})])
    with pytest.raises(OSError, match="disk full"):
        bigger.save(folder)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # old index intact
    assert len(HybridIndex.load(folder)) == len(kb_index)
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # temp folder cleaned up

    documents = tmp_path / "my_documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("important", encoding="utf-8")
    with pytest.raises(
        RetrievalIndexError,
        match="refusing to overwrite .*my_documents: it exists and is not an index folder",
    ):
        kb_index.save(documents)
    assert (documents / "thesis.txt").read_text(encoding="utf-8") == "important"
    with pytest.raises(RetrievalIndexError, match="the index is empty"):
        HybridIndex().save(tmp_path / "empty")


def test_default_index_dir_builds_once_from_the_sample_kb():
    from retrieval import default_index_dir

    folder = default_index_dir(progress=False)
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    assert default_index_dir(progress=False) == folder
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp  # not rebuilt
    index = HybridIndex.load(folder)
    assert {r["meta"]["file"] for r in index.records} >= {
        "kb/hypertension_zh.md",
        "kb/faq_en.jsonl",
        "kb/burns_first_aid_en.pdf",
    }


def test_cli_build_query_add_and_errors(tmp_path, capsys):
    from retrieval.__main__ import main

    out = tmp_path / "cli_idx"
    assert (
        main(
            [
                "build",
                "--docs",
                str(KB / "faq_en.jsonl"),
                str(KB / "medicines_en.csv"),
                "--out",
                str(out),
                "--index-type",
                "hnsw",
            ]
        )
        == 0
    )
    capsys.readouterr()
    for mode in ("hybrid", "bm25", "dense"):
        assert (
            main(
                ["query", "--index", str(out), "--k", "2", "--mode", mode, "how long should I wash my hands"]
            )
            == 0
        )
        rows = json.loads(capsys.readouterr().out)
        assert set(rows[0]) >= {"rank", "score", "source", "text"} and rows[0]["rank"] == 1
        assert rows[0]["source"] == "faq_en.jsonl, line 5"

    assert main(["add", "--index", str(out), "--docs", str(KB / "type2_diabetes_en.md")]) == 0
    assert "added" in capsys.readouterr().err
    assert main(["query", "--index", str(out), "--k", "1", "what is a normal HbA1c target"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["source"] == "type2_diabetes_en.md"

    assert main(["query", "--index", str(out), "--embedding", "some/other-model", "x"]) == 2
    assert "built with embedder 'hash-ngram'" in capsys.readouterr().err
    assert main(["build", "--docs", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "nope: no such file or folder" in capsys.readouterr().err
    assert main(["info", "--index", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["chunks"] == len(HybridIndex.load(out)) > 8
