"""Judged free-form evaluation: verdict parsing, the both-order aggregation checked deterministically
through a real local HTTP judge (ScriptedEndpoint, the documented test double for the judge LLM) with
known verdicts, and the whole flow against our real server (model/server.py) serving the tiny model,
whose random verdicts must be counted as unparseable."""

import json

import pytest
from conftest import REPO
from test_eval_support import ScriptedEndpoint, evaluate

from evaluation import judge
from evaluation.__main__ import main
from evaluation.data import DataError

INSTRUCTIONS = REPO / "data" / "samples" / "eval" / "judge_instructions_sample.jsonl"
REFERENCES = REPO / "data" / "samples" / "eval" / "judge_reference_sample.jsonl"


@pytest.mark.parametrize(
    "text, verdict",
    [
        ("Response 1 is more accurate.\nVerdict: 1", "1"),
        ("[[2]]", "2"),
        ("**Verdict:** tie", "tie"),
        ("Verdict: Response 2", "2"),
        ("verdict: TIE", "tie"),
        ("结论：回答1", "1"),
        ("结论：平局", "tie"),
        ("At first I thought Verdict: 1, but on reflection... Verdict: 2", "2"),
        ("Response 2 is better overall.", "2"),
        ("Both answers have merits.", None),
        ("", None),
        ("Response 1 is better in tone, response 2 is better in accuracy.", None),
    ],
)
def test_parse_verdict(text, verdict):
    assert judge.parse_verdict(text) == verdict


def test_both_orders_are_combined():
    # verdict "1" while the model's answer was shown first is a win, shown second a loss
    assert judge.outcome("1", model_first=True) == "win" and judge.outcome("1", model_first=False) == "loss"
    assert judge.outcome("tie", True) == "tie" and judge.outcome(None, True) is None
    assert judge.combine("win", "win") == "win" and judge.combine("win", "tie") == "win"
    assert judge.combine("win", "loss") == "tie"  # position bias cancels
    assert judge.combine("loss", "tie") == "loss" and judge.combine("tie", "tie") == "tie"
    assert judge.combine("win", None) == "unparseable"


def _sections(prompt: str) -> tuple[str, str]:
    first = prompt.split("[Response 1]\n", 1)[1].split("\n\n[Response 2]\n", 1)[0]
    second = prompt.split("[Response 2]\n", 1)[1].split("\n\nExplain your reasoning", 1)[0]
    return first, second


def scripted(messages) -> str:
    """The model under test answers plainly; the judge prefers a response marked <good> over an unmarked
    one over a <bad> one, says nothing usable about <garble>, and always picks the first for <first>."""
    if messages[0]["content"] != judge.JUDGE_SYSTEM:
        return "A plain answer from the model under test."
    prompt = messages[-1]["content"]
    if "<garble>" in prompt:
        return "Both answers have merits."
    if "<first>" in prompt:
        return "Verdict: 1"
    a, b = (("<good>" in r) - ("<bad>" in r) for r in _sections(prompt))
    verdict = "1" if a > b else "2" if b > a else "tie"
    return [f"Reasoning.\nVerdict: {verdict}", f"[[{verdict}]]", f"**Verdict:** {verdict}"][len(prompt) % 3]


