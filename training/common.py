"""Building blocks every training stage shares: the common config (TRL's ``ModelConfig`` plus
medchat's data, chaining and output-folder fields), reading a stage's config (defaults, then
``--config recipe.yaml``, then flags), finding the base model (a previous stage's output unless told
otherwise), loading it for training through model/load.py (full, LoRA or QLoRA; the reward model
for RL too), and saving the stage's files beside its checkpoint (listed in training/runs.py).

The next stage reads ``medchat_stage.json`` of the run named by ``--from`` (or, by default, of
``<artifacts>/runs/<previous stage>``) to find its base model; an adapter run is merged once into
``<run>/merged`` so the next stage starts from a full model.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from trl import ModelConfig

from model import artifacts_dir
from model.load import DTYPE_CHOICES, load_pretrained, load_tokenizer, model_args_for, quant_of
from training.merge import merge_adapter
from training.runs import STAGE_FILE, StageError, check_output_dir, mark_run, read_stage

log = logging.getLogger("training")


@dataclass
class StageArgs(ModelConfig):
    """Fields every stage shares; each stage's config is ``StageArgs`` + the TRL trainer's config.

    The model fields are TRL's ``ModelConfig``: ``model_name_or_path``, ``model_revision``,
    ``dtype``, ``attn_implementation``, ``use_peft`` and the ``lora_*`` fields (``get_peft_config``
    turns them into the LoRA config), ``load_in_4bit`` / ``load_in_8bit`` and the ``bnb_*`` fields
    (``get_quantization_config``: QLoRA is ``load_in_4bit`` + ``use_peft``). Three are redeclared,
    for medchat's defaults: ``model_name_or_path`` (also spelled ``--model``, as in every other
    command; default the previous stage's output), ``dtype`` (``auto`` = the device's best, not
    the checkpoint's) and ``lora_target_modules`` (every linear layer)."""

    stage: ClassVar[str] = ""
    previous: ClassVar[str | None] = None  # the stage whose output is the default base model

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "aliases": ["--model"],
            "help": "Base model: Hugging Face id, folder or .gguf file. Default: the previous stage's output (--from).",
        },
    )
    dtype: str = field(
        default="auto",
        metadata={
            "help": "Weight dtype: auto (bf16 on a GPU that has it, else fp32), bfloat16, float16 or float32.",
            "choices": list(DTYPE_CHOICES),
        },
    )
    lora_target_modules: list[str] | None = field(
        default_factory=lambda: ["all-linear"],
        metadata={
            "help": "Module names LoRA adapts, or all-linear (every linear layer but the output head)."
        },
    )
    quant: str | None = field(
        default=None,
        metadata={
            "help": "As in every other command: 4bit = load_in_4bit NF4 with nested quantization (QLoRA, with "
            "--use_peft), 8bit = load_in_8bit, none = neither. Unset: the load_in_* fields decide.",
            "choices": ["none", "4bit", "8bit"],
        },
    )
    from_run: str | None = field(
        default=None,
        metadata={
            "aliases": ["--from"],
            "help": "Output folder of an earlier stage to start from (default: <artifacts>/runs/<previous stage>).",
        },
    )
    train_files: list[str] = field(
        default_factory=list,
        metadata={"help": "Training data files or folders (see training/data.py formats)."},
    )
    eval_files: list[str] = field(default_factory=list, metadata={"help": "Held-out data files or folders."})
    eval_fraction: float = field(
        default=0.0, metadata={"help": "Without eval_files: fraction of the training records held out (0-1)."}
    )
    skip_bad: bool = field(
        default=False,
        metadata={"help": "Skip and count malformed records instead of stopping at the first one."},
    )
    max_samples: int | None = field(
        default=None, metadata={"help": "Use at most this many training records."}
    )
    chat_template: str = field(
        default="auto",
        metadata={
            "help": "auto (the model's own, else by name, else chatml), model, chatml, chimed or ziya."
        },
    )
    resume: bool = field(
        default=False, metadata={"help": "Continue from the last checkpoint-* in output_dir (a killed run)."}
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Write into an output_dir that holds files other than a medchat run's (they may be replaced)."
        },
    )

    def __post_init__(self):
        import torch

        if self.output_dir is None:
            self.output_dir = str(artifacts_dir() / "runs" / self.stage)
        if self.bf16 is None:  # TRL turns bf16 on by default; on a CPU it is slow and lossy
            self.bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        if self.quant is not None:  # the shorthand every command shares, onto TRL's fields
            self.load_in_4bit, self.load_in_8bit = self.quant == "4bit", self.quant == "8bit"
            self.use_bnb_nested_quant = self.use_bnb_nested_quant or self.quant == "4bit"
        if self.load_in_4bit and self.load_in_8bit:
            raise StageError("choose one of load_in_4bit and load_in_8bit")
        if quant_of(self) != "none" and not self.use_peft:
            raise StageError(f"load_in_{quant_of(self)} trains through a LoRA adapter: add --use_peft")
        if self.model_name_or_path and self.from_run:
            raise StageError("give either --model_name_or_path or --from, not both")
        ModelConfig.__post_init__(self)  # TRL's (a one-item lora_target_modules list -> its string)
        # ModelConfig's __post_init__ ends the chain, so the trainer config's (next in the MRO) is called here
        super(ModelConfig, self).__post_init__()


