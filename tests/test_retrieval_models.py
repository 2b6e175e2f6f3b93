"""Neural embedders and the reranker through the real sentence-transformers code path, offline:
tiny BERT models (random weights, a character vocabulary) are saved locally and loaded by path.

Run: pytest tests/test_retrieval_models.py
"""

import json
import shutil
from itertools import pairwise

import numpy as np
import pytest
from conftest import REPO

from retrieval.embed import EmbedderError, load_embedder
from retrieval.index import EmbedderMismatchError, HybridIndex, RetrievalIndexError
from retrieval.search import Reranker

KB = REPO / "data" / "samples" / "kb"


def _tiny_bert(folder, hidden, texts, classifier=False):
    """Save a random BERT (hidden size ``hidden``) with a character WordPiece vocabulary."""
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for t in texts for c in t.lower() if not c.isspace()})
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8"
    )
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=512,
        num_labels=1,
    )
    model = BertForSequenceClassification(config) if classifier else BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def kb_texts():
    from retrieval.ingest import load_documents

    return [c.page_content for c in load_documents([KB])]


@pytest.fixture(scope="module")
def models(tmp_path_factory, kb_texts):
    root = tmp_path_factory.mktemp("st_models")
    return {
        "embed32": _tiny_bert(root / "embed32", 32, kb_texts),
        "embed16": _tiny_bert(root / "embed16", 16, kb_texts),
        "cross": _tiny_bert(root / "cross", 32, kb_texts, classifier=True),
    }


def test_sentence_transformers_embedder_builds_saves_and_loads(models, tmp_path):
    path = str(models["embed32"])
    index = HybridIndex.build([KB], embedding=path)
    assert index.embedder.dimension == 32
    vectors = index.vectorstore.index.reconstruct_n(0, len(index))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)  # normalised -> cosine
    folder = index.save(tmp_path / "st_idx")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"] == {"name": path, "dimension": 32}
    loaded = HybridIndex.load(folder)
    for mode in ("dense", "hybrid"):
        assert loaded.search("高血压饮食", k=4, mode=mode) == index.search("高血压饮食", k=4, mode=mode)
    with pytest.raises(
        EmbedderMismatchError, match=r"built with embedder '.*embed32' \(32-d\), not 'hash-ngram'"
    ):
        HybridIndex.load(folder, embedding="hash-ngram")

    # The model folder now holds another model: its vectors would not match the stored ones.
    shutil.rmtree(path)
    shutil.copytree(models["embed16"], path)
    with pytest.raises(EmbedderMismatchError, match=r"now gives 16-d vectors but the index holds 32-d ones"):
        HybridIndex.load(folder)
    shutil.rmtree(path)  # the model is gone altogether
    with pytest.raises(RetrievalIndexError, match=r"st_idx: cannot load embedding model '.*embed32'"):
        HybridIndex.load(folder)


def test_missing_model_is_a_clear_error():
    with pytest.raises(
        EmbedderError,
        match=r"(?s)cannot load embedding model 'no-such-org/no-such-model'.*pass a local folder",
    ):
        load_embedder("no-such-org/no-such-model")
    with pytest.raises(EmbedderError, match=r"cannot load reranker 'no-such-org/no-such-reranker'"):
        Reranker("no-such-org/no-such-reranker")


def test_cross_encoder_reranks_the_fused_candidates(models, capsys, tmp_path):
    from sentence_transformers import CrossEncoder

    index = HybridIndex.build([KB])
    reranker = Reranker(str(models["cross"]))
    query = "孩子发烧怎么办"
    hits = index.search(query, k=4, candidates=12, reranker=reranker)
    candidates = {h.chunk_id for h in index.search(query, k=12, candidates=12)}
    assert len(hits) == 4 and {h.chunk_id for h in hits} <= candidates
    # Scores are the cross-encoder's, computed independently here, and the order follows them.
    expected = CrossEncoder(str(models["cross"])).predict([(query, h.text) for h in hits])
    np.testing.assert_allclose([h.score for h in hits], expected, rtol=1e-4)
    assert all(a.score >= b.score for a, b in pairwise(hits))

    from retrieval.__main__ import main

    folder = index.save(tmp_path / "idx")
    assert main(["query", "--index", str(folder), "--k", "2", "--reranker", str(models["cross"]), query]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["chunk_id"] for r in rows] == [h.chunk_id for h in index.search(query, k=2, reranker=reranker)]
