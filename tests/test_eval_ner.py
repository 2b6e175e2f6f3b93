"""NER evaluation: CMeEE span conventions (inclusive end_idx, exclusive start/end) detected and checked,
malformed files named by file and line, reply parsing, and strict/lenient scoring edge cases
(nested/overlapping entities, empty predictions, unparseable output, texts not in the passage)."""

import json

import pytest
from conftest import REPO
from test_eval_support import evaluate

from evaluation import ner
from evaluation.data import DataError
from evaluation.ner import Prediction, Span

ZH = REPO / "data" / "samples" / "eval" / "ner_cmeee_sample.json"
EN = REPO / "data" / "samples" / "eval" / "ner_en_sample.jsonl"
TYPES = list(ner.CMEEE_TYPES)


def test_span_conventions_are_detected_and_checked(tmp_path):
    docs, convention = ner.read_docs(ZH)
    assert convention == "inclusive" and len(docs) == 10
    first = docs[0]
    assert all(first.text[s.start : s.end] for s in first.gold)
    assert ("咳嗽", "sym") in {(first.text[s.start : s.end], s.type) for s in first.gold}
    nested = docs[6]  # 肺 inside 肺内炎性病变, 肺部 inside 肺部听诊
    spans = {(s.start, s.end, s.type) for s in nested.gold}
    assert (0, 1, "bod") in spans and (0, 6, "sym") in spans
    assert docs[7].gold == []  # a passage without entities
    en_docs, en_convention = ner.read_docs(EN)
    assert en_convention == "exclusive"
    assert {en_docs[0].text[s.start : s.end] for s in en_docs[0].gold} == {
        "Metformin",
        "type 2 diabetes",
        "HbA1c",
    }
    # the wrong convention, stated explicitly, is caught against the entity text, with its line
    with pytest.raises(
        DataError, match=r"ner_en_sample\.jsonl:1: text\[0:10\] is 'Metformin ' but the entity is"
    ):
        ner.read_docs(EN, "inclusive")
    # without entity texts the key names decide: start_idx/end_idx (CMeEE) inclusive, start/end exclusive
    bare = tmp_path / "bare.jsonl"
    bare.write_text(
        json.dumps({"text": "发热三天", "entities": [{"start_idx": 0, "end_idx": 1, "type": "sym"}]}) + "\n",
        encoding="utf-8",
    )
    docs, convention = ner.read_docs(bare)
    assert convention == "inclusive" and docs[0].gold == [Span(0, 2, "sym")]


