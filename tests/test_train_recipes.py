"""Every shipped recipe parses into its stage's config dataclass (defaults, then the YAML, then flags),
every accelerate config parses as `accelerate launch` reads it, and the entry point dispatches."""

import json
import subprocess
import sys

import pytest
from conftest import REPO

from training import dpo, kto, pt, rl, rm, sft
from training.common import StageError, parse_config

RECIPES = REPO / "recipes"
CONFIGS = {
    "pt": pt.PTConfig,
    "sft": sft.SFTStageConfig,
    "rm": rm.RMConfig,
    "rl": rl.RLConfig,
    "dpo": dpo.DPOStageConfig,
}
# every shipped stage recipe parses, kto's too (kto ships a tiny recipe only)
PARSED = {**CONFIGS, "kto": kto.KTOStageConfig}
STAGE_RECIPES = sorted(p for stage in PARSED for p in (RECIPES / stage).glob("*.yaml"))


def test_every_stage_has_a_tiny_and_a_real_recipe():
    for stage in CONFIGS:
        names = {p.stem for p in (RECIPES / stage).glob("*.yaml")}
        assert "tiny" in names and any("7b" in n or "13b" in n for n in names), (stage, names)
    chimed = [p for p in STAGE_RECIPES if p.stem.startswith("chimed-13b")]
    assert {p.parent.name for p in chimed} >= {"pt", "sft", "rm", "rl"}


