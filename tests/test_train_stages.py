"""Every training stage on a tiny local Llama on CPU, chained as a user runs them (pt -> sft -> rm -> rl,
sft -> dpo -> merge), each from its tiny recipe with fewer steps: the loss is finite, the trainable
parameters changed, and each stage does what it is for (held-out loss falls, reward-model accuracy
rises, the DPO margin grows, RL raises the reward of sampled completions). Plus QLoRA on CPU and the
ChiMed-style 4,096-token packing."""

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from conftest import REPO, SFT_1K, SHARED_DATA

from training import dpo, pt, rl, rm, sft
from training.common import STAGE_FILE, StageError, parse_config, resolve_base

SAMPLES = REPO / "data" / "samples"
RECIPES = REPO / "recipes"
FAST = ["--disable_tqdm", "true", "--logging_steps", "1"]


def run(module, config_cls, recipe: str, *flags):
    """Parse the recipe + flags exactly as `python -m training STAGE` does, then run the stage."""
    cfg = parse_config(config_cls, ["--config", str(RECIPES / recipe), *flags, *FAST])
    return cfg, *module.train(cfg)


def assert_trained(cfg, metrics):
    """Finite loss, every trainable tensor moved, and the stage files beside the checkpoint."""
    assert math.isfinite(metrics["train_loss"])
    assert metrics["trainable_changed_fraction"] == 1.0
    for name in (STAGE_FILE, "config.yaml", "metrics.json", "data.json", "metrics.jsonl"):
        assert (Path(cfg.output_dir) / name).exists(), name


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread is faster than two, and far faster when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def pt_run(runs, tiny_model_dir):
    out = runs / "pt"
    cfg, _, metrics = run(
        pt, pt.PTConfig, "pt/tiny.yaml",
        "--model_name_or_path", str(tiny_model_dir), "--train_files", str(SAMPLES / "corpus"),
        "--output_dir", str(out), "--max_steps", "8", "--eval_fraction", "0.1",
    )  # fmt: skip
    return cfg, metrics, out


@pytest.fixture(scope="module")
def sft_run(runs, pt_run):
    out = runs / "sft"
    cfg, trainer, metrics = run(
        sft, sft.SFTStageConfig, "sft/tiny.yaml",
        "--from", str(pt_run[2]), "--train_files", str(SFT_1K), "--max_samples", "300",
        "--eval_fraction", "0.1", "--output_dir", str(out), "--max_steps", "15", "--max_length", "256",
    )  # fmt: skip
    return cfg, metrics, out


