"""MCQ evaluation on the real CMMLU dev files and data/samples/eval: a model built to prefer the gold
option scores 100% and one with uniform logits scores exactly chance, both through the real scoring
code (log-likelihood and generated letter); batched log-likelihood equals a one-by-one computation;
letter parsing; malformed files name file and line; few-shot prompts; compare."""

import json

import pytest
import torch
from conftest import REPO, SHARED_DATA
from test_eval_support import evaluate
from transformers import AutoModelForCausalLM, AutoTokenizer

from evaluation import mcq
from evaluation.__main__ import main
from evaluation.compare import load_run
from evaluation.data import DataError
from evaluation.loglik import continuation_logprobs, length_batches
from model.chat import render

CMMLU_DEV = SHARED_DATA / "cmmlu" / "dev"
MEDQA = REPO / "data" / "samples" / "eval" / "medqa_sample.jsonl"
MEDQA_DEV = REPO / "data" / "samples" / "eval" / "medqa_dev_sample.jsonl"


def _untied(model_dir):
    """The tiny model with its own output layer (editing it leaves the input embeddings alone)."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    return model, tok


@pytest.fixture(scope="module")
def gold_model_dir(tiny_model_dir, tmp_path_factory):
    """A tiny real Llama whose output rows for the letters A-E are solved (least squares on the final
    hidden state of each question's zero-shot chat prompt, computed one prompt at a time, unpadded) so
    that the gold letter's logit is 10 and the other letters' 0. 57 questions < 64 hidden dimensions,
    so an exact solution exists; the evaluation then recomputes everything batched and left-padded."""
    model, tok = _untied(tiny_model_dir)
    items = mcq.read_items(CMMLU_DEV) + mcq.read_items(MEDQA)
    letters = [tok(x, add_special_tokens=False)["input_ids"][0] for x in "ABCDE"]
    with torch.no_grad():
        hidden = torch.stack(
            [
                model.model(
                    input_ids=torch.tensor(
                        [tok(render(tok, mcq.conversation(i, [])), add_special_tokens=False)["input_ids"]]
                    )
                ).last_hidden_state[0, -1]
                for i in items
            ]
        ).double()  # (questions, hidden)
        target = torch.zeros(len(items), 5, dtype=torch.float64)
        target[torch.arange(len(items)), torch.tensor(["ABCDE".index(i.answer) for i in items])] = 10.0
        rows = torch.linalg.lstsq(hidden, target, driver="gelsd").solution.T  # (5, hidden)
        model.lm_head.weight[letters] = rows.float()
    out = tmp_path_factory.mktemp("gold_model")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def uniform_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with a zeroed output layer: every token gets logit 0 after any prompt."""
    model, tok = _untied(tiny_model_dir)
    with torch.no_grad():
        model.lm_head.weight.zero_()
    out = tmp_path_factory.mktemp("uniform_model")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.mark.needs_shared
def test_reads_cmmlu_csv_and_medqa_jsonl():
    items = mcq.read_items(CMMLU_DEV)
    assert len(items) == 45 and len({i.subject for i in items}) == 9
    assert {i.answer for i in items} <= set("ABCD") and all(len(i.options) == 4 for i in items)
    first = [i for i in items if i.subject == "anatomy"][0]
    assert first.question == "壁胸膜的分部不包括" and first.answer == "B" and first.options["B"] == "肺胸膜"
    assert first.lang == "zh" and first.source.endswith("anatomy.csv:2")
    medqa = mcq.read_items(MEDQA)
    assert len(medqa) == 12 and {len(i.options) for i in medqa} == {4, 5}
    assert {i.lang for i in medqa} == {"zh", "en"} and "pharmacology" in {i.subject for i in medqa}


def test_malformed_files_name_file_and_line(tmp_path):
    bad = tmp_path / "virology_dev.csv"
    bad.write_text(",Question,A,B,C,D,Answer\n0,q1,a,b,c,d,A\n1,q2,a,b,c,d,F\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"virology_dev\.csv:3: answer 'F' is not one of A, B, C, D"):
        mcq.read_items(bad)
    bad.write_text(',Question,A,B,C,D,Answer\n0,q1,a,b,c,d,A\n1,"q2\nsecond line",a,b,c\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"virology_dev\.csv:3: 5 columns, the header has 7"):
        mcq.read_items(bad)
    bad.write_text("Question,A,B\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"virology_dev\.csv:1: header .* needs question, answer"):
        mcq.read_items(bad)
    jl = tmp_path / "medqa.jsonl"
    good = json.dumps({"question": "q", "options": {"A": "x", "B": "y"}, "answer_idx": "A"})
    jl.write_text(good + "\n" + good + "\n{broken\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"medqa\.jsonl:3: invalid JSON"):
        mcq.read_items(jl)
    jl.write_text(
        good + "\n" + json.dumps({"question": "q", "options": {"A": "x", "B": "y"}, "answer": "z"}),
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"medqa\.jsonl:2: answer 'z' names no option"):
        mcq.read_items(jl)
    assert main(["mcq", "--model", "unused", "--data", str(jl), "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(DataError, match="file not found"):
        mcq.read_items(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("答案：B", "B"),
        ("答案是（C）。", "C"),
        ("正确答案为 D", "D"),
        ("我选A，因为……", "A"),
        ("B.", "B"),
        ("(B) 肺胸膜", "B"),
        ("Ｃ", "C"),
        ("The answer is (B).", "B"),
        ("Answer: D", "D"),
        ("B is correct because the pleura ...", "B"),
        ("答案：B，而不是C", "B"),
        ("肺胸膜", "B"),
        ("A deficiency of iron", None),
        ("A或B", None),
        ("", None),
        ("我不知道", None),
        ("E", None),
    ],
)
def test_parse_letter(reply, expected):
    options = {"A": "肋胸膜", "B": "肺胸膜", "C": "膈胸膜", "D": "胸膜顶"}
    assert mcq.parse_letter(reply, options) == expected


def test_batched_loglik_equals_one_by_one(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    pairs = [("以下是一道单项选择题。\n答案：", x) for x in "ABCD"]
    pairs += [
        ("高血压患者饮食要注意什么？", "少盐"),
        ("Question: which drug?\nAnswer:", " Metformin"),
        ("短", "很长的一个续写，跨越好几个词元"),
        ("以下是一道单项选择题。\n答案：", "二甲双胍"),
    ]
    batched = continuation_logprobs(model, tok, pairs, batch_size=8)
    single = continuation_logprobs(model, tok, pairs, batch_size=1)
    # independent reference: one unpadded forward pass over context + continuation per pair
    reference = []
    with torch.no_grad():
        for ctx, cont in pairs:
            c = tok(ctx, add_special_tokens=False)["input_ids"]
            w = tok(ctx + cont, add_special_tokens=False)["input_ids"]
            logp = torch.log_softmax(model(input_ids=torch.tensor([w])).logits[0], -1)
            reference.append(sum(float(logp[p - 1, w[p]]) for p in range(len(c), len(w))))
    assert batched == pytest.approx(reference, abs=1e-4)
    assert single == pytest.approx(reference, abs=1e-4)
    assert len(set(round(x, 3) for x in batched)) > 4  # a random model does not tie these


def test_length_batches_bound_padding():
    rows = [tuple(range(n)) for n in (10, 9, 8, 5, 5, 5, 4, 1)]
    assert [[len(r) for r in b] for b in length_batches(rows, 3)] == [[10, 9, 8], [5, 5, 5], [4], [1]]


@pytest.mark.needs_shared
def test_gold_preferring_model_scores_100_percent(gold_model_dir, tmp_path):
    for data in (CMMLU_DEV, MEDQA):
        out = tmp_path / data.stem
        res = evaluate(
            "mcq", *f"--model {gold_model_dir} --data {data} --out {out} --max-new-tokens 1".split()
        )
        assert res["summary"]["accuracy_loglik"]["value"] == 1.0
        assert res["summary"]["accuracy_generated"]["value"] == 1.0
        assert all(t["loglik"]["value"] == 1.0 and t["tied"] == 0 for t in res["subjects"])
        assert (out / "accuracy.png").stat().st_size > 1000
        report = (out / "report.md").read_text(encoding="utf-8")
        assert "| accuracy (loglik) | 1.000" in report and "published numbers, not measured" in report


@pytest.mark.needs_shared
def test_uniform_logits_score_exactly_chance(uniform_model_dir, tmp_path):
    out = tmp_path / "uniform"
    res = evaluate(
        "mcq", *f"--model {uniform_model_dir} --data {CMMLU_DEV} --out {out} --max-new-tokens 1".split()
    )
    # every option ties, so each item earns 1/4 credit: exactly the chance rate, never a lucky guess
    assert res["summary"]["accuracy_loglik"]["value"] == pytest.approx(0.25, abs=1e-12)
    assert res["summary"]["chance"]["value"] == 0.25
    assert sum(t["tied"] for t in res["subjects"]) == 45
    # greedy decoding of all-zero logits gives no letter: unparseable, scored wrong, not guessed
    assert res["summary"]["accuracy_generated"]["value"] == 0.0
    assert sum(t["unparseable"] for t in res["subjects"]) == 45
    items = [json.loads(x) for x in (out / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(i["loglik_pred"] is None and i["generated_pred"] is None for i in items)
    # mixed 4- and 5-option questions, completion prompts: chance is the mean of 1/options
    res = evaluate(
        "mcq",
        *f"--model {uniform_model_dir} --data {MEDQA} --out {tmp_path / 'plain'}".split(),
        *"--scoring loglik --prompt-format plain".split(),
    )
    assert res["summary"]["chance"]["value"] == pytest.approx((10 / 4 + 2 / 5) / 12)
    assert res["summary"]["accuracy_loglik"]["value"] == pytest.approx(res["summary"]["chance"]["value"])


@pytest.mark.needs_shared
def test_few_shot_prompts_use_same_subject_dev_questions(uniform_model_dir, tmp_path):
    items = mcq.read_items(MEDQA)
    dev = mcq.read_items(MEDQA_DEV)
    shots = mcq.pick_shots(items, dev, 2, MEDQA_DEV)
    target = next(i for i in items if i.subject == "pharmacology")
    assert [s.subject for s in shots[target.id]] == ["pharmacology"]  # only one pharmacology dev item
    conv = mcq.conversation(target, shots[target.id])
    assert [m["role"] for m in conv] == ["user", "assistant", "user"] and conv[1]["content"] == "B"
    assert "Naloxone" in conv[0]["content"] and target.question in conv[-1]["content"]
    plain = mcq.plain_prompt(target, shots[target.id])
    assert plain.endswith("Answer:") and "Answer: B\n" in plain
    # evaluating the dev set with itself as shots never shows a question its own answer
    dev_shots = mcq.pick_shots(dev, dev, 5, MEDQA_DEV)
    assert all(d.question not in [s.question for s in dev_shots[d.id]] for d in dev)
    with pytest.raises(DataError, match="no dev questions for subject"):
        mcq.pick_shots(items, mcq.read_items(CMMLU_DEV), 2, CMMLU_DEV)
    res = evaluate(
        "mcq",
        *f"--model {uniform_model_dir} --data {MEDQA} --dev {MEDQA_DEV} --shots 2".split(),
        *f"--scoring loglik --out {tmp_path / 'fewshot'}".split(),
    )
    assert res["shots"] == 2


@pytest.mark.needs_shared
def test_compare_runs(gold_model_dir, uniform_model_dir, tmp_path):
    for name, model in (("gold", gold_model_dir), ("uniform", uniform_model_dir)):
        evaluate(
            "mcq",
            *f"--model {model} --data {MEDQA} --scoring loglik --name {name} --out {tmp_path / name}".split(),
        )
    assert (
        main(["compare", str(tmp_path / "gold"), str(tmp_path / "uniform"), "--out", str(tmp_path / "cmp")])
        == 0
    )
    text = (tmp_path / "cmp" / "comparison.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| accuracy_loglik |"))
    assert row.startswith("| accuracy_loglik | 1.000 [") and "| 0.242 [" in row
    assert (tmp_path / "cmp" / "comparison-mcq.png").stat().st_size > 1000
    with pytest.raises(DataError, match="no results.json"):
        load_run(tmp_path)


def test_chinese_plot_labels_warn_when_no_cjk_font_is_installed(tmp_path, caplog):
    from evaluation import report

    report._warn_no_cjk_font.cache_clear()
    labels = ["临床医学", "clinical_knowledge"]
    metric = {"value": 0.5, "low": 0.3, "high": 0.7}
    with caplog.at_level("WARNING", logger="medchat.evaluation"):
        for name in ("zh.png", "zh2.png"):
            report.bar_chart(tmp_path / name, labels, {"run": [metric, metric]}, "Accuracy", "accuracy")
    warned = [r for r in caplog.records if "no CJK font found" in r.getMessage()]
    if report._cjk_fonts():  # this machine has one: it is used, no warning
        assert not warned
    else:  # boxes instead of characters: said once, with the fix
        assert len(warned) == 1 and "fonts-noto-cjk" in warned[0].getMessage()
    assert (tmp_path / "zh.png").stat().st_size > 1000
