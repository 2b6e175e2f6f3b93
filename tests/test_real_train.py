"""Real-model tier, training: on SmolLM2-135M-Instruct (134.5M parameters), a LoRA SFT step, a DPO
step, a reward-model step and a rejection-sampling round each run through the real stage code and
save something that loads. The base is given as the GGUF file itself (``--model_name_or_path
FILE.gguf``), so every stage takes GGUF input; it resolves to the session's converted folder.
Kept tiny: a few examples, one or two steps, 128-token sequences.

Run: pytest tests/test_real_train.py      (skipped when the model wheels are not installed)
"""

import json
import math

import pytest
import torch
from conftest import SAMPLES

from model.load import load_model
from training import dpo, rl, rm, sft
from training.common import STAGE_FILE, load_reward_model, parse_config

pytestmark = [pytest.mark.real, pytest.mark.usefixtures("one_torch_thread")]

TINY = ["--disable_tqdm", "true", "--logging_steps", "1", "--per_device_train_batch_size", "2",
        "--eval_fraction", "0", "--save_strategy", "no", "--lr_scheduler_type", "constant",
        "--warmup_steps", "0"]  # fmt: skip
SHORT = ["--max_length", "96"]
LORA = ["--use_peft", "true", "--lora_r", "4", "--lora_alpha", "8"]


def run(module, config_cls, recipe, *flags):
    cfg = parse_config(config_cls, ["--config", f"recipes/{recipe}", *TINY, *flags])  # flags win
    return cfg, *module.train(cfg)


@pytest.fixture(scope="module")
def gguf_file(smollm2_dir):
    from model.assets import smollm2_gguf

    return str(smollm2_gguf())  # smollm2_dir converted it already: the stages find the cached folder


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, gguf_file):
    out = tmp_path_factory.mktemp("real") / "sft"
    cfg, _, metrics = run(
        sft, sft.SFTStageConfig, "sft/tiny.yaml", "--model_name_or_path", gguf_file,
        "--train_files", str(SAMPLES / "dialogues.jsonl"), "--max_samples", "4", "--max_steps", "2",
        "--learning_rate", "1e-3", "--output_dir", str(out), *LORA, *SHORT,
    )  # fmt: skip
    return cfg, metrics, out


def assert_saved_adapter(metrics, out, smollm2_dir):
    assert math.isfinite(metrics["train_loss"]) and metrics["trainable_changed_fraction"] == 1.0
    assert json.loads((out / STAGE_FILE).read_text())["adapter"] is True
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(smollm2_dir)  # the converted folder, not the .gguf


def test_lora_sft_step_saves_an_adapter_the_server_loads(sft_run, smollm2_dir):
    cfg, metrics, out = sft_run
    assert_saved_adapter(metrics, out, smollm2_dir)
    loaded = load_model(str(out), device="cpu")  # adapter folder -> base + adapter, as app.py does
    assert loaded.adapter is None and type(loaded.model).__name__ == "PeftModelForCausalLM"
    assert "SmolLM" in loaded.tokenizer.chat_template  # the model's own template travels with it


def test_dpo_step_from_the_sft_adapter_saves_and_loads(sft_run, smollm2_dir, tmp_path):
    out = tmp_path / "dpo"
    cfg, trainer, metrics = run(
        dpo, dpo.DPOStageConfig, "dpo/tiny.yaml", "--from", str(sft_run[2]),
        "--train_files", str(SAMPLES / "preferences.jsonl"), "--max_samples", "4", "--max_steps", "2",
        "--output_dir", str(out), *LORA, *SHORT,
    )  # fmt: skip
    assert math.isfinite(metrics["train_loss"]) and metrics["trainable_changed_fraction"] == 1.0
    assert math.isfinite(metrics["margin_after"])
    loaded = load_model(str(out), device="cpu")
    assert type(loaded.model).__name__ == "PeftModelForCausalLM"


@pytest.fixture(scope="module")
def rm_run(tmp_path_factory, gguf_file):
    out = tmp_path_factory.mktemp("real") / "rm"
    cfg, _, metrics = run(
        rm, rm.RMConfig, "rm/tiny.yaml", "--model_name_or_path", gguf_file,
        "--train_files", str(SAMPLES / "preferences.jsonl"), "--max_samples", "4", "--max_steps", "2",
        "--max_length", "256", "--output_dir", str(out), *LORA,
    )  # fmt: skip  # the reward trainer drops pairs longer than max_length; these are 100-200 tokens
    return cfg, metrics, out


def test_reward_model_step_saves_a_scorer_that_loads(rm_run):
    cfg, metrics, out = rm_run
    assert math.isfinite(metrics["train_loss"]) and metrics["trainable_changed_fraction"] == 1.0
    model, tok = load_reward_model(str(out))
    batch = tok(["<|im_start|>user\nHi<|im_end|>\n"], return_tensors="pt")
    with torch.no_grad():
        score = model(**batch).logits
    assert score.shape == (1, 1) and torch.isfinite(score).all()


def test_rejection_sampling_round_saves_a_policy_that_loads(sft_run, rm_run, tmp_path):
    out = tmp_path / "rs"
    cfg, model, metrics = run(
        rl, rl.RLConfig, "rl/tiny.yaml", "--from", str(sft_run[2]), "--reward_model", str(rm_run[2]),
        "--train_files", str(SAMPLES / "rl_prompts.jsonl"), "--max_samples", "2", "--rs_iterations", "1",
        "--num_generations", "2", "--max_completion_length", "8", "--reward_eval_samples", "1",
        "--max_steps", "1", "--rs_threshold", "-1000", "--rs_max_length", "96", "--output_dir", str(out), *LORA,
    )  # fmt: skip
    rounds = metrics["rejection_sampling"]["iterations"]
    assert len(rounds) == 1 and rounds[0]["kept"] == 2  # best of 2 for each of the 2 prompts
    assert math.isfinite(metrics["reward_before"]) and math.isfinite(metrics["reward_after"])
    loaded = load_model(str(out), device="cpu")
    assert type(loaded.model).__name__ == "PeftModelForCausalLM"
