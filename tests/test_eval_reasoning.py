"""Evaluating reasoning models (issue 14 item 6): answers scored after the reasoning, letter extraction
in Chinese and English, unparseable replies counted and never guessed, the CMB / CMExam / MedMCQA /
PubMedQA readers, and HuatuoGPT-o1's published rows labelled in the report."""

import json

import pytest
from test_eval_support import ScriptedEndpoint, evaluate

from evaluation.answers import final_answer
from evaluation.data import DataError
from evaluation.exams import read_items
from evaluation.mcq import parse_letter

OPTIONS = {"A": "阿司匹林", "B": "布洛芬", "C": "对乙酰氨基酚", "D": "吗啡"}


@pytest.mark.parametrize(
    "reply, answer",
    [
        ("<think>选A还是B？我倾向B</think>答案是C", "答案是C"),  # letters in the reasoning do not count
        ("先排除A。</think>The answer is (D).", "The answer is (D)."),  # the prompt opened <think>
        ("<think>still weighing A against B", None),  # stopped while reasoning
        ("## Thinking\nA 或 B？\n## Final Response\n答案：B", "答案：B"),  # HuatuoGPT-o1's format
        ("## Thinking\nA looks right, but", None),
        ("<think>x</think><answer>B</answer>", "B"),
        ("<think>x</think>   ", None),
        ("  B  ", "B"),
    ],
)
def test_final_answer_after_reasoning(reply, answer):
    assert final_answer(reply) == answer


@pytest.mark.parametrize(
    "text, letter",
    [
        ("答案是B", "B"),
        ("正确答案为：D", "D"),
        ("选C", "C"),
        ("我选择 A", "A"),
        ("答案：选项D", "D"),
        ("（C）", "C"),
        ("the answer is (C)", "C"),
        ("Answer: **B**", "B"),
        ("So the answer should be D", "D"),
        ("The correct option is C.", "C"),
        ("\\boxed{C}", "C"),
        ("B. 布洛芬", "B"),
        ("A or B, not sure", None),  # several letters: unparseable, never a guess
        ("A deficiency of iron", None),  # the English article is no answer
        ("我不确定", None),
    ],
)
def test_letter_extraction_phrasings(text, letter):
    assert parse_letter(text, OPTIONS) == letter


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cmb_reader_skips_multi_answer_questions(tmp_path, caplog):
    cmb = write_jsonl(
        tmp_path / "cmb_val.jsonl",
        [
            {"exam_type": "医师考试", "exam_class": "执业医师", "exam_subject": "临床执业医师",
             "question": "治疗高血压的首选药物之一是", "answer": "B", "question_type": "单项选择题",
             "option": {"A": "吗啡", "B": "氨氯地平", "C": "阿托品", "D": "地西泮", "E": "肾上腺素"}},
            {"exam_type": "医师考试", "exam_subject": "临床执业医师", "question": "属于β受体阻滞剂的是",
             "answer": "AC", "question_type": "多项选择题",
             "option": {"A": "美托洛尔", "B": "硝苯地平", "C": "比索洛尔", "D": "呋塞米"}},
        ],
    )  # fmt: skip
    items = read_items(cmb)
    assert [(i.benchmark, i.answer, i.subject, len(i.options), i.lang) for i in items] == [
        ("cmb", "B", "临床执业医师", 5, "zh")
    ]
    assert "1 questions with several correct options left out" in caplog.text
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"question": "q", "answer": "F", "option": {"A": "x", "B": "y"}}]
    )
    with pytest.raises(DataError, match=r"bad\.jsonl:1: answer 'F' names no option"):
        read_items(bad)


