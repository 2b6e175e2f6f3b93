"""The offline demo model (training/demo.py): built from data/samples by the real stages into a full
model folder that model/load.py serves, marked as a demo that gives no medical advice, and it writes
text from its medical samples rather than noise."""

import json
import shutil

import pytest

from training.demo import MARKER, build_demo, demo_model_dir, ensure_demo_model

MEDICAL_ZH = ["医生", "就医", "医院", "药", "症状", "血压", "检查", "治疗", "饮食", "发热", "感冒", "疫苗"]
MEDICAL_EN = [
    "doctor",
    "medicine",
    "fever",
    "blood",
    "pain",
    "antibiotic",
    "symptom",
    "health",
    "emergency",
    "treat",
]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("demo") / "demo-model", progress=False)


def test_demo_build_is_a_marked_full_model(demo_dir):
    marker = json.loads((demo_dir / MARKER).read_text())
    assert marker["demo"] is True and "no medical advice" in marker["note"]
    assert marker["stages"] == ["pt", "sft", "dpo"] and marker["with_rl"] is False
    assert marker["metrics"]["sft"]["train_loss"] < marker["metrics"]["pt"]["eval_loss_before"] - 3
    assert marker["metrics"]["dpo"]["margin_after"] > marker["metrics"]["dpo"]["margin_before"]
    assert (demo_dir / "model.safetensors").exists() and not (demo_dir / "adapter_config.json").exists()
    assert not list(demo_dir.parent.glob(".demo-model-build-*"))  # the build folder is gone


def test_demo_model_serves_and_writes_medical_text(demo_dir):
    from model.generate import GenerationSettings, LocalEngine
    from model.load import load_model

    loaded = load_model(str(demo_dir), device="cpu")
    assert loaded.template == "model" and loaded.tokenizer.chat_template  # ChatML from model/tiny.py
    engine = LocalEngine(loaded)
    greedy = GenerationSettings(max_new_tokens=60, temperature=0.0, repetition_penalty=1.1)
    zh = engine.chat([{"role": "user", "content": "高血压患者日常饮食要注意什么？"}], greedy)
    en = engine.chat([{"role": "user", "content": "What should I do about a fever?"}], greedy)
    assert sum(w in zh for w in MEDICAL_ZH) >= 2, zh
    assert sum(w in en.lower() for w in MEDICAL_EN) >= 1, en


def test_ensure_demo_model_reuses_a_built_model(demo_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCHAT_HOME", str(tmp_path))
    shutil.copytree(demo_dir, demo_model_dir())
    before = (demo_model_dir() / "model.safetensors").stat().st_mtime_ns
    assert ensure_demo_model() == demo_model_dir() == tmp_path / "demo-model"
    assert (demo_model_dir() / "model.safetensors").stat().st_mtime_ns == before


def test_demo_refuses_to_overwrite_a_folder_that_is_not_a_demo(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a medchat demo model"):
        build_demo(tmp_path / "mine", progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_demo_with_rl_adds_reward_model_and_rejection_sampling(tmp_path):
    out = build_demo(tmp_path / "demo-rl", with_rl=True, progress=False)
    marker = json.loads((out / MARKER).read_text())
    assert marker["stages"] == ["pt", "sft", "rm", "rl", "dpo"]
    assert marker["metrics"]["rm"]["accuracy_after"] > marker["metrics"]["rm"]["accuracy_before"]
