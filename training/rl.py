"""Online RL against the trained reward model: GRPO, RLOO (TRL trainers) or rejection sampling
(ChiMed-GPT's method: best-of-n samples kept and fine-tuned on).

    python -m training rl --config recipes/rl/tiny.yaml --method rejection-sampling
    python -m training rl --config recipes/rl/qwen2.5-7b-qlora.yaml --from runs/sft --reward_model runs/rm

Prompts come from ``train_files`` (training/data.py prompt formats). The reward model is
``--reward_model`` (a ``training rm`` output, adapter or full), by default ``<artifacts>/runs/rm``.

``--method rejection-sampling``: for each of ``rs_iterations`` rounds, every prompt gets
``num_generations`` completions sampled through model/generate.py's ``generate_batch``; the reward
model scores them; the best one per prompt is kept (only if its score reaches ``rs_threshold``,
when set), and the policy is fine-tuned on the kept replies with the sft machinery (SFTTrainer,
assistant-only loss, the same optimiser settings). Saved beside the model:
``rejection_sampling/iteration-K.jsonl`` (every prompt's candidates, their scores and the kept one)
and ``reward_distribution.json``.

For every method, ``metrics.json`` holds the reward of completions sampled on the held-out
prompts (``eval_fraction`` / ``eval_files``; the training prompts when there are none) before and
after training: ``reward_before`` / ``reward_after`` (means) and their distributions.
"""

from __future__ import annotations

import json
import logging
import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

from trl import GRPOConfig

from model import artifacts_dir
from model.chat import render
from model.generate import GenerationSettings, generate_batch
from training.common import (
    STAGE_FILE,
    StageArgs,
    StageError,
    changed_fraction,
    full_model_of,
    load_for_training,
    load_tokenizer,
    lora_config,
    metrics_log_callback,
    parse_config,
    resolve_base,
    resume_checkpoint,
    save_stage,
    snapshot_trainable,
    torch_dtype,
)
from training.data import read_prompts, read_split
from training.rm import score

log = logging.getLogger("training.rl")
METHODS = ("grpo", "rloo", "rejection-sampling")


@dataclass
class RLConfig(StageArgs, GRPOConfig):
    """RL stage: StageArgs + TRL's GRPOConfig. The sampling fields (num_generations,
    max_completion_length, temperature, top_p, repetition_penalty) apply to every method; RLOO
    takes the fields it shares with GRPO."""

    stage = "rl"
    previous = "sft"
    method: str = field(
        default="grpo", metadata={"help": "grpo, rloo or rejection-sampling.", "choices": list(METHODS)}
    )
    reward_model: str | None = field(
        default=None,
        metadata={"help": "Reward model folder (a `training rm` output). Default <artifacts>/runs/rm."},
    )
    rs_iterations: int = field(
        default=1, metadata={"help": "Rejection sampling: sample-select-train rounds."}
    )
    rs_threshold: float | None = field(
        default=None,
        metadata={"help": "Rejection sampling: keep a prompt's best reply only if it scores >= this."},
    )
    rs_max_length: int = field(
        default=2048,
        metadata={"help": "Rejection sampling: token limit of prompt + kept reply when fine-tuning."},
    )
    reward_eval_samples: int = field(
        default=4, metadata={"help": "Completions sampled per held-out prompt to measure the reward."}
    )
    sampling_batch_size: int = field(default=16, metadata={"help": "Prompts per generate_batch call."})

    def __post_init__(self):
        super().__post_init__()
        if self.method == "rejection-sampling" and self.resume:
            raise StageError("--resume applies to grpo and rloo; rejection sampling restarts its rounds")


# ---------------------------------------------------------------------------------------------
# Reward model and sampling


def load_reward_model(path: str | None, quant: str = "none"):
    """(model, tokenizer) of a reward model: a ``training rm`` output (adapter runs are merged once)
    or any sequence-classification model folder with one label. ``quant`` loads it 4-/8-bit, as the
    policy is loaded, so a QLoRA run keeps both models on one GPU."""
    import torch
    from accelerate import PartialState
    from transformers import AutoModelForSequenceClassification

    from model.load import quantization_config

    path = path or str(artifacts_dir() / "runs" / "rm")
    if not Path(path).exists():
        raise StageError(
            f"reward model not found: {path} (train one with `python -m training rm` or pass --reward_model)"
        )
    if (Path(path) / STAGE_FILE).exists():
        path = full_model_of(path)
    device = PartialState().device  # this process's device under accelerate launch
    kwargs = {"num_labels": 1, "dtype": torch_dtype("auto")}
    bnb = quantization_config(quant, "cuda" if torch.cuda.is_available() else "cpu")
    if bnb is not None:
        kwargs.update(quantization_config=bnb, device_map={"": device})
    model = AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    tokenizer = load_tokenizer(path)
    model.config.pad_token_id = tokenizer.pad_token_id
    if bnb is None:
        model.to(device)
    return model.eval(), tokenizer


