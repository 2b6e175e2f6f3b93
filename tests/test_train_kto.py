"""KTO on unpaired feedback: ``export-feedback --format kto`` from a real SQLite feedback store,
the unpaired reader, the recipe, and a tiny ``python -m training kto`` run whose desirable examples'
reward margin rises."""

import json

import pytest
from conftest import REPO

from training.data import DataFormatError, read_unpaired
from training.feedback import FeedbackStore, export_unpaired

Q1 = [{"role": "user", "content": "感冒要吃抗生素吗？"}]
Q2 = [{"role": "user", "content": "Is a fever of 38.5 C dangerous for an adult?"}]


def test_export_feedback_kto_writes_each_rated_answer_once(tmp_path, capsys):
    from training.feedback import main

    store = FeedbackStore(tmp_path / "fb.sqlite")
    store.add_rating(Q1, "多数感冒是病毒感染，抗生素无效。", 1, "m", {})
    store.add_rating(Q1, "直接吃阿莫西林。", -1, "m", {})
    store.add_rating(Q2, "Usually not; rest and fluids.", -1, "m", {})
    store.add_rating(Q2, "Usually not; rest and fluids.", 1, "m", {})  # the latest rating wins
    store.add_comparison(Q2, "See a doctor if it lasts 3 days.", "Ignore it.", "m", {})
    out = tmp_path / "kto.jsonl"
    main(["--db", str(tmp_path / "fb.sqlite"), "--out", str(out), "--format", "kto"])
    assert "3 desirable and 2 undesirable examples" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    labels = {r["completion"][0]["content"]: r["label"] for r in rows}
    assert labels == {
        "多数感冒是病毒感染，抗生素无效。": True,
        "直接吃阿莫西林。": False,
        "Usually not; rest and fluids.": True,
        "See a doctor if it lasts 3 days.": True,
        "Ignore it.": False,
    }
    examples = read_unpaired(out)
    assert (
        len(examples) == 5 and examples[0].prompt == Q2 and examples[0].completion.startswith("See a doctor")
    )


def test_export_kto_only_thumbs_up_warns(tmp_path, capsys):
    from training.feedback import main

    FeedbackStore(tmp_path / "fb.sqlite").add_rating(Q1, "a", 1, "m", {})
    main(["--db", str(tmp_path / "fb.sqlite"), "--out", str(tmp_path / "k.jsonl"), "--format", "kto"])
    assert "needs both thumbs-up and thumbs-down" in capsys.readouterr().err
    assert export_unpaired(tmp_path / "fb.sqlite", tmp_path / "k2.jsonl").desirable == 1


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"prompt": "q", "completion": "a"}, "missing \\['label'\\]"),
        ({"prompt": "q", "completion": "a", "label": "yes"}, "label must be true"),
        ({"prompt": "q", "completion": [{"role": "user", "content": "a"}], "label": True}, "one assistant message"),
        ({"prompt": [{"role": "assistant", "content": "x"}], "completion": "a", "label": True}, "turn 1 is 'assistant'"),
    ],
)  # fmt: skip
def test_malformed_unpaired_record_names_file_and_line(tmp_path, bad, reason):
    f = tmp_path / "k.jsonl"
    good = {"prompt": "q", "completion": "a", "label": True}
    f.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"k\.jsonl:2: .*{reason}"):
        read_unpaired(f)


def test_kto_recipe_parses():
    from training.common import parse_config
    from training.kto import KTOStageConfig

    cfg = parse_config(KTOStageConfig, ["--config", str(REPO / "recipes/kto/tiny.yaml")])
    assert cfg.beta == 0.1 and cfg.use_peft and cfg.train_files == ["data/samples/feedback_kto.jsonl"]
    assert len(read_unpaired(REPO / cfg.train_files[0])) == 68


def test_kto_raises_the_desirable_reward_margin(tiny_model_dir, tmp_path):
    """python -m training kto on the sample feedback (desirable: careful answers, undesirable: unsafe
    ones): the margin log p(desirable) - log p(undesirable) rises on the training examples."""
    from training.__main__ import main

    out = tmp_path / "kto"
    main(
        ["kto", "--config", str(REPO / "recipes/kto/tiny.yaml"), "--model_name_or_path", str(tiny_model_dir),
         "--train_files", str(REPO / "data/samples/feedback_kto.jsonl"), "--output_dir", str(out),
         "--max_steps", "12", "--learning_rate", "2e-3", "--report_to", "none", "--disable_tqdm", "true"]
    )  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["margin_after"] > metrics["margin_before"] + 1.0, metrics
    assert metrics["trainable_changed_fraction"] > 0.5
    data = json.loads((out / "data.json").read_text())
    assert data["desirable"] + data["undesirable"] == data["train_records"]


def test_kto_needs_both_kinds(tiny_model_dir, tmp_path):
    from training.common import StageError
    from training.kto import KTOStageConfig, train

    f = tmp_path / "up.jsonl"
    f.write_text(
        "\n".join(json.dumps({"prompt": f"q{i}", "completion": "a", "label": True}) for i in range(4))
    )
    cfg = KTOStageConfig(
        model_name_or_path=str(tiny_model_dir),
        train_files=[str(f)],
        output_dir=str(tmp_path / "o"),
        report_to="none",
    )
    with pytest.raises(StageError, match="no undesirable"):
        train(cfg)