@pytest.mark.parametrize("recipe", STAGE_RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_parses_into_its_stage_config(recipe):
    import yaml

    cfg = parse_config(PARSED[recipe.parent.name], ["--config", str(recipe)])
    for key, value in yaml.safe_load(recipe.read_text()).items():
        got = getattr(cfg, key)
        assert str(getattr(got, "value", got)) == str(value) or got == value, key  # enums compare by value
    if recipe.stem.startswith("chimed-13b"):
        assert cfg.chat_template == "chimed"
        assert (cfg.max_length if recipe.parent.name != "rl" else cfg.rs_max_length) == 4096
        assert (cfg.load_in_4bit and cfg.use_bnb_nested_quant) or "zero3" in recipe.stem


def test_flags_override_the_recipe_and_unknown_keys_fail(tmp_path):
    cfg = parse_config(
        sft.SFTStageConfig, ["--config", str(RECIPES / "sft/tiny.yaml"), "--max_steps", "3", "--from", "x"]
    )
    # the flags win; everything else comes from the recipe
    assert cfg.max_steps == 3 and cfg.from_run == "x" and cfg.learning_rate == 1e-3
    flags = parse_config(sft.SFTStageConfig, ["--skip-bad", "--resume", "--from", "runs/pt"])
    assert flags.skip_bad and flags.resume and flags.from_run == "runs/pt"
    # --model is model_name_or_path (the spelling every other command uses), dashes work as in the app
    same = parse_config(
        sft.SFTStageConfig, ["--model", "Qwen/Qwen2.5-7B-Instruct", "--chat-template", "chimed"]
    )
    assert same.model_name_or_path == "Qwen/Qwen2.5-7B-Instruct" and same.chat_template == "chimed"
    with pytest.raises(StageError, match="either --model_name_or_path or --from"):
        parse_config(sft.SFTStageConfig, ["--model", "x", "--from", "runs/pt"])
    # --quant is the shorthand every command shares, mapped onto TRL's load_in_* fields
    qlora = parse_config(sft.SFTStageConfig, ["--model", "x", "--quant", "4bit", "--use_peft", "true"])
    assert qlora.load_in_4bit and not qlora.load_in_8bit and qlora.use_bnb_nested_quant
    assert qlora.bnb_4bit_quant_type == "nf4"
    assert not parse_config(sft.SFTStageConfig, ["--model", "x", "--quant", "none"]).load_in_4bit
    with pytest.raises(StageError, match="load_in_8bit trains through a LoRA adapter"):
        parse_config(sft.SFTStageConfig, ["--model", "x", "--quant", "8bit"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rat: 1.0e-3\n")
    with pytest.raises(ValueError, match="learning_rat"):
        parse_config(sft.SFTStageConfig, ["--config", str(bad)])
    with pytest.raises(StageError, match="load_in_4bit trains through a LoRA adapter: add --use_peft"):
        parse_config(sft.SFTStageConfig, ["--load_in_4bit", "true"])


ACCELERATE = sorted((RECIPES / "accelerate").glob("*.yaml"))


@pytest.mark.parametrize("config", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_config_parses_as_accelerate_launch_reads_it(config):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    cfg = load_config_from_file(str(config))
    assert isinstance(cfg, ClusterConfig) and cfg.num_processes >= 8 and cfg.mixed_precision == "bf16"
    # every DeepSpeed / FSDP key is an option `accelerate launch` knows
    options = {action.dest for action in launch_command_parser()._actions}
    unknown = [k for k in {**cfg.deepspeed_config, **cfg.fsdp_config} if k not in options]
    assert not unknown
    kind = cfg.distributed_type.value
    if "zero" in config.stem:
        assert kind == "DEEPSPEED" and cfg.deepspeed_config["zero_stage"] == (
            2 if "zero2" in config.stem else 3
        )
    if config.stem == "fsdp":
        assert kind == "FSDP" and cfg.fsdp_config["fsdp_version"] == 2
    if "multinode" in config.stem:
        assert cfg.num_machines == 2 and cfg.main_process_ip and cfg.main_process_port


def test_entry_point_help_lists_every_command_and_stage_help_works():
    env_run = {"cwd": REPO, "capture_output": True, "text": True, "timeout": 120}
    top = subprocess.run([sys.executable, "-m", "training", "--help"], **env_run)
    assert top.returncode == 0
    for command in ("pt", "sft", "rm", "rl", "dpo", "merge", "demo", "export-feedback"):
        assert f"  {command} " in top.stdout
    stage = subprocess.run([sys.executable, "-m", "training", "rl", "--help"], **env_run)
    assert stage.returncode == 0 and "--method" in stage.stdout and "--rs_threshold" in stage.stdout
    bad = subprocess.run([sys.executable, "-m", "training", "sft", "--config", "missing.yaml"], **env_run)
    assert bad.returncode != 0


def test_cli_reports_bad_data_with_file_and_line(tmp_path, tiny_model_dir):
    data = tmp_path / "d.jsonl"
    data.write_text(
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
        + "\n{oops\n"
    )
    args = [sys.executable, "-m", "training", "sft", "--config", str(RECIPES / "sft/tiny.yaml"),
            "--model_name_or_path", str(tiny_model_dir), "--train_files", str(data), "--output_dir", str(tmp_path / "o")]  # fmt: skip
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert f"error: {data}:2: invalid JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_two_processes_under_accelerate_launch_train_data_parallel_and_save_once(tmp_path, tiny_model_dir):
    """`accelerate launch --multi_gpu --num_processes 2` on a machine without a GPU: the stage notices,
    trains data-parallel on the CPU over gloo (DDP), and the main process alone writes one model that
    loads. (The FSDP and DeepSpeed configs need GPUs: accelerate applies FSDP only on GPU backends.)"""
    import os

    from safetensors.torch import load_file

    out = tmp_path / "ddp-sft"
    import socket

    with socket.socket() as s:  # a free port for the processes' rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
        "-m", "training", "sft", "--config", str(RECIPES / "sft/tiny.yaml"), "--model_name_or_path", str(tiny_model_dir),
        "--output_dir", str(out), "--max_steps", "6", "--disable_tqdm", "true",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("2 processes and no GPU: data-parallel training on the CPU") == 2  # each rank
    assert done.stdout.count(f"saved to {out}") == 1  # reported by the main process only
    stage = json.loads((out / "medchat_stage.json").read_text())
    assert stage["distributed"] == {"type": "MULTI_CPU", "processes": 2}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_loss"] < metrics["eval_loss_before"]
    trained, base = load_file(out / "model.safetensors"), load_file(tiny_model_dir / "model.safetensors")
    assert set(trained) == set(base) and all(not trained[k].equal(base[k]) for k in base)
    from model.generate import GenerationSettings, LocalEngine
    from model.load import load_model

    reply = LocalEngine(load_model(str(out))).chat(
        [{"role": "user", "content": "头痛怎么办？"}], GenerationSettings(max_new_tokens=4, temperature=0)
    )
    assert isinstance(reply, str)