@pytest.fixture(scope="module")
def policy(runs, pt_run):
    """The policy the alignment stages start from: sft on data/samples/dialogues (the answers the
    preference pairs are about), as in the demo pipeline."""
    out = runs / "policy"
    run(
        sft, sft.SFTStageConfig, "sft/tiny.yaml",
        "--from", str(pt_run[2]), "--train_files", str(SAMPLES / "dialogues.jsonl"),
        "--output_dir", str(out), "--max_steps", "60",
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def rm_run(runs, policy):
    out = runs / "rm"
    cfg, trainer, metrics = run(
        rm, rm.RMConfig, "rm/tiny.yaml",
        "--from", str(policy), "--train_files", str(SAMPLES / "preferences.jsonl"),
        "--eval_fraction", "0.3", "--output_dir", str(out), "--max_steps", "15",
    )  # fmt: skip
    return cfg, metrics, out


def test_pt_packs_blocks_and_saves_stage_files(pt_run):
    cfg, metrics, out = pt_run
    assert_trained(cfg, metrics)
    assert metrics["eval_loss"] < metrics["eval_loss_before"]
    meta = json.loads((out / STAGE_FILE).read_text())
    assert meta["stage"] == "pt" and meta["adapter"] is False
    data = json.loads((out / "data.json").read_text())
    assert data["records"] > 50 and data["train_tokens"] > 5000 and len(data["sha256"]) == 64
    # the resolved config reloads as the stage's config: every block is max_length tokens
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["max_length"] == 256 and saved["packing_strategy"] == "wrapped" and saved["max_steps"] == 8
    again = parse_config(pt.PTConfig, ["--config", str(out / "config.yaml")])
    assert again.learning_rate == cfg.learning_rate and again.train_files == cfg.train_files
    # the log has one line per step with a finite loss
    losses = [
        json.loads(line)["loss"]
        for line in (out / "metrics.jsonl").read_text().splitlines()
        if '"loss"' in line
    ]
    assert len(losses) == 8 and all(math.isfinite(x) for x in losses)


@pytest.mark.needs_shared
def test_sft_from_pt_lowers_heldout_loss_on_medical_dialogues(sft_run, pt_run):
    cfg, metrics, out = sft_run
    assert_trained(cfg, metrics)
    assert metrics["eval_loss"] < metrics["eval_loss_before"] - 0.1
    meta = json.loads((out / STAGE_FILE).read_text())
    assert meta["base_model"] == str(pt_run[2])  # took its base from the pt stage's output


@pytest.mark.needs_shared  # calibrated with tiny_tokenizer trained on the shared dialogues
def test_reward_model_heldout_accuracy_beats_untrained(rm_run):
    cfg, metrics, out = rm_run
    assert_trained(cfg, metrics)
    assert metrics["eval_accuracy_after"] > metrics["eval_accuracy_before"]
    assert metrics["eval_accuracy_after"] >= 0.7
    assert json.loads((out / STAGE_FILE).read_text())["task"] == "reward"


@pytest.mark.needs_shared  # calibrated with tiny_tokenizer trained on the shared dialogues
def test_dpo_with_lora_raises_margin_then_merges_into_a_servable_model(runs, policy, tiny_tokenizer):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from model.chat import render
    from model.load import load_model
    from training.merge import merge_adapter

    out = runs / "dpo"
    cfg, trainer, metrics = run(
        dpo, dpo.DPOStageConfig, "dpo/tiny.yaml",
        "--from", str(policy), "--train_files", str(SAMPLES / "preferences.jsonl"),
        "--output_dir", str(out), "--max_steps", "8",
    )  # fmt: skip
    assert_trained(cfg, metrics)
    # log p(chosen) - log p(rejected), nats, mean over the training pairs
    assert metrics["margin_after"] > metrics["margin_before"] + 0.5
    assert {"eval_margin_before", "eval_margin_after"} <= set(metrics)  # measured on held-out pairs too
    # DPOTrainer tokenized every prompt exactly as the server renders it (model/chat.py)
    tok = trainer.processing_class
    pairs = [json.loads(x) for x in (SAMPLES / "preferences.jsonl").read_text().splitlines()]
    served = [
        tok(render(tok, p["prompt"], add_generation_prompt=True), add_special_tokens=False)["input_ids"]
        for p in pairs
    ]
    tokenized = list(trainer.train_dataset["prompt_ids"]) + list(trainer.eval_dataset["prompt_ids"])
    assert sorted(tokenized) == sorted(served)
    meta = json.loads((out / STAGE_FILE).read_text())
    assert meta["adapter"] is True and (out / "adapter_config.json").exists()

    # a later stage started --from this adapter run gets it merged once, into <run>/merged
    assert resolve_base(parse_config(rl.RLConfig, ["--from", str(out)])) == str(out / "merged")
    assert json.loads((out / "merged" / STAGE_FILE).read_text())["adapter"] is False

    merged = merge_adapter(out, runs / "dpo-merged")
    assert not (merged / "adapter_config.json").exists() and (merged / "model.safetensors").exists()
    loaded = load_model(str(merged), device="cpu")  # what app.py and model.server do with --model
    x = torch.tensor([tiny_tokenizer("高血压患者要少吃盐", add_special_tokens=False)["input_ids"]])
    base = AutoModelForCausalLM.from_pretrained(meta["base_model"])
    with torch.no_grad():
        expected = PeftModel.from_pretrained(base, str(out)).eval()(input_ids=x).logits
        assert torch.allclose(loaded.model(input_ids=x).logits, expected, atol=1e-4)


def test_full_dpo_reference_is_a_frozen_copy_of_the_start_loaded_by_the_one_loader(runs, policy):
    """Without LoRA, DPO's reference model is loaded by model/load.py like the policy: it keeps the
    starting weights while the policy moves."""
    from safetensors.torch import load_file

    cfg, trainer, metrics = run(
        dpo, dpo.DPOStageConfig, "dpo/tiny.yaml",
        "--model", str(policy), "--use_peft", "false", "--train_files", str(SAMPLES / "preferences.jsonl"),
        "--eval_fraction", "0", "--output_dir", str(runs / "dpo-full"), "--max_steps", "2",
        "--learning_rate", "1e-4",
    )  # fmt: skip
    assert_trained(cfg, metrics)
    ref, start = trainer.ref_model, load_file(policy / "model.safetensors")
    assert ref is not None and ref is not trainer.model
    assert all(torch.equal(ref.state_dict()[k].cpu(), start[k]) for k in start)  # the starting weights
    trained = trainer.model.state_dict()
    assert not all(torch.equal(trained[k].cpu(), start[k]) for k in start)  # while the policy moved


# Training prompts: the sample dialogues' questions and MedicalGPT's GRPO prompts (92); held out: the
# 40 prompts of data/samples/rl_prompts.jsonl. GRPO samples at temperature 1 from 4 prompts x 4
# completions per step with a larger step size; rejection sampling keeps the tiny recipe (best of 8 at
# temperature 0.7, two rounds).
RL_DATA = [
    "--train_files",
    str(SAMPLES / "dialogues.jsonl"),
    str(SHARED_DATA / "medicalgpt/grpo_sample.jsonl"),
    "--eval_files",
    str(SAMPLES / "rl_prompts.jsonl"),
    "--reward_eval_samples",
    "4",
]
RL_FLAGS = {
    "grpo": ["--temperature", "1.0", "--top_p", "1.0", "--num_generations", "4", "--max_completion_length", "32",
             "--learning_rate", "3e-3", "--max_steps", "24", "--per_device_train_batch_size", "16"],
    "rejection-sampling": [],
}  # fmt: skip


def run_rl(runs, policy, rm_run, method):
    out = runs / f"rl-{method}"
    cfg, model, metrics = run(
        rl, rl.RLConfig, "rl/tiny.yaml",
        "--method", method, "--from", str(policy), "--reward_model", str(rm_run[2]),
        "--output_dir", str(out), *RL_DATA, *RL_FLAGS[method],
    )  # fmt: skip
    return metrics, out


@pytest.fixture(scope="module")
def rs_run(runs, policy, rm_run):
    return run_rl(runs, policy, rm_run, "rejection-sampling")


def assert_reward_rose(metrics, out):
    # mean reward-model score of 4 completions for each of the 40 held-out prompts, same sampling seed
    assert metrics["reward_after"] > metrics["reward_before"]
    assert metrics["trainable_changed_fraction"] == 1.0
    dist = json.loads((out / "reward_distribution.json").read_text())
    assert dist["before"]["n"] == dist["after"]["n"] == 40 * 4
    assert math.isclose(dist["after"]["mean"], metrics["reward_after"])


@pytest.mark.needs_shared
def test_grpo_raises_the_reward_of_sampled_completions(runs, policy, rm_run):
    assert_reward_rose(*run_rl(runs, policy, rm_run, "grpo"))


@pytest.mark.needs_shared
def test_rejection_sampling_raises_the_reward_of_sampled_completions(rs_run):
    metrics, out = rs_run
    assert_reward_rose(metrics, out)
    rounds = metrics["rejection_sampling"]["iterations"]
    assert [r["iteration"] for r in rounds] == [1, 2] and all(r["kept"] == r["prompts"] == 92 for r in rounds)
    # the kept replies score above the average sample: that is what the policy is tuned on
    assert all(r["kept_scores"]["mean"] > r["sampled"]["mean"] for r in rounds)


@pytest.mark.needs_shared
def test_rejection_sampling_keeps_exactly_the_argmax_per_prompt(rs_run, rm_run):
    """The kept set of the run above: one reply per prompt, the highest-scored candidate, whose score
    the reward model reproduces."""
    records = [
        json.loads(x) for x in (rs_run[1] / "rejection_sampling/iteration-1.jsonl").read_text().splitlines()
    ]
    assert len(records) == 92  # every training prompt
    rm_model, rm_tok = rl.load_reward_model(str(rm_run[2]))
    for record in records:
        scores = [c["score"] for c in record["candidates"]]
        assert len(scores) == 8
        assert record["kept"]["index"] == max(range(8), key=scores.__getitem__)
        assert record["kept"]["text"] == record["candidates"][record["kept"]["index"]]["text"]
    sample = records[:5]
    rescored = rm.score(rm_model, rm_tok, [r["prompt"] for r in sample], [r["kept"]["text"] for r in sample])
    assert rescored == pytest.approx([r["kept"]["score"] for r in sample], abs=1e-4)


@pytest.mark.needs_shared
def test_rejection_sampling_threshold_keeps_only_good_enough(rs_run):
    records = [
        json.loads(x) for x in (rs_run[1] / "rejection_sampling/iteration-1.jsonl").read_text().splitlines()
    ]
    best = sorted(r["kept"]["score"] for r in records)
    threshold = best[len(best) // 2]  # the median best score: about half the prompts pass
    chosen = rl.select_best(
        [r["prompt"] for r in records],
        [[c["text"] for c in r["candidates"]] for r in records],
        [[c["score"] for c in r["candidates"]] for r in records],
        threshold,
    )
    kept = [r for r in chosen if r["kept"]]
    assert 0 < len(kept) < len(records)
    assert all(r["kept"]["score"] >= threshold for r in kept)
    assert all(max(c["score"] for c in r["candidates"]) < threshold for r in chosen if not r["kept"])


def test_rloo_runs(runs, policy, rm_run):
    cfg, model, metrics = run(
        rl, rl.RLConfig, "rl/tiny.yaml",
        "--method", "rloo", "--from", str(policy), "--reward_model", str(rm_run[2]),
        "--train_files", str(SAMPLES / "rl_prompts.jsonl"), "--output_dir", str(runs / "rl-rloo"),
        "--max_steps", "2", "--max_samples", "12", "--max_completion_length", "16",
    )  # fmt: skip
    assert_trained(cfg, metrics)


def test_qlora_step_on_cpu(runs, tiny_model_dir):
    cfg, trainer, metrics = run(
        sft, sft.SFTStageConfig, "sft/tiny.yaml",
        "--model", str(tiny_model_dir), "--load_in_4bit", "true", "--use_peft", "true",
        "--train_files", str(SAMPLES / "dialogues.jsonl"), "--max_samples", "16",
        "--output_dir", str(runs / "qlora"), "--max_steps", "3", "--learning_rate", "1e-3", "--warmup_steps", "0",
    )  # fmt: skip
    assert_trained(cfg, metrics)
    import bitsandbytes as bnb

    assert any(isinstance(m, bnb.nn.Linear4bit) for m in trainer.model.modules())
    assert json.loads((runs / "qlora" / STAGE_FILE).read_text())["adapter"] is True


def test_chimed_style_4096_token_packing_runs_on_cpu(runs, tiny_model_dir):
    """recipes/pt/tiny-4096.yaml: ChiMed-GPT's 4,096-token sequence length with a tiny model."""
    cfg, trainer, metrics = run(
        pt, pt.PTConfig, "pt/tiny-4096.yaml",
        "--model_name_or_path", str(tiny_model_dir), "--output_dir", str(runs / "pt-4096"), "--max_steps", "2",
    )  # fmt: skip
    assert_trained(cfg, metrics)
    lengths = [len(x) for x in trainer.train_dataset["input_ids"]]
    assert len(lengths) >= 2 and lengths[:-1] == [4096] * (len(lengths) - 1) and lengths[-1] <= 4096


def test_reward_model_trains_on_the_apps_exported_feedback(runs, tiny_model_dir):
    """The agreed interface: the app's feedback store -> `python -m training export-feedback` -> `training rm`."""
    from training.__main__ import main as training_main
    from training.feedback import FeedbackStore

    store = FeedbackStore(runs / "feedback.sqlite")
    prompt = [{"role": "user", "content": "发烧39度怎么办？"}]
    store.add_comparison(prompt, "多喝水，精神差或持续高热请就医。", "吃点抗生素就好。", "tiny", {})
    store.add_rating(prompt, "按说明书用退热药，三个月以下婴儿发热立即就医。", 1, "tiny", {})
    store.add_rating(prompt, "不用管。", -1, "tiny", {})
    training_main(
        ["export-feedback", "--db", str(runs / "feedback.sqlite"), "--out", str(runs / "prefs.jsonl")]
    )
    assert len((runs / "prefs.jsonl").read_text().splitlines()) == 2
    cfg, trainer, metrics = run(
        rm, rm.RMConfig, "rm/tiny.yaml",
        "--model_name_or_path", str(tiny_model_dir), "--train_files", str(runs / "prefs.jsonl"),
        "--output_dir", str(runs / "rm-feedback"), "--max_steps", "2", "--eval_fraction", "0",
    )  # fmt: skip
    assert_trained(cfg, metrics)
    assert json.loads((runs / "rm-feedback" / "data.json").read_text())["records"] == 2


def test_next_stage_defaults_to_the_previous_stages_output(pt_run, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCHAT_HOME", str(tmp_path))
    with pytest.raises(StageError, match="no base model.*run the pt stage first"):
        resolve_base(parse_config(sft.SFTStageConfig, []))
    shutil.copytree(pt_run[2], tmp_path / "runs" / "pt")
    assert resolve_base(parse_config(sft.SFTStageConfig, [])) == str(tmp_path / "runs" / "pt")
    with pytest.raises(StageError, match="either --model_name_or_path or --from"):
        parse_config(sft.SFTStageConfig, ["--model_name_or_path", "x", "--from", "y"])


def test_rejection_sampling_with_lora_trains_one_adapter_across_rounds(runs, policy, rm_run):
    out = runs / "rl-rs-lora"
    cfg, model, metrics = run(
        rl, rl.RLConfig, "rl/tiny.yaml",
        "--from", str(policy), "--reward_model", str(rm_run[2]), "--use_peft", "true",
        "--train_files", str(SAMPLES / "rl_prompts.jsonl"), "--max_samples", "8", "--eval_fraction", "0.25",
        "--num_generations", "2", "--max_completion_length", "16", "--max_steps", "2", "--reward_eval_samples", "1",
        "--output_dir", str(out), "--rs_threshold", "-1000",
    )  # fmt: skip
    assert [r["kept"] for r in metrics["rejection_sampling"]["iterations"]] == [6, 6]
    assert json.loads((out / STAGE_FILE).read_text())["adapter"] is True
    assert (
        sum("lora_A" in name for name, _ in model.named_parameters()) == 2 * 7
    )  # one adapter, 2 layers x 7 linears