def test_judge_flow_with_fixed_verdicts(tmp_path):
    marks = {
        "j01": "<good>",
        "j02": "<good>",
        "j03": "<good>",
        "j04": "<bad>",
        "j05": "<bad>",
        "j09": "<garble>",
        "j10": "<first>",
    }
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        "".join(
            json.dumps({"id": f"j{i:02d}", "output": f"{marks.get(f'j{i:02d}', '')} reference"}) + "\n"
            for i in range(1, 11)
        ),
        encoding="utf-8",
    )
    with ScriptedEndpoint(scripted) as ep:
        res = evaluate(
            "judge",
            *f"--base-url {ep.base_url} --api-model scripted --data {INSTRUCTIONS} --reference {refs}".split(),
            *f"--judge-base-url {ep.base_url} --judge-api-model judge --out {tmp_path / 'run'}".split(),
            "--judge-api-key=sk-test-secret",
        )
        judged = [m for m in ep.requests if m[0]["content"] == judge.JUDGE_SYSTEM]
    overall = res["overall"]
    assert (overall["decided"], overall["unparseable"]) == (9, 1)
    assert [overall[k]["value"] for k in ("win", "tie", "loss")] == pytest.approx([2 / 9, 4 / 9, 3 / 9])
    assert overall["score"]["value"] == pytest.approx((2 + 0.5 * 4) / 9)
    by = res["by_difficulty"]
    assert by["1"]["win"]["value"] == 0.5 and by["4"]["loss"]["value"] == 1.0
    assert (by["2"]["decided"], by["2"]["unparseable"]) == (3, 1)
    assert res["position"] == {"consistent": pytest.approx(8 / 9), "first_preferred": pytest.approx(7 / 12)}
    # both orders were put to the judge for every instruction (requests arrive concurrently, in any order)
    shown = [(m[-1]["content"].split("[Response 1]")[0], _sections(m[-1]["content"])) for m in judged]
    assert len(shown) == 20 and all((task, pair[::-1]) in shown for task, pair in shown)
    items = {i["id"]: i for i in map(json.loads, (tmp_path / "run" / "items.jsonl").read_text().splitlines())}
    assert items["j10"]["outcomes"] == ["win", "loss"] and items["j10"]["result"] == "tie"
    assert items["j09"]["result"] == "unparseable" and items["j04"]["result"] == "win"
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "unparseable (a verdict missing in either order): 1" in report
    assert (
        "sk-test-secret" not in report + (tmp_path / "run" / "results.json").read_text(encoding="utf-8")
        and "## Per difficulty" in report
    )


def test_judge_flow_against_our_server(tiny_model_dir, tmp_path):
    """Model, reference model and judge all served by model/server.py with the tiny random model:
    its verdicts cannot be read, and every one is counted as unparseable rather than guessed."""
    from model.generate import LocalEngine
    from model.load import load_model
    from model.server import BackgroundServer, build_app

    app = build_app(LocalEngine(load_model(str(tiny_model_dir))), "tiny", api_key=None)
    with BackgroundServer(app) as srv:
        url = srv.url + "/v1"
        flags = f"--data {INSTRUCTIONS} --limit 2 --max-new-tokens 8 --judge-max-new-tokens 8"
        endpoints = f"--base-url {url} --reference-base-url {url} --judge-base-url {url}"
        names = "--api-model tiny --reference-api-model tiny --judge-api-model tiny"
        res = evaluate("judge", *f"{flags} {endpoints} {names} --out {tmp_path / 'srv'}".split())
    assert res["overall"]["unparseable"] == 2 and res["overall"]["decided"] == 0
    assert res["overall"]["win"]["value"] is None
    assert res["reference"] == f"tiny · OpenAI-compatible API at {url}"
    for name in ("generations.jsonl", "reference_generations.jsonl", "judge_generations.jsonl"):
        assert len((tmp_path / "srv" / name).read_text(encoding="utf-8").splitlines()) == (
            4 if "judge" in name else 2
        )


def test_reference_answers_must_match(tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text(json.dumps({"id": "j01", "output": "x"}) + "\n", encoding="utf-8")
    rows = judge.read_instructions(INSTRUCTIONS)
    with pytest.raises(
        DataError,
        match=r"no reference answer for the instruction at .*judge_instructions_sample"
        r"\.jsonl:2 \(id 'j02'\)",
    ):
        judge.read_references(refs, rows)
    assert judge.read_references(REFERENCES, rows)[0].startswith("糖化血红蛋白")
    bad = tmp_path / "instr.jsonl"
    bad.write_text('{"instruction": "a"}\n{"input": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"instr\.jsonl:2: missing or empty field 'instruction'"):
        judge.read_instructions(bad)
    with pytest.raises(SystemExit, match="one of the two"):
        main(
            [
                "judge",
                "--model",
                "m",
                "--data",
                str(INSTRUCTIONS),
                "--judge-base-url",
                "http://127.0.0.1:9/v1",
                "--judge-api-model",
                "j",
                "--out",
                str(tmp_path / "x"),
            ]
        )