def test_cmexam_csv_reader(tmp_path):
    path = tmp_path / "cmexam_test.csv"
    path.write_text(
        "Question,Options,Answer,Explanation\n"
        '糖尿病酮症酸中毒首选的治疗是,"A 大剂量胰岛素\nB. 小剂量胰岛素静脉滴注\nC、口服降糖药\nD 限制饮水",B,小剂量\n'
        '下列属于抗凝药的是,"A 华法林\nB 肝素\nC 阿莫西林",AB,两者\n',
        encoding="utf-8",
    )
    (item,) = read_items(path)
    assert item.benchmark == "cmexam" and item.answer == "B"
    assert item.options == {
        "A": "大剂量胰岛素",
        "B": "小剂量胰岛素静脉滴注",
        "C": "口服降糖药",
        "D": "限制饮水",
    }
    path.write_text('Question,Options,Answer\nq,"A x\nsecond line without a letter",A\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"cmexam_test\.csv:2: option line 'second line without a letter'"):
        read_items(path)


def medmcqa(cop: int, **extra) -> dict:
    return {"id": f"q{cop}", "question": "Drug of choice for absence seizures?", "opa": "Phenytoin",
            "opb": "Ethosuximide", "opc": "Carbamazepine", "opd": "Phenobarbital", "cop": cop,
            "subject_name": "Pharmacology", **extra}  # fmt: skip


def test_medmcqa_reader_tells_the_cop_base_apart(tmp_path):
    one_based = read_items(write_jsonl(tmp_path / "dev.jsonl", [medmcqa(2), medmcqa(4)]))
    assert [i.answer for i in one_based] == ["B", "D"] and one_based[0].benchmark == "medmcqa"
    zero_based = read_items(write_jsonl(tmp_path / "hf.jsonl", [medmcqa(1), medmcqa(0)]))
    assert [i.answer for i in zero_based] == ["B", "A"] and zero_based[0].subject == "Pharmacology"
    with pytest.raises(DataError, match="cannot tell whether 'cop' counts from 0"):
        read_items(write_jsonl(tmp_path / "small.jsonl", [medmcqa(2)]))


def test_pubmedqa_readers(tmp_path):
    original = tmp_path / "ori_pqal.json"
    original.write_text(
        json.dumps({"21645374": {"QUESTION": "Do statins reduce atrial fibrillation after CABG?",
                                 "CONTEXTS": ["Background one.", "Results two."], "final_decision": "yes"}}),
        encoding="utf-8",
    )  # fmt: skip
    (item,) = read_items(original)
    assert (item.benchmark, item.answer, item.options["C"]) == ("pubmedqa", "A", "maybe")
    assert item.question.startswith("Context: Background one. Results two.\nQuestion: Do statins")
    hf = write_jsonl(
        tmp_path / "pqa.jsonl",
        [{"pubid": 1, "question": "Is X safe?", "context": {"contexts": ["c"]}, "final_decision": "maybe"}],
    )
    assert [i.answer for i in read_items(hf)] == ["C"]
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [{"question": "q", "context": {"contexts": ["c"]}, "final_decision": "perhaps"}],
    )
    with pytest.raises(DataError, match=r"bad\.jsonl:1: final_decision 'perhaps' is not yes, no or maybe"):
        read_items(bad)


def test_reasoning_model_scored_on_final_answer_with_published_rows(tmp_path):
    """A scripted reasoning model through the real client: the letter after </think> counts, one reply
    cut off while reasoning is unparseable (wrong, not guessed), and the report carries HuatuoGPT-o1's
    published CMB numbers, labelled as such."""
    rows = [
        {"exam_subject": "内科", "question": f"第{k}题：下列哪项正确？", "answer": "ABCD"[k % 4],
         "option": {"A": f"甲{k}", "B": f"乙{k}", "C": f"丙{k}", "D": f"丁{k}"}}
        for k in range(4)
    ]  # fmt: skip
    data = write_jsonl(tmp_path / "cmb_val.jsonl", rows)
    gold = {r["question"]: r["answer"] for r in rows}

    def reply(messages):
        question = next(q for q in gold if q in messages[-1]["content"])
        k = int(question[1])
        if k == 3:
            return "<think>A、B、C、D 都要想一想"  # stopped while reasoning
        wrong = "ABCD"[(k + 1) % 4]
        return f"<think>也许是{wrong}？再想想。</think>答案是{gold[question] if k < 2 else wrong}"

    with ScriptedEndpoint(reply) as ep:
        res = evaluate("mcq", "--base-url", ep.base_url, "--api-model", "scripted", "--data", data,
                       "--out", tmp_path / "run")  # fmt: skip
    assert res["methods"] == ["generated"] and res["benchmarks"] == ["cmb"]
    assert res["summary"]["accuracy_generated"]["value"] == pytest.approx(2 / 4)
    assert res["subjects"][0]["unparseable"] == 1
    items = [
        json.loads(line)
        for line in (tmp_path / "run" / "items.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [i["generated_pred"] for i in items] == ["A", "B", "D", None]
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "HuatuoGPT-o1 paper; published numbers, not measured by this run" in report
    assert "| cmb | HuatuoGPT-o1-7B | 73.0 |" in report and "| cmb | Qwen2.5-7B-Instruct | 70.7 |" in report
