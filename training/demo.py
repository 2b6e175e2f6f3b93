"""Build the offline demo model: the app's default when no --model is given.

    python -m training demo                 # -> <artifacts>/demo-model (MEDCHAT_HOME moves it)
    python -m training demo --out DIR --with-rl

No download: a byte-level BPE tokenizer is trained on data/samples, a small Llama-architecture
model is initialised at random (model/tiny.py), and the real training stages run on the sample
data with the tiny recipes (recipes/<stage>/tiny.yaml): pt on data/samples/corpus, sft on
data/samples/dialogues.jsonl, dpo (LoRA, then merged) on data/samples/preferences.jsonl; with
``--with-rl`` also rm on the preferences and rl (rejection sampling) on data/samples/rl_prompts.jsonl
before dpo. About two minutes on 2 CPU cores. The result is a full model folder that
``model.load.load_model(path)``, app.py and model.server load with ``--model DIR``, marked as a
demo by ``medchat_demo.json``.

The demo model is a toy: it strings together phrases from the sample texts and gives no medical
advice.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from model import REPO_ROOT, artifacts_dir

MARKER = "medchat_demo.json"
SAMPLES = REPO_ROOT / "data" / "samples"
RECIPES = REPO_ROOT / "recipes"
NOTE = (
    "Demonstration model: a tiny network trained in minutes on medchat's sample texts. It imitates "
    "the style of the samples, gives no medical advice, and must not be used for health decisions."
)
VOCAB_SIZE = 3000
MODEL_SHAPE = {"hidden_size": 128, "num_layers": 4, "num_heads": 4}

log = logging.getLogger("training.demo")


def demo_model_dir() -> Path:
    """Where the demo model lives: ``<artifacts>/demo-model``."""
    return artifacts_dir() / "demo-model"


def ensure_demo_model() -> Path:
    """The demo model folder, built first (with a progress bar, about two minutes) when missing."""
    out = demo_model_dir()
    if (out / MARKER).exists():
        return out
    return build_demo(out)


def _sample_texts() -> list[str]:
    """Every text of data/samples' training files, for training the demo tokenizer."""
    from training.data import read_conversations, read_preferences, read_prompts, read_texts

    texts = read_texts(SAMPLES / "corpus")
    texts += [m["content"] for conv in read_conversations(SAMPLES / "dialogues.jsonl") for m in conv]
    for pair in read_preferences(SAMPLES / "preferences.jsonl"):
        texts += [m["content"] for m in pair.prompt] + [pair.chosen, pair.rejected]
    texts += [m["content"] for conv in read_prompts(SAMPLES / "rl_prompts.jsonl") for m in conv]
    return texts


def _progress_callback(bar):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            bar.update(1)

    return Progress()


def _run_stage(module, config_cls, recipe: Path, flags: list[str], bar) -> dict:
    """Run one stage from its tiny recipe with path flags; returns its metrics."""
    from training.common import parse_config

    cfg = parse_config(config_cls, ["--config", str(recipe), *flags, "--disable_tqdm", "true"])
    bar.set_description(f"demo: {cfg.stage}")
    trainer_metrics = module.train(cfg, callbacks=[_progress_callback(bar)])[1]
    return {k: v for k, v in trainer_metrics.items() if isinstance(v, int | float)}


def _steps(recipe: Path) -> int:
    """Optimizer steps a tiny recipe runs (rejection sampling runs max_steps per round)."""
    import yaml

    cfg = yaml.safe_load(recipe.read_text())
    return int(cfg["max_steps"]) * int(cfg.get("rs_iterations", 1))


