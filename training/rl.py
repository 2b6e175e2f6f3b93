"""Online RL against the trained reward model: GRPO, RLOO (TRL trainers) or rejection sampling
(ChiMed-GPT's method: best-of-n samples kept and fine-tuned on).

    python -m training rl --config recipes/rl/tiny.yaml --method rejection-sampling
    python -m training rl --config recipes/rl/qwen2.5-7b-qlora.yaml --from runs/sft --reward_model runs/rm

Prompts come from ``train_files`` (training/data.py prompt formats). The reward model is
``--reward_model`` (a ``training rm`` output, adapter or full), by default ``<artifacts>/runs/rm``.

``--rewards accuracy,format[,model]`` (GRPO, RLOO) adds rule-based rewards checked against a known
answer (training/rewards.py), weighted by ``reward_weights``; ``train_files`` then hold verifiable
problems (``{question, options?, answer}``, HuatuoGPT-o1's open-ended verifiable questions):

    python -m training rl --config recipes/rl/tiny-verifiable.yaml --from runs/tiny/sft

``--method rejection-sampling``: for each of ``rs_iterations`` rounds, every prompt gets
``num_generations`` completions sampled through model/generate.py's ``generate_batch``; the reward
model scores them; the best one per prompt is kept (only if its score reaches ``rs_threshold``,
when set), and the policy is fine-tuned on the kept replies with the sft machinery (SFTTrainer,
assistant-only loss, the same optimiser settings). Saved beside the model:
``rejection_sampling/iteration-K.jsonl`` (every prompt's candidates, their scores and the kept one)
and ``reward_distribution.json``.

Rejection sampling resumes with ``--resume``: candidates and scores are appended to
``rejection_sampling/iteration-K.partial.jsonl`` one sampling batch at a time (each batch with its
own seed, so a resumed round samples exactly what the uninterrupted one would), every finished
round saves its policy (the LoRA adapter, or the full model) to ``iteration-K/policy`` and records
itself in ``rejection_sampling/state.json``. A killed run continues at the first batch not on disk;
a round killed while fine-tuning repeats that round's fine-tuning (its samples are kept).

For every method, ``metrics.json`` holds the reward of completions sampled on the held-out
prompts (``eval_fraction`` / ``eval_files``; the training prompts when there are none) before and
after training: ``reward_before`` / ``reward_after`` (means) and their distributions.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

from trl import GRPOConfig, get_peft_config

from datagen.records import JsonlWriter, resume_jsonl, write_jsonl_atomic
from model.chat import render
from model.generate import GenerationSettings, generate_batch
from training.common import (
    StageArgs,
    StageError,
    changed_fraction,
    load_for_training,
    load_reward_model,
    metrics_log_callback,
    parse_config,
    report,
    resolve_base,
    resume_checkpoint,
    save_stage,
    snapshot_trainable,
)
from training.data import read_prompts, read_split, read_verifiable
from training.rewards import group_scorer, parse_rewards, reward_funcs
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
    rewards: str = field(
        default="model",
        metadata={
            "help": "Comma-separated rewards: model (the reward model), accuracy and format (rule-based, "
            "training/rewards.py; data: verifiable problems). Weights: reward_weights, in this order."
        },
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


# ---------------------------------------------------------------------------------------------
# Reward model and sampling


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


def sample(
    model, tokenizer, prompts: list[list[dict]], n: int, cfg, progress: bool = True
) -> list[list[str]]:
    """``n`` completions per prompt through model/generate.py (prompts rendered by model/chat.py)."""
    from tqdm.auto import tqdm

    settings = settings_of(cfg)
    texts = [render(tokenizer, p, add_generation_prompt=True) for p in prompts]
    out: list[list[str]] = []
    with sampling_mode(model, cfg.top_k):
        batches = range(0, len(texts), cfg.sampling_batch_size)
        quiet = cfg.disable_tqdm or not progress
        for start in tqdm(batches, desc="sampling", disable=quiet, leave=False):
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


def measure_reward(model, tokenizer, scorer, prompts, cfg, seed: int) -> list[float]:
    """Rewards of ``reward_eval_samples`` completions per prompt (fixed seed, comparable runs);
    ``scorer(prompts, groups)`` scores them (training/rewards.py ``group_scorer``)."""
    import torch

    torch.manual_seed(seed)
    groups = sample(model, tokenizer, prompts, cfg.reward_eval_samples, cfg)
    return [s for g in scorer(prompts, groups) for s in g]


def reward_setup(cfg: RLConfig):
    """(reward names, data reader) for ``--rewards``: the reward model alone reads prompts; the
    rule-based rewards read verifiable problems (question, answer, options)."""
    try:
        names = parse_rewards(cfg.rewards)
    except ValueError as err:
        raise StageError(str(err)) from None
    if cfg.method == "rejection-sampling" and names != ["model"]:
        raise StageError("rejection sampling ranks samples with the reward model: use --rewards model")
    if cfg.reward_weights is not None and len(cfg.reward_weights) != len(names):
        raise StageError(f"reward_weights has {len(cfg.reward_weights)} values for --rewards {cfg.rewards}")
    return names, (read_prompts if names == ["model"] else read_verifiable)


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


RS_STATE = "state.json"


def _write_json(path: Path, obj) -> None:
    """Write JSON atomically (a kill leaves the old file or the new one, never half of one)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _rs_dir(cfg) -> Path:
    return Path(cfg.output_dir) / "rejection_sampling"


