"""Rule-based rewards (training/rewards.py), verifiable problem readers (training/data.py) and
``python -m datagen verifiable`` (datagen/verifiable.py)."""

import json

import pytest
from conftest import SHARED_DATA
from test_train_data import write_jsonl

from training.data import DataFormatError, read_verifiable
from training.rewards import (
    accuracy,
    final_answer,
    format_reward,
    group_scorer,
    is_correct,
    normalise,
    parse_rewards,
    reward_funcs,
    weighted_scores,
)

OPTIONS = {"A": "内科", "B": "骨科", "C": "眼科", "D": "皮肤科"}


def conv(text):
    return [{"role": "assistant", "content": text}]


@pytest.mark.parametrize(
    "completion, right",
    [
        ("<think>骨折应看骨科。</think>答案：B", True),
        ("<think>Fracture.</think>\nThe answer is (B).", True),
        ("我选B", True),
        ("B", True),
        ("骨折\n</think>\n\nB. 骨科", True),  # the prompt opened <think>
        ("<think>maybe B</think>答案：A", False),  # the letter in the reasoning does not count
        ("A 或者 B", False),  # several letters: never guessed
        ("<think>hmm</think>", False),  # no answer
        ("骨科", True),  # quotes exactly one option
    ],
)
def test_mcq_accuracy_reads_the_final_letter(completion, right):
    assert accuracy([None], [conv(completion)], answer=["B"], options=[json.dumps(OPTIONS)]) == [float(right)]


@pytest.mark.parametrize(
    "completion, gold, right",
    [
        ("<think>...</think>阿司匹林。", "阿司匹林", True),
        ("<think>...</think>答案是：阿司匹林", "阿司匹林", True),  # short: contains the gold
        ("<think>...</think>**The Aspirin**", "aspirin", True),  # case, markup, article
        ("<answer>Iron-deficiency anaemia</answer>", "iron deficiency anaemia", True),
        ("布洛芬", "阿司匹林", False),
        (
            "可能是阿司匹林、布洛芬、对乙酰氨基酚、吲哚美辛或者萘普生中的一种",
            "阿司匹林",
            False,
        ),  # a list of guesses
        ("<think>aspirin</think>ibuprofen", "aspirin", False),  # the gold in the reasoning only
        ("", "aspirin", False),
    ],
)
def test_open_ended_accuracy_normalises_chinese_and_english(completion, gold, right):
    assert is_correct(completion, gold, None) is right
    assert accuracy([None], [conv(completion)], answer=[gold], options=[""]) == [float(right)]


def test_normalise_and_final_answer():
    assert normalise("  Ｔhe  IRON-deficiency, anaemia。 ") == "irondeficiencyanaemia"
    assert normalise("缺铁性贫血（IDA）") == "缺铁性贫血ida"
    assert final_answer("<think>r</think>\n<answer> B </answer>") == "B"
    assert final_answer("no tags") == "no tags"


@pytest.mark.parametrize(
    "completion, ok",
    [
        ("<think>先看症状。</think>答案：B", True),
        ("先看症状。</think>B", True),  # the generation prompt opened <think>
        ("<think>r</think><answer>B</answer>", True),
        ("答案：B", False),  # no reasoning
        ("<think></think>B", False),  # empty reasoning
        ("<think>only reasoning</think>", False),  # no answer
        ("<think>r</think><answer></answer>", False),
        ("## Thinking\n先看症状。\n\n## Final Response\n答案：B", True),  # HuatuoGPT-o1's headings
        ("<think>cut off while still reasoning", False),
    ],
)
def test_format_reward(completion, ok):
    assert format_reward([None], [conv(completion)]) == [float(ok)]