def parse_config(config_cls, argv: list[str] | None):
    """Defaults, then ``--config recipe.yaml``, then command-line flags (TRL's TrlParser); then the
    output folder is checked (training/runs.py) before anything is loaded.

    Launched as several processes (``accelerate launch --num_processes N``) on a machine without a
    GPU, the stage trains data-parallel on the CPU over gloo (``use_cpu``), rather than as N
    unrelated runs writing to one folder."""
    from trl import TrlParser

    argv = list(sys.argv[1:] if argv is None else argv)
    if _multi_process_cpu():
        from accelerate import PartialState

        argv += ["--use_cpu", "true"]
        PartialState(cpu=True)  # before anything else asks for the process state
        log.info(
            "%s processes and no GPU: data-parallel training on the CPU (gloo)", os.environ["WORLD_SIZE"]
        )
    parser = TrlParser([config_cls], prog=f"python -m training {config_cls.stage}")
    (cfg,) = parser.parse_args_and_config(argv)
    check_output_dir(cfg.output_dir, cfg.resume, cfg.overwrite_output_dir)
    return cfg


def _multi_process_cpu() -> bool:
    import torch

    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


# ---------------------------------------------------------------------------------------------
# Base model resolution and loading (through model/load.py)


def full_model_of(run_dir: str | Path) -> str:
    """A folder holding a full model for a stage output: the folder itself, or (for a LoRA run) its
    adapter merged into the base once, into ``<run>/merged``."""
    from accelerate import PartialState

    run_dir = Path(run_dir)
    meta = read_stage(run_dir)
    if not meta.get("adapter"):
        return str(run_dir)
    merged = run_dir / "merged"
    with PartialState().main_process_first():  # under accelerate launch one process merges, the rest wait
        if not (merged / STAGE_FILE).exists():
            log.info("merging the %s adapter of %s into %s", meta["stage"], run_dir, merged)
            merge_adapter(run_dir, merged)
    return str(merged)


def resolve_base(cfg) -> str:
    """The base model of a stage: --model_name_or_path (a .gguf: its converted folder), else
    --from, else the previous stage's default output folder."""
    if cfg.model_name_or_path:
        from model.gguf import to_hf_folder

        return to_hf_folder(cfg.model_name_or_path)  # a .gguf: its converted folder
    if cfg.from_run:
        return full_model_of(cfg.from_run)
    if cfg.previous:
        default = artifacts_dir() / "runs" / cfg.previous
        if (default / STAGE_FILE).exists():
            log.info("base model: the %s stage's output %s", cfg.previous, default)
            return full_model_of(default)
    hint = f" or run the {cfg.previous} stage first" if cfg.previous else ""
    raise StageError(f"no base model: pass --model_name_or_path MODEL or --from RUN_DIR{hint}")


