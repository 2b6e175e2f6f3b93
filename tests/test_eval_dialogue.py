"""Dialogue evaluation: reference conversations (messages and ShareGPT forms) with errors naming file and
line, one evaluation turn per assistant reply with the reference history, and the metrics (BLEU, ROUGE-L
and chrF at character level for Chinese, distinct-n) checked on cases with known values."""

import json

import pytest
from conftest import REPO
from test_eval_support import ScriptedEndpoint, evaluate

from evaluation import dialogue
from evaluation.__main__ import main
from evaluation.data import DataError

SAMPLE = REPO / "data" / "samples" / "eval" / "dialogues_sample.jsonl"


def test_reads_both_formats_and_builds_turns(tmp_path):
    dialogues = dialogue.read_dialogues(SAMPLE)
    assert len(dialogues) == 6 and [d["lang"] for d in dialogues].count("en") == 2
    turns = dialogue.turns(dialogues)
    assert len(turns) == 10  # every assistant reply that follows a user turn
    second = turns[1]
    assert [m["role"] for m in second["history"]] == ["user", "assistant", "user"]
    assert second["reference"].startswith("一般不建议常规交替使用")
    with_system = next(t for t in turns if t["dialogue"] == "zh-cough")
    assert with_system["history"][0]["role"] == "system"
    sharegpt = tmp_path / "sg.jsonl"
    sharegpt.write_text(
        json.dumps(
            {
                "conversations": [
                    {"from": "human", "value": "头痛怎么办？"},
                    {"from": "gpt", "value": "注意休息。"},
                ]
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    assert dialogue.turns(dialogue.read_dialogues(sharegpt))[0]["reference"] == "注意休息。"


@pytest.mark.parametrize(
    "record, message",
    [
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            "two user turns",
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]},
            "turn 2 needs a role",
        ),
        ({"messages": [{"role": "user", "content": "only a question"}]}, "no assistant turn"),
        ({"text": "no conversation"}, "expected 'messages'"),
    ],
)
def test_malformed_dialogues_name_file_and_line(tmp_path, record, message):
    path = tmp_path / "d.jsonl"
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"d\.jsonl:3: .*{message}"):
        dialogue.read_dialogues(path)


def test_metrics_on_known_cases():
    same = dialogue.metrics(["多喝水，注意休息。"], ["多喝水，注意休息。"], "zh")
    assert same["bleu4"]["value"] == pytest.approx(100) and same["chrf"]["value"] == pytest.approx(100)
    assert same["rougeL"]["value"] == pytest.approx(100)
    # character-level ROUGE-L: LCS("我头痛", "我头很痛") = 3, P = 3/3, R = 3/4
    m = dialogue.metrics(["我头痛"], ["我头很痛"], "zh")
    assert m["rougeL"]["value"] == pytest.approx(100 * 2 * 0.75 / 1.75)
    assert m["bleu1"]["value"] > 0 and m["bleu1"]["value"] > m["bleu4"]["value"]
    # nothing in common scores 0 (Chinese is not dropped by a whitespace/ASCII tokenizer)
    assert dialogue.metrics(["发热"], ["咳嗽"], "zh")["rougeL"]["value"] == 0.0
    assert (
        dialogue.distinct(["好好好好"], "zh", 1) == 0.25 and dialogue.distinct(["好好好好"], "zh", 2) == 1 / 3
    )
    assert dialogue.distinct(["the cat the cat"], "en", 2) == 2 / 3
    assert dialogue.distinct([""], "zh", 1) is None
    en = dialogue.metrics(["Rest and drink water."], ["Drink water and rest."], "en")
    assert en["rougeL"]["value"] == pytest.approx(50.0)  # LCS 2 of 4 words each way
    assert dialogue.metrics(["", "x"], ["a", "b"], "en")["empty_replies"]["value"] == 1


def test_dialogue_run_on_tiny_model(tiny_model_dir, tmp_path):
    out = tmp_path / "dlg"
    res = evaluate(
        "dialogue",
        *f"--model {tiny_model_dir} --data {SAMPLE} --out {out} --max-new-tokens 12 --batch-size 10".split(),
    )
    assert set(res["by_language"]) == {"zh", "en"}
    assert res["by_language"]["zh"]["bleu4"]["n"] == 7 and res["by_language"]["en"]["bleu4"]["n"] == 3
    rows = [json.loads(x) for x in (out / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 10 and all("reply" in r and r["reference"] for r in rows)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| bleu4 |" in report and "published numbers, not measured" in report


def test_interrupted_run_resumes_without_losing_replies(tmp_path):
    """An endpoint that fails part-way: the replies already received are kept in generations.jsonl,
    and running the same command again asks only for the missing ones."""
    out = tmp_path / "resume"
    argv = [
        "dialogue",
        "--api-model",
        "scripted",
        "--data",
        str(SAMPLE),
        "--out",
        str(out),
        "--concurrency",
        "1",
    ]
    with ScriptedEndpoint(lambda messages: None if len(ep.requests) > 4 else "回复") as ep:
        assert main([*argv, "--base-url", ep.base_url]) == 2  # a clear error, exit status 2
    assert len((out / "generations.jsonl").read_text(encoding="utf-8").splitlines()) == 4
    with ScriptedEndpoint(lambda messages: "回复") as ep2:
        res = evaluate(*argv, "--base-url", ep2.base_url)
        assert len(ep2.requests) == 10 - 4
    assert res["by_language"]["zh"]["bleu4"]["n"] == 7