def test_weights_and_names():
    assert parse_rewards("accuracy, format") == ["accuracy", "format"]
    for bad in ("", "accuracy,accuracy", "accuracy,speed"):
        with pytest.raises(ValueError, match="distinct rewards"):
            parse_rewards(bad)
    with pytest.raises(ValueError, match="needs a reward model"):
        reward_funcs(["accuracy", "model"])

    def model(prompts, completions, **kwargs):
        return [0.5] * len(completions)

    funcs = reward_funcs(["accuracy", "format", "model"], model)
    columns = {"answer": ["B", "B"], "options": [json.dumps(OPTIONS)] * 2}
    scores = weighted_scores(funcs, [1.0, 0.2, 2.0], [None, None], ["<think>r</think>B", "A"], columns)
    assert scores["accuracy"] == [1.0, 0.0] and scores["format"] == [1.0, 0.0]
    assert scores["total"] == pytest.approx([1.0 + 0.2 + 1.0, 1.0])
    with pytest.raises(ValueError, match="2 values for 3 rewards"):
        weighted_scores(funcs, [1.0, 1.0], [None], ["B"], {"answer": ["B"], "options": [""]})
    grouped = group_scorer(funcs[:1], None, {"answer": ["B", "A"], "options": [json.dumps(OPTIONS)] * 2})
    assert grouped(["p1", "p2"], [["B", "A", "B"], ["A"]]) == [[1.0, 0.0, 1.0], [1.0]]


# ---------------------------------------------------------------------------------------------
# verifiable problems


def test_reads_mcq_open_and_huatuogpt_o1_problems(tmp_path):
    f = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"question": "骨折挂哪个科？", "options": OPTIONS, "answer": "b"},
            {"question": "Fracture: which clinic?", "options": ["Medicine", "Orthopaedics"], "answer": "Orthopaedics"},
            {"question": "首选退热药？", "answer": "对乙酰氨基酚"},
            {"Open-ended Verifiable Question": "A 3-year-old with fever ...", "Ground-True Answer": "Kawasaki disease"},
        ],
    )  # fmt: skip
    rows = read_verifiable(f)
    assert rows[0]["answer"] == "B" and json.loads(rows[0]["options"]) == OPTIONS
    assert rows[0]["prompt"] == [
        {"role": "user", "content": "骨折挂哪个科？\nA. 内科\nB. 骨科\nC. 眼科\nD. 皮肤科"}
    ]
    assert rows[1]["answer"] == "B"  # given as the option's text
    assert rows[2] == {
        "prompt": [{"role": "user", "content": "首选退热药？"}],
        "answer": "对乙酰氨基酚",
        "options": "",
    }
    assert rows[3]["answer"] == "Kawasaki disease" and rows[3]["options"] == ""


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"question": "q"}, "needs 'question' and 'answer'"),
        ({"question": "q", "options": OPTIONS, "answer": "E"}, "neither an option letter"),
        ({"question": "q", "options": {"A": "x"}, "answer": "A"}, "'options' must map letters"),
        ({"question": "q", "options": {"1": "x", "2": "y"}, "answer": "x"}, "option keys must be letters"),
        ({"Open-ended Verifiable Question": "q", "Ground-True Answer": ""}, "Ground-True Answer must be"),
    ],
)
def test_malformed_problem_names_file_and_line(tmp_path, bad, reason):
    good = {"question": "q", "answer": "a"}
    f = write_jsonl(tmp_path / "v.jsonl", [good, bad])
    with pytest.raises(DataFormatError, match=rf"v\.jsonl:2: .*{reason}"):
        read_verifiable(f)