def build_demo(out_dir: str | Path | None = None, with_rl: bool = False, progress: bool = True) -> Path:
    """Train the demo model into ``out_dir`` (default :func:`demo_model_dir`) and return the folder.

    The model is built in a temporary folder beside ``out_dir`` and moved into place at the end, so
    an interrupted build never leaves a half-made demo model behind."""
    import datasets
    import torch
    import transformers

    out = Path(out_dir) if out_dir else demo_model_dir()
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise FileExistsError(f"{out} exists and is not a medchat demo model; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    threads = torch.get_num_threads()
    # When other processes already keep every core busy, extra threads only spin waiting for each other
    # (measured here: one thread ran a tiny model 30x faster than two on a loaded 2-core machine).
    torch.set_num_threads(1 if os.getloadavg()[0] >= (os.cpu_count() or 1) else threads)
    datasets.disable_progress_bars()  # the demo shows one bar for the whole build
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        # the Trainer prints each stage's logs when its own bar is off; the demo shows one bar instead
        with contextlib.redirect_stdout(io.StringIO()):
            return _build(out, with_rl, progress, started)
    finally:
        torch.set_num_threads(threads)
        datasets.enable_progress_bars()
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


def _build(out: Path, with_rl: bool, progress: bool, started: float) -> Path:
    from tqdm.auto import tqdm

    from model.tiny import save, tiny_llama, train_tokenizer
    from training import dpo, pt, sft
    from training.merge import merge_adapter

    stages = ["pt", "sft"] + (["rm", "rl"] if with_rl else []) + ["dpo"]
    total = sum(_steps(RECIPES / s / "tiny.yaml") for s in stages)
    metrics: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-build-") as tmp:
        work = Path(tmp)
        bar = tqdm(total=total, desc="demo: tokenizer", unit="step", disable=not progress)
        tokenizer = train_tokenizer(_sample_texts(), vocab_size=VOCAB_SIZE)
        base = save(tiny_llama(tokenizer, **MODEL_SHAPE), tokenizer, work / "base")
        corpus, dialogues = SAMPLES / "corpus", SAMPLES / "dialogues.jsonl"
        prefs, prompts = SAMPLES / "preferences.jsonl", SAMPLES / "rl_prompts.jsonl"
        metrics["pt"] = _run_stage(
            pt, pt.PTConfig, RECIPES / "pt/tiny.yaml",
            ["--model_name_or_path", str(base), "--train_files", str(corpus), "--output_dir", str(work / "pt")],
            bar,
        )  # fmt: skip
        metrics["sft"] = _run_stage(
            sft, sft.SFTStageConfig, RECIPES / "sft/tiny.yaml",
            ["--from", str(work / "pt"), "--train_files", str(dialogues), "--output_dir", str(work / "sft")],
            bar,
        )  # fmt: skip
        policy = work / "sft"
        if with_rl:
            from training import rl, rm

            metrics["rm"] = _run_stage(
                rm, rm.RMConfig, RECIPES / "rm/tiny.yaml",
                ["--from", str(policy), "--train_files", str(prefs), "--output_dir", str(work / "rm")],
                bar,
            )  # fmt: skip
            metrics["rl"] = _run_stage(
                rl, rl.RLConfig, RECIPES / "rl/tiny.yaml",
                ["--from", str(policy), "--reward_model", str(work / "rm"), "--train_files", str(prompts),
                 "--output_dir", str(work / "rl"), "--method", "rejection-sampling"],
                bar,
            )  # fmt: skip
            policy = work / "rl"
        metrics["dpo"] = _run_stage(
            dpo, dpo.DPOStageConfig, RECIPES / "dpo/tiny.yaml",
            ["--from", str(policy), "--train_files", str(prefs), "--output_dir", str(work / "dpo")],
            bar,
        )  # fmt: skip
        bar.set_description("demo: merge")
        final = merge_adapter(work / "dpo", work / "final")
        n_params = sum(p.numel() for p in tiny_llama(tokenizer, **MODEL_SHAPE).parameters())
        marker = {
            "demo": True,
            "note": NOTE,
            "stages": stages,
            "with_rl": with_rl,
            "parameters": n_params,
            "tokenizer_vocab": len(tokenizer),
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
        description="Build the offline demo model (tiny, trained on data/samples; no medical advice).",
    )
    parser.add_argument("--out", default=None, help=f"output folder (default: {demo_model_dir()})")
    parser.add_argument("--with-rl", action="store_true", help="also train a reward model and run rl")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.getLogger("training").setLevel(logging.WARNING)
    out = build_demo(args.out, with_rl=args.with_rl, progress=not args.quiet)
    meta = json.loads((out / MARKER).read_text())
    print(
        f"demo model ({meta['parameters'] / 1e6:.1f}M parameters, built in {meta['build_seconds']} s): {out}"
    )
    print(f"run the app on it: python app.py --model {out}")


if __name__ == "__main__":
    main()