@contextmanager
def sampling_mode(model, top_k: int):
    """Eval mode, the KV cache on (training turns it off) and the config's ``top_k`` (0: off, as
    GRPO/RLOO sample) while sampling; the model's settings come back afterwards."""
    was_training, gen = model.training, model.generation_config
    saved = model.config.use_cache, gen.use_cache, gen.top_k
    model.eval()
    model.config.use_cache = gen.use_cache = True
    gen.top_k = top_k
    try:
        yield
    finally:
        model.config.use_cache, gen.use_cache, gen.top_k = saved
        model.train(was_training)


def settings_of(cfg) -> GenerationSettings:
    """model/generate.py settings from the config's sampling fields."""
    return GenerationSettings(
        max_new_tokens=cfg.max_completion_length,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        repetition_penalty=cfg.repetition_penalty,
    )


def sample(model, tokenizer, prompts: list[list[dict]], n: int, cfg) -> list[list[str]]:
    """``n`` completions per prompt through model/generate.py (prompts rendered by model/chat.py)."""
    from tqdm.auto import tqdm

    settings = settings_of(cfg)
    texts = [render(tokenizer, p, add_generation_prompt=True) for p in prompts]
    out: list[list[str]] = []
    with sampling_mode(model, cfg.top_k):
        batches = range(0, len(texts), cfg.sampling_batch_size)
        for start in tqdm(batches, desc="sampling", disable=cfg.disable_tqdm, leave=False):
            out += generate_batch(
                model, tokenizer, texts[start : start + cfg.sampling_batch_size], settings, n
            )
    return out


def score_groups(rm, rm_tok, prompts: list[list[dict]], groups: list[list[str]]) -> list[list[float]]:
    """Reward of every completion, grouped like ``groups``."""
    flat_prompts = [p for p, g in zip(prompts, groups, strict=True) for _ in g]
    flat = score(rm, rm_tok, flat_prompts, [c for g in groups for c in g])
    out, i = [], 0
    for g in groups:
        out.append(flat[i : i + len(g)])
        i += len(g)
    return out


def reward_function(rm, rm_tok):
    """The trained reward model as a GRPO/RLOO reward function, scoring exactly as it was trained and
    as rejection sampling scores (training/rm.py ``score``: prompt + reply rendered by model/chat.py)."""

    def reward_model(prompts, completions, **kwargs) -> list[float]:
        replies = [c[-1]["content"] for c in completions]  # conversational: [{"role": "assistant", ...}]
        return score(rm, rm_tok, prompts, replies)

    return reward_model


def distribution(values: list[float]) -> dict:
    """Summary of a reward sample: mean, standard deviation, quartiles, range, count."""
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "mean": statistics.fmean(values),
        "std": statistics.pstdev(values),
        "min": min(values),
        "q1": q[0],
        "median": q[1],
        "q3": q[2],
        "max": max(values),
        "n": len(values),
    }


def measure_reward(model, tokenizer, rm, rm_tok, prompts, cfg, seed: int) -> list[float]:
    """Rewards of ``reward_eval_samples`` completions per prompt (fixed seed, comparable runs)."""
    import torch

    torch.manual_seed(seed)
    groups = sample(model, tokenizer, prompts, cfg.reward_eval_samples, cfg)
    return [s for g in score_groups(rm, rm_tok, prompts, groups) for s in g]


def select_best(prompts, groups, scores, threshold: float | None) -> list[dict]:
    """Per prompt: every candidate with its score and the kept (argmax) one, or None when the best
    score is below ``threshold``."""
    records = []
    for prompt, cands, vals in zip(prompts, groups, scores, strict=True):
        best = max(range(len(vals)), key=vals.__getitem__)
        keep = threshold is None or vals[best] >= threshold
        records.append(
            {
                "prompt": prompt,
                "candidates": [{"text": c, "score": s} for c, s in zip(cands, vals, strict=True)],
                "kept": {"text": cands[best], "score": vals[best], "index": best} if keep else None,
            }
        )
    return records


# ---------------------------------------------------------------------------------------------
# The stage


def sft_config_of(cfg: RLConfig, output_dir: str):
    """The SFT config for fine-tuning on the kept replies: the optimiser, schedule, batch and logging
    settings (TrainingArguments fields) and the model/LoRA fields of ``cfg``; SFT's own defaults
    otherwise (GRPO fields with the same names, such as loss_type, mean something else)."""
    from transformers import TrainingArguments

    from training.sft import SFTStageConfig

    shared = {f.name for f in fields(TrainingArguments)} | {f.name for f in fields(StageArgs)}
    values = {f.name: getattr(cfg, f.name) for f in fields(SFTStageConfig) if f.init and f.name in shared}
    values.update(
        output_dir=output_dir,
        resume=False,
        model_name_or_path=None,
        from_run=None,
        save_strategy="no",
        max_length=cfg.rs_max_length,
    )
    return SFTStageConfig(**values)