@pytest.mark.needs_shared
def test_datagen_verifiable_from_cmmlu(tmp_path, capsys):
    from datagen.__main__ import main

    cmmlu = SHARED_DATA / "cmmlu" / "dev"
    out = tmp_path / "mcq.jsonl"
    assert main(["verifiable", "--mcq", str(cmmlu), "--out", str(out)]) == 0
    rows = read_verifiable(out)
    assert len(rows) == 45 and all(r["answer"] in json.loads(r["options"]) for r in rows)
    # refuses to replace an existing file without --overwrite
    assert main(["verifiable", "--mcq", str(cmmlu), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    opened = tmp_path / "open.jsonl"
    assert main(["verifiable", "--mcq", str(cmmlu), "--out", str(opened), "--open-ended"]) == 0
    problems = [json.loads(line) for line in opened.read_text(encoding="utf-8").splitlines()]
    assert 20 < len(problems) < 45 and all("options" not in p for p in problems)
    assert not any("以下" in p["question"] or "不包括" in p["question"] for p in problems)
    # the open-ended answer is the correct option's text of the source question
    source = {
        r["source"]: r for r in (json.loads(line) for line in out.read_text(encoding="utf-8").splitlines())
    }
    first = problems[0]
    mcq = source[first["source"]]
    assert first["answer"] == mcq["options"][mcq["answer"]]
    assert "skipped {'refers to its options'" in capsys.readouterr().out


def test_datagen_verifiable_bad_file_names_it(tmp_path, capsys):
    from datagen.__main__ import main

    bad = tmp_path / "bad.csv"
    bad.write_text("Question,A,B,Answer\n问题,甲,乙,C\n", encoding="utf-8")
    assert main(["verifiable", "--mcq", str(bad), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "bad.csv:2" in capsys.readouterr().err and not (tmp_path / "o.jsonl").exists()


def test_rl_reward_options_are_checked():
    from training import rl
    from training.common import StageError, parse_config
    from training.data import read_prompts

    assert rl.reward_setup(parse_config(rl.RLConfig, []))[1] is read_prompts  # the reward model alone
    names, reader = rl.reward_setup(parse_config(rl.RLConfig, ["--rewards", "accuracy,format,model"]))
    assert names == ["accuracy", "format", "model"] and reader is read_verifiable
    for argv, message in [
        (["--rewards", "accuracy,speed"], "distinct rewards"),
        (["--rewards", "accuracy", "--method", "rejection-sampling"], "use --rewards model"),
        (
            ["--rewards", "accuracy,format", "--reward_weights", "1.0"],
            "1 values for --rewards accuracy,format",
        ),
    ]:
        with pytest.raises(StageError, match=message):
            rl.reward_setup(parse_config(rl.RLConfig, argv))


# ---------------------------------------------------------------------------------------------
# GRPO with the accuracy reward on a task built for the test

SYMPTOMS = {"咳嗽": "A", "发热": "A", "骨折": "B", "扭伤": "B"}  # symptom -> the right clinic's letter
CLINICS = {"A": "内科", "B": "骨科"}


def clinic_problems(ages) -> list[dict]:
    return [
        {"question": f"患者{age}岁，{symptom}{days}天，应该挂哪个科？", "options": CLINICS, "answer": letter}
        for age in ages
        for symptom, letter in SYMPTOMS.items()
        for days in (2, 5)
    ]


def test_grpo_with_the_accuracy_reward_raises_heldout_accuracy(tiny_model_dir, tmp_path):
    """A tiny model fine-tuned on noisy labels (80 % right) answers the held-out questions (other
    ages) right about 3 times in 4; `python -m training rl --method grpo --rewards accuracy` then
    raises its held-out accuracy (measured here: 0.76 -> 0.98 with 40 steps)."""
    import random

    from training import sft
    from training.__main__ import main

    train, held = clinic_problems(range(20, 40)), clinic_problems(range(60, 64))
    train_file, held_file = (
        write_jsonl(tmp_path / "train.jsonl", train),
        write_jsonl(tmp_path / "held.jsonl", held),
    )
    rng = random.Random(0)
    noisy = [
        {"messages": [*parse["prompt"], {"role": "assistant", "content": p["answer"] if rng.random() < 0.8 else "AB".replace(p["answer"], "")}]}
        for p, parse in zip(train, read_verifiable(train_file), strict=True)
    ]  # fmt: skip
    sft.train(
        sft.SFTStageConfig(
            model_name_or_path=str(tiny_model_dir), train_files=[str(write_jsonl(tmp_path / "sft.jsonl", noisy))],
            output_dir=str(tmp_path / "sft"), max_steps=80, learning_rate=5e-3, per_device_train_batch_size=16,
            max_length=128, save_strategy="no", report_to="none", dataloader_pin_memory=False, disable_tqdm=True,
        )
    )  # fmt: skip
    out = tmp_path / "rl"
    main(
        ["rl", "--method", "grpo", "--rewards", "accuracy", "--from", str(tmp_path / "sft"),
         "--train_files", str(train_file), "--eval_files", str(held_file), "--output_dir", str(out),
         "--num_generations", "8", "--max_completion_length", "2", "--temperature", "1.0",
         "--per_device_train_batch_size", "32", "--max_steps", "40", "--learning_rate", "1e-3",
         "--lr_scheduler_type", "constant", "--weight_decay", "0", "--beta", "0", "--reward_eval_samples", "8",
         "--logging_steps", "10", "--save_strategy", "no", "--report_to", "none", "--disable_tqdm", "true",
         "--dataloader_pin_memory", "false", "--seed", "0"]
    )  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["rewards"] == ["accuracy"]
    # reward_before / reward_after: mean accuracy of 8 samples on each of the 32 held-out questions
    assert metrics["reward_after"] >= metrics["reward_before"] + 0.1, metrics
    assert metrics["reward_after"] >= 0.85, metrics