def load_for_training(cfg, path: str, task: str = "causal-lm"):
    """(model, tokenizer) ready for a trainer, loaded by model/load.py as ``cfg`` (a ModelConfig)
    says. ``task`` is "causal-lm" (a policy) or "reward" (a scalar head). A quantized base goes
    straight to this process's device and is prepared for k-bit training; a full-precision one is
    left for the Trainer to place (and shard, under DeepSpeed or FSDP)."""
    from accelerate import PartialState

    tokenizer = load_tokenizer(path, cfg.chat_template, cfg.trust_remote_code)
    model = load_pretrained(path, cfg, PartialState().device, task, cfg.trust_remote_code)
    model.config.pad_token_id = tokenizer.pad_token_id
    # No KV cache while training: it is useless there, and without it transformers detects packed
    # (padding-free) sequences from position_ids and keeps them from attending to each other.
    model.config.use_cache = False
    if quant_of(cfg) != "none":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    return model, tokenizer


def load_reference_model(cfg, path: str):
    """DPO's frozen reference model, loaded like the policy (model/load.py; the DPOTrainer places
    it), or None with LoRA: then the policy with its adapter switched off is the reference."""
    from accelerate import PartialState

    if cfg.use_peft:
        return None
    return load_pretrained(path, cfg, PartialState().device, "causal-lm", cfg.trust_remote_code).eval()


def load_reward_model(path: str | None, model_args=None, trust_remote_code: bool = False):
    """(model, tokenizer) of a reward model, in eval mode on this process's device: a ``training rm``
    output (adapter runs are merged once) or any one-label sequence-classification folder. Loaded
    by model/load.py like the policy: ``model_args`` (the stage's config) gives its dtype and
    4-/8-bit quantization, so a QLoRA run keeps both models on one GPU."""
    from accelerate import PartialState

    path = path or str(artifacts_dir() / "runs" / "rm")
    if not Path(path).exists():
        raise StageError(
            f"reward model not found: {path} (train one with `python -m training rm` or pass --reward_model)"
        )
    if (Path(path) / STAGE_FILE).exists():
        path = full_model_of(path)
    model_args = model_args or model_args_for()
    device = PartialState().device  # this process's device under accelerate launch
    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code)
    model = load_pretrained(path, model_args, device, "reward", trust_remote_code)
    model.config.pad_token_id = tokenizer.pad_token_id
    if quant_of(model_args) == "none":
        model.to(device)
    return model.eval(), tokenizer


def resume_checkpoint(cfg) -> str | None:
    """The checkpoint to resume from with --resume (an error when there is none)."""
    if not cfg.resume:
        return None
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(cfg.output_dir) if Path(cfg.output_dir).is_dir() else None
    if last is None:
        raise StageError(f"--resume: no checkpoint-* folder in {cfg.output_dir} to resume from")
    log.info("resuming from %s", last)
    return last


def _checksum(tensor):
    """Sum and sum of squares in float64: two numbers that move when any element of the tensor does."""
    import torch

    x = tensor.detach().double()
    return torch.stack([x.sum(), (x * x).sum()]).cpu()


def snapshot_trainable(model) -> dict:
    """Checksums of the trainable tensors (2 numbers each, not copies: cheap for a 13B model)."""
    return {n: _checksum(p) for n, p in model.named_parameters() if p.requires_grad}


def changed_fraction(before: dict, model) -> float:
    """Fraction of the snapshot's trainable tensors whose checksum moved during training."""
    after = dict(model.named_parameters())
    changed = sum(1 for n, c in before.items() if n in after and not _checksum(after[n]).equal(c))
    return changed / max(1, len(before))