def rejection_sampling(cfg, model, tokenizer, rm, rm_tok, prompts, callbacks):
    """Best-of-n rounds: sample, score, keep the argmax per prompt, fine-tune on the kept replies.
    Returns (model, metrics, the last round's trainer or None)."""
    import torch
    from peft import PeftModel
    from trl import SFTTrainer

    from training.sft import tokenize_conversations

    out = Path(cfg.output_dir) / "rejection_sampling"
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict = {"iterations": []}
    log_callback = metrics_log_callback(Path(cfg.output_dir) / "metrics.jsonl")
    trainer = None
    for k in range(1, cfg.rs_iterations + 1):
        torch.manual_seed(cfg.seed + k)
        groups = sample(model, tokenizer, prompts, cfg.num_generations, cfg)
        scores = score_groups(rm, rm_tok, prompts, groups)
        records = select_best(prompts, groups, scores, cfg.rs_threshold)
        with (out / f"iteration-{k}.jsonl").open("w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        kept = [r for r in records if r["kept"]]
        info = {
            "iteration": k,
            "prompts": len(records),
            "kept": len(kept),
            "sampled": distribution([s for g in scores for s in g]),
            "kept_scores": distribution([r["kept"]["score"] for r in kept]) if kept else None,
        }
        log.info("rejection sampling round %d: kept %d of %d prompts", k, len(kept), len(records))
        if kept:
            conversations = [
                r["prompt"] + [{"role": "assistant", "content": r["kept"]["text"]}] for r in kept
            ]
            trainer = SFTTrainer(
                model=model,
                args=sft_config_of(cfg, str(out / f"iteration-{k}")),
                train_dataset=tokenize_conversations(tokenizer, conversations),
                processing_class=tokenizer,
                # round 1 adds the LoRA adapter; later rounds keep training the same one
                peft_config=None if isinstance(model, PeftModel) else lora_config(cfg),
                callbacks=[log_callback, *callbacks],
            )
            info["train"] = trainer.train().metrics
            model = trainer.model
        metrics["iterations"].append(info)
    return model, metrics, trainer


def rloo_config_of(cfg: RLConfig):
    """RLOOConfig from the fields it shares with the GRPO-based RLConfig (generation_batch_size is
    left for RLOO to derive from steps_per_generation, which GRPO resolved: it refuses both)."""
    from trl import RLOOConfig

    shared = {f.name for f in fields(RLConfig)} - {"generation_batch_size"}
    return RLOOConfig(
        **{f.name: getattr(cfg, f.name) for f in fields(RLOOConfig) if f.init and f.name in shared}
    )


def train(cfg: RLConfig, callbacks=()):
    """Run the stage (extra TrainerCallbacks optional); returns (model, metrics)."""
    from datasets import Dataset
    from trl import GRPOTrainer, RLOOTrainer

    base = resolve_base(cfg)
    model, tokenizer = load_for_training(cfg, base)
    rm, rm_tok = load_reward_model(cfg.reward_model, cfg.quant)
    prompts, held, data = read_split(cfg, read_prompts)
    probe = held or prompts
    before = measure_reward(model, tokenizer, rm, rm_tok, probe, cfg, cfg.seed)
    metrics: dict = {"method": cfg.method, "reward_before": distribution(before)["mean"]}
    if cfg.method == "rejection-sampling":
        snapshot = snapshot_trainable(model) if not cfg.use_peft else None
        model, rs_metrics, trainer = rejection_sampling(cfg, model, tokenizer, rm, rm_tok, prompts, callbacks)
        metrics["rejection_sampling"] = rs_metrics
        if snapshot is not None:
            metrics["trainable_changed_fraction"] = changed_fraction(snapshot, model)
    else:
        trainer_cls, args = (GRPOTrainer, cfg) if cfg.method == "grpo" else (RLOOTrainer, rloo_config_of(cfg))
        trainer = trainer_cls(
            model=model,
            reward_funcs=reward_function(rm, rm_tok),
            args=args,
            train_dataset=Dataset.from_dict({"prompt": prompts}),
            processing_class=tokenizer,
            peft_config=lora_config(cfg),
            callbacks=[
                metrics_log_callback(Path(cfg.output_dir) / "metrics.jsonl", not cfg.resume),
                *callbacks,
            ],
        )
        snapshot = snapshot_trainable(trainer.model)
        metrics.update(trainer.train(resume_from_checkpoint=resume_checkpoint(cfg)).metrics)
        metrics["trainable_changed_fraction"] = changed_fraction(snapshot, trainer.model)
        model = trainer.model
    after = measure_reward(model, tokenizer, rm, rm_tok, probe, cfg, cfg.seed)
    metrics["reward_after"] = distribution(after)["mean"]
    out = save_stage(cfg, model, tokenizer, base, metrics, data, trainer=trainer)
    (out / "reward_distribution.json").write_text(
        json.dumps(
            {"prompts": len(probe), "before": distribution(before), "after": distribution(after)}, indent=2
        )
    )
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    cfg = parse_config(RLConfig, argv)
    _, metrics = train(cfg)
    print({k: metrics[k] for k in ("method", "reward_before", "reward_after")})
    print(f"saved to {cfg.output_dir}")


if __name__ == "__main__":
    main()