def test_malformed_ner_files_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        '[\n  {"text": "发热", "entities": []},\n  {"text": "咳嗽", "entities": [}\n]', encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"bad\.json:3: invalid JSON"):
        ner.read_docs(bad)
    bad.write_text('[\n  {"text": "发热", "entities": []},\n\n  {"entities": []}\n]', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.json:4: missing or empty field 'text'"):
        ner.read_docs(bad)
    bad.write_text(
        '[{"text": "发热", "entities": [{"start_idx": 0, "end_idx": 9, "type": "sym"}]}]', encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"bad\.json:1: span 0-10 \(inclusive end\) lies outside"):
        ner.read_docs(bad)
    bad.write_text('[{"text": "发热", "entities": [{"start_idx": "x", "type": "sym"}]}]', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.json:1: entity .* needs integer start_idx"):
        ner.read_docs(bad)


@pytest.mark.parametrize(
    "reply, pairs, status",
    [
        ("dis: 糖尿病\nsym：多饮", [("dis", "糖尿病"), ("sym", "多饮")], "ok"),
        (
            "以下是抽取结果：\n- 疾病: 糖尿病\n1. 药物: “二甲双胍”",
            [("dis", "糖尿病"), ("dru", "二甲双胍")],
            "ok",
        ),
        ('[{"type": "dis", "entity": "糖尿病"}]', [("dis", "糖尿病")], "ok"),
        ("dis: 糖尿病、高血压", [("dis", "糖尿病"), ("dis", "高血压")], "ok"),
        ("无", [], "empty"),
        ("none", [], "empty"),
        ("[]", [], "empty"),
        ("", [], "unparseable"),
        ("这段文字讲的是糖尿病的治疗。", [], "unparseable"),
        ("注意: 仅供参考", [], "unparseable"),
    ],
)
def test_parse_reply(reply, pairs, status):
    assert ner.parse_reply(reply, TYPES, "糖尿病患者多饮，服用二甲双胍，合并高血压。") == (pairs, status)


def test_scoring_edge_cases():
    text = "肺内炎性病变吸收后复查胸片，肺部听诊未闻及啰音。"
    gold = [
        Span(0, 1, "bod"),
        Span(0, 6, "sym"),
        Span(11, 13, "pro"),
        Span(14, 16, "bod"),
        Span(14, 18, "pro"),
    ]
    doc = ner.Doc("d", text, gold, "zh", "x:1")
    # a perfect reply, nested entities included, scores 1
    perfect = ner.predict("bod: 肺\nsym: 肺内炎性病变\npro: 胸片\nbod: 肺部\npro: 肺部听诊", doc, TYPES)
    assert ner.score([gold], [perfect])["micro"]["strict"]["f1"] == 1.0
    # "肺" occurs twice; with "肺部" also predicted it is placed at the other occurrence only
    assert {(s.start, s.end) for s in perfect.spans if s.end - s.start == 1} == {(0, 1)}
    alone = ner.predict("bod: 肺", doc, TYPES)  # on its own it is placed at both: one is not gold
    assert {(s.start, s.end) for s in alone.spans} == {(0, 1), (14, 15)}
    assert ner.score([gold], [alone])["micro"]["strict"]["precision"] == 0.5
    # lenient: an overlapping span of the right type counts, of the wrong type does not
    partial = ner.predict("sym: 炎性病变\ndis: 肺部听诊", doc, TYPES)
    s = ner.score([gold], [partial])
    assert s["micro"]["strict"]["f1"] == 0.0
    assert s["per_type"]["sym"]["lenient"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "n_pred": 1,
        "n_gold": 1,
    }
    assert (
        s["per_type"]["dis"]["lenient"]["precision"] == 0.0
        and s["per_type"]["pro"]["lenient"]["recall"] == 0.0
    )
    # empty predictions: nothing found, precision defined as 0, recall 0
    empty = ner.predict("无", doc, TYPES)
    assert empty.status == "empty"
    assert ner.score([gold], [empty])["micro"]["strict"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "n_pred": 0,
        "n_gold": 5,
    }
    # unparseable output: counted, scored as no predictions
    garbled = ner.predict("我认为这段话描述了肺部的情况。", doc, TYPES)
    assert garbled.status == "unparseable" and not garbled.spans
    # a text that is not in the passage is a false positive, kept aside as not_in_text
    invented = ner.predict("sym: 肺内炎性病变\ndis: 肺结核", doc, TYPES)
    assert invented.not_in_text == [("dis", "肺结核")]
    m = ner.score([gold], [invented])["micro"]["strict"]
    assert (m["n_pred"], m["precision"], m["recall"]) == (2, 0.5, 0.2)
    # micro over documents: a doc with no gold and no prediction changes nothing
    none_doc = ner.score([gold, []], [perfect, Prediction(status="empty")])["micro"]["strict"]
    assert none_doc == ner.score([gold], [perfect])["micro"]["strict"]


def test_ner_run_on_tiny_model_counts_every_reply(tiny_model_dir, tmp_path):
    out = tmp_path / "ner"
    res = evaluate(
        "ner",
        *f"--model {tiny_model_dir} --data {ZH} --out {out} --max-new-tokens 12 --batch-size 10".split(),
    )
    replies = res["replies"]
    assert replies["ok"] + replies["empty"] + replies["unparseable"] == 10
    assert res["span_end"] == "inclusive" and set(res["types"]) == {
        "sym",
        "pro",
        "bod",
        "dis",
        "mic",
        "dru",
        "ite",
        "dep",
        "equ",
    }
    assert 0.0 <= res["summary"]["strict_f1"]["value"] <= res["summary"]["lenient_f1"]["value"] <= 1.0
    items = [json.loads(x) for x in (out / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(items) == 10 and items[0]["gold"][0][3] == "咳嗽"
    assert "## Per type" in (out / "report.md").read_text(encoding="utf-8") and (out / "f1.png").exists()