def _newest_policy(state: dict) -> str | None:
    """The policy folder (relative to the rejection_sampling folder) of the newest finished round."""
    return state["done"][-1].get("policy") if state["done"] else None


def rs_state(cfg, data: dict) -> dict:
    """Rejection sampling's progress record: a fresh one (clearing an old run's rounds), or with
    ``--resume`` the killed run's, which must have read the same data."""
    out = _rs_dir(cfg)
    path = out / RS_STATE
    if not cfg.resume:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        state = {"data_sha256": data["sha256"], "reward_before": None, "done": []}
        _write_json(path, state)
        return state
    if not path.exists():
        raise StageError(f"--resume: no rejection sampling progress ({path}) to resume from")
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("complete"):
        raise StageError(
            f"--resume: the run in {cfg.output_dir} already finished; to train further, start a new "
            f"run with --from {cfg.output_dir}"
        )
    if state.get("data_sha256") != data["sha256"]:
        raise StageError(
            f"--resume: the prompt files differ from the ones the run in {cfg.output_dir} started with; "
            "resume with the same data or start a new run without --resume"
        )
    log.info(
        "resuming rejection sampling in %s: %d of %d rounds done",
        out, len(state["done"]), cfg.rs_iterations,
    )  # fmt: skip
    return state


def _round_policy(k: int) -> Path:
    return Path(f"iteration-{k}") / "policy"


def load_round_policy(cfg, model, path: Path):
    """The policy a finished round saved: its LoRA adapter on the freshly loaded base, or the full model."""
    if cfg.use_peft:
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(path), is_trainable=True)
    return load_for_training(cfg, str(path))[0]


def sample_and_score(cfg, model, tokenizer, rm, rm_tok, prompts, k: int, out: Path):
    """Round ``k``'s candidates and scores, one sampling batch at a time, each appended to
    ``iteration-K.partial.jsonl`` as soon as it is scored; batches already there are reused."""
    import torch
    from tqdm.auto import tqdm

    partial = out / f"iteration-{k}.partial.jsonl"
    have = {row["batch"]: row for row in resume_jsonl(partial)}  # a line cut off by a kill is dropped
    size = cfg.sampling_batch_size
    starts = list(range(0, len(prompts), size))
    if have:
        log.info("round %d: %d of %d sampling batches already on disk", k, len(have), len(starts))
    groups, scores = [], []
    with JsonlWriter(partial) as f:
        for b, start in enumerate(tqdm(starts, desc=f"round {k} sampling", disable=cfg.disable_tqdm)):
            if b not in have:
                chunk = prompts[start : start + size]
                torch.manual_seed(cfg.seed + 100_003 * k + b)  # per batch: a resumed round matches
                g = sample(model, tokenizer, chunk, cfg.num_generations, cfg, progress=False)
                row = {"batch": b, "groups": g, "scores": score_groups(rm, rm_tok, chunk, g)}
                f.write(row)
                have[b] = row
            groups += have[b]["groups"]
            scores += have[b]["scores"]
    return groups, scores