def train_with_measurements(trainer, cfg, name: str, measure, train_rows, held_rows, evaluate: bool = True):
    """Train (resuming with --resume), measuring ``name`` with ``measure(model, rows)`` on the training
    and held-out rows before and after (``name_before``, ``eval_name_before``, ``name_after``,
    ``eval_name_after``), plus the fraction of trainable tensors that moved; ``evaluate`` adds the
    trainer's own held-out evaluation. Returns the metrics dict (the rm, dpo and kto stages share it)."""
    before = snapshot_trainable(trainer.model)
    checkpoint = resume_checkpoint(cfg)
    metrics = {f"{name}_before": measure(trainer.model, train_rows)}
    if held_rows:
        metrics[f"eval_{name}_before"] = measure(trainer.model, held_rows)
    metrics.update(trainer.train(resume_from_checkpoint=checkpoint).metrics)
    metrics[f"{name}_after"] = measure(trainer.model, train_rows)
    if held_rows:
        metrics[f"eval_{name}_after"] = measure(trainer.model, held_rows)
        if evaluate:
            metrics.update(trainer.evaluate())
    metrics["trainable_changed_fraction"] = changed_fraction(before, trainer.model)
    return metrics


# ---------------------------------------------------------------------------------------------
# Logging and saving


def metrics_log_callback(path: Path, fresh: bool = True):
    """A TrainerCallback that marks the output folder as a medchat run when training starts
    (training/runs.py) and appends every log event (loss, learning rate, ...) to ``path`` as JSONL.
    ``fresh`` starts a new log (a resumed run keeps appending to its old one)."""
    from transformers import TrainerCallback

    if fresh:
        path.unlink(missing_ok=True)

    class MetricsLog(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                mark_run(path.parent)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return MetricsLog()


def _plain(value):
    """A YAML/JSON-safe copy of a config value."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def report(summary: dict, output_dir: str) -> None:
    """Print a stage's headline metrics and where it saved, once (the main process under accelerate)."""
    from accelerate import PartialState

    if PartialState().is_main_process:
        print(summary)
        print(f"saved to {output_dir}")


def save_stage(
    cfg,
    model,
    tokenizer,
    base: str,
    metrics: dict,
    data: dict,
    task: str = "causal-lm",
    trainer=None,
) -> Path:
    """Save the trained model (or adapter) and tokenizer, and beside them the stage metadata, the
    resolved config, the final metrics and the data fingerprint. With a ``trainer`` the weights go
    through ``trainer.save_model`` (which gathers ZeRO-3/FSDP shards); files are written by the main
    process only."""
    import yaml
    from accelerate import PartialState
    from peft import PeftModel

    out = Path(cfg.output_dir)
    adapter = isinstance(model, PeftModel)
    (model.get_base_model() if adapter else model).config.use_cache = True  # serving wants the KV cache
    if trainer is not None:
        trainer.save_model(str(out))  # every process takes part; the main process writes
    elif PartialState().is_main_process:
        model.save_pretrained(out)
    if not PartialState().is_main_process:
        return out
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    meta = {
        "stage": cfg.stage,
        "task": task,
        "base_model": base,
        "adapter": adapter,
        "quant": quant_of(cfg),
        "chat_template": tokenizer.chat_template is not None,
        # how the run was spread: NO (one process), MULTI_GPU / MULTI_CPU (DDP), FSDP, DEEPSPEED
        "distributed": {
            "type": PartialState().distributed_type.value,
            "processes": PartialState().num_processes,
        },
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (out / STAGE_FILE).write_text(json.dumps(meta, indent=2))
    (out / "config.yaml").write_text(
        yaml.safe_dump(_plain(cfg.to_dict()), sort_keys=True, allow_unicode=True)
    )
    (out / "metrics.json").write_text(json.dumps(_plain(metrics), indent=2, ensure_ascii=False))
    (out / "data.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    log.info("%s stage saved to %s", cfg.stage, out)
    return out


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