def rejection_sampling(cfg, model, tokenizer, rm, rm_tok, prompts, callbacks, state: dict):
    """Best-of-n rounds: sample, score, keep the argmax per prompt, fine-tune on the kept replies.
    Continues after the rounds ``state`` records as done. Returns (model, metrics, the last
    round's trainer or None)."""
    from peft import PeftModel
    from trl import SFTTrainer

    from training.sft import tokenize_conversations

    out = _rs_dir(cfg)
    log_callback = metrics_log_callback(Path(cfg.output_dir) / "metrics.jsonl", fresh=not cfg.resume)
    trainer = None
    for info in state["done"]:  # a kill between saving the state and removing the batches leaves them
        (out / f"iteration-{info['iteration']}.partial.jsonl").unlink(missing_ok=True)
    for k in range(len(state["done"]) + 1, cfg.rs_iterations + 1):
        groups, scores = sample_and_score(cfg, model, tokenizer, rm, rm_tok, prompts, k, out)
        records = select_best(prompts, groups, scores, cfg.rs_threshold)
        write_jsonl_atomic(out / f"iteration-{k}.jsonl", records)
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
                peft_config=None if isinstance(model, PeftModel) else get_peft_config(cfg),
                callbacks=[log_callback, *callbacks],
            )
            info["train"] = trainer.train().metrics
            model = trainer.model
        previous = _newest_policy(state)
        if kept:  # the policy a resumed run starts from (relative to the rejection_sampling folder)
            model.save_pretrained(str(out / _round_policy(k)))
            info["policy"] = str(_round_policy(k))
        else:  # nothing kept, nothing trained: the policy is still the previous round's
            info["policy"] = previous
        state["done"].append(info)
        _write_json(out / RS_STATE, state)
        (out / f"iteration-{k}.partial.jsonl").unlink(missing_ok=True)
        if kept and previous:  # only the newest policy is needed to resume
            shutil.rmtree(out / previous, ignore_errors=True)
    return model, {"iterations": state["done"]}, trainer


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
    names, reader = reward_setup(cfg)
    rm, rm_tok = load_reward_model(cfg.reward_model, cfg, cfg.trust_remote_code) if "model" in names else (None, None)
    rows, held, data = read_split(cfg, reader)
    if reader is read_prompts:
        rows, held = [{"prompt": p} for p in rows], [{"prompt": p} for p in held]
    prompts, probe_rows = [r["prompt"] for r in rows], held or rows
    probe = [r["prompt"] for r in probe_rows]
    funcs = reward_funcs(names, reward_function(rm, rm_tok) if rm is not None else None)
    columns = {k: [r[k] for r in probe_rows] for k in probe_rows[0] if k != "prompt"}
    scorer = group_scorer(funcs, cfg.reward_weights, columns)
    state = rs_state(cfg, data) if cfg.method == "rejection-sampling" else None
    if state is not None and state["reward_before"] is not None:
        before = state["reward_before"]  # measured on the base policy before the run was killed
    else:
        before = measure_reward(model, tokenizer, scorer, probe, cfg, cfg.seed)
        if state is not None:
            state["reward_before"] = before
            _write_json(_rs_dir(cfg) / RS_STATE, state)
    metrics: dict = {"method": cfg.method, "rewards": names, "reward_before": distribution(before)["mean"]}
    if state is not None:
        snapshot = snapshot_trainable(model) if not cfg.use_peft else None
        if _newest_policy(state):
            model = load_round_policy(cfg, model, _rs_dir(cfg) / _newest_policy(state))
        model, rs_metrics, trainer = rejection_sampling(
            cfg, model, tokenizer, rm, rm_tok, prompts, callbacks, state
        )
        metrics["rejection_sampling"] = rs_metrics
        if snapshot is not None:
            metrics["trainable_changed_fraction"] = changed_fraction(snapshot, model)
    else:
        trainer_cls, args = (GRPOTrainer, cfg) if cfg.method == "grpo" else (RLOOTrainer, rloo_config_of(cfg))
        trainer = trainer_cls(
            model=model,
            reward_funcs=funcs,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=get_peft_config(cfg),
            callbacks=[
                metrics_log_callback(Path(cfg.output_dir) / "metrics.jsonl", not cfg.resume),
                *callbacks,
            ],
        )
        snapshot = snapshot_trainable(trainer.model)
        metrics.update(trainer.train(resume_from_checkpoint=resume_checkpoint(cfg)).metrics)
        metrics["trainable_changed_fraction"] = changed_fraction(snapshot, trainer.model)
        model = trainer.model
    after = measure_reward(model, tokenizer, scorer, probe, cfg, cfg.seed)
    metrics["reward_after"] = distribution(after)["mean"]
    out = save_stage(cfg, model, tokenizer, base, metrics, data, trainer=trainer)
    (out / "reward_distribution.json").write_text(
        json.dumps(
            {"prompts": len(probe), "before": distribution(before), "after": distribution(after)}, indent=2
        )
    )
    if state is not None:  # the stage's output now holds the last policy: drop the resume copy
        if _newest_policy(state):
            shutil.rmtree(_rs_dir(cfg) / _newest_policy(state), ignore_errors=True)
        state["complete"] = True
        _write_json(_rs_dir(cfg) / RS_STATE, state)
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    cfg = parse_config(RLConfig, argv)
    _, metrics = train(cfg)
    report({k: metrics[k] for k in ("method", "reward_before", "reward_after")}, cfg.output_dir)


if __name__ == "__main__":
    main()
