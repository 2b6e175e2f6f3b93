"""Generation speed: the streaming path (model/generate.py TextStream) against raw ``model.generate``.

    python benchmarks/bench_generate.py                      # CPU: tiny and ~100M random Llama
    python benchmarks/bench_generate.py --gpu                # + 7B-shaped bf16 vs 4-bit NF4 (needs CUDA)
    python benchmarks/bench_generate.py --sizes tiny --reps 3 --json out.json
    python benchmarks/bench_generate.py --sizes tiny --stream-interval 0 0.01 0.02 0.05   # the trade-off
    python benchmarks/bench_generate.py --model smollm2 --precision fp32 --reps 3   # a real model on CPU
    (--model takes a folder or a .gguf file, or smollm2 for the wheel's SmolLM2-135M-Instruct; one
    --precision fp32 | bf16 | nf4 per run, so the reported peak RSS is that precision's alone)

Both paths decode the same chat prompt greedily with the same ``GenerationSettings.generate_kwargs``
(so the template stop-string check runs in both), each in a fresh worker thread; the streaming path
adds its token streamer, the cancel/timeout criterion, incremental decoding and the hand-off to the
consuming thread, consumed piece by piece as the app does. ``--stream-interval`` sets how often the
consumer may wake (TextStream's ``stream_interval_s``; default 0.02 s, TextStream's default; 0 wakes
it at every token); each interval is a row, with the median number of pieces the consumer received.
The models' EOS is switched off so every run produces exactly the same number of tokens. Each case
runs once to warm up, then ``--reps`` times alternating the two paths; the table reports medians
and the ratio of the best runs (least disturbed by other processes), with the load average.

Throughput is completion tokens / wall time of the whole call (tokenizing and prefill included).
Time to first token (TTFT): streaming = from the call until the consumer receives the first text
piece; raw = the wall time of a ``generate(max_new_tokens=1)`` call (prefill + one step: raw
generate streams nothing).
Each run also records this process's CPU seconds (time.process_time, all threads): tokens per
CPU-second and their streaming/raw ratio, less disturbed than wall time by a loaded machine.
Goal: streaming keeps >= 0.95x the raw throughput. Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model.chat import render  # noqa: E402
from model.generate import STREAM_INTERVAL_S, GenerationSettings, TextStream  # noqa: E402
from model.tiny import save, tiny_llama, train_tokenizer  # noqa: E402

# The shared real data beside the checkout; MEDCHAT_SHARED_DATA moves it (the GPU check carries a copy).
SHARED_DATA = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))
SFT_1K = SHARED_DATA / "medicalgpt" / "medical_sft_1K_format.jsonl"
MESSAGES = [
    {"role": "system", "content": "你是一个医疗健康助手。"},
    {
        "role": "user",
        "content": "我妈妈65岁，有高血压十年了，最近早上起床头晕，血压160/95，平时吃氨氯地平。饮食和用药上要注意什么？",
    },
]
# name -> tiny_llama shape; "7b" is Llama-2-7B's shape (32 x 4096, MLP 11008) on the benchmark vocabulary.
SHAPES = {
    "tiny": {"hidden_size": 64, "num_layers": 2, "num_heads": 4},
    "100m": {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 2560},
    "7b": {"hidden_size": 4096, "num_layers": 32, "num_heads": 32, "intermediate_size": 11008},
}


def texts() -> list[str]:
    """Real Chinese medical dialogue text to train the benchmark tokenizer on."""
    out = []
    with SFT_1K.open(encoding="utf-8") as f:
        for line in f:
            out += [turn["value"] for turn in json.loads(line)["conversations"]]
    return out


def stream_run(
    model, tokenizer, prompt: str, settings: GenerationSettings, interval: float = STREAM_INTERVAL_S
) -> dict:
    """One streamed reply, consumed piece by piece like the app."""
    start, cpu = time.perf_counter(), time.process_time()
    stream = TextStream(model, tokenizer, prompt, settings, stream_interval_s=interval)
    first, pieces = None, 0
    for _ in stream:
        pieces += 1
        if first is None:
            first = time.perf_counter() - start
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tokens = stream.completion_tokens
    return {"seconds": seconds, "cpu": cpu, "tokens": tokens, "ttft": first, "pieces": pieces}


def raw_run(
    model, tokenizer, prompt: str, settings: GenerationSettings, new_tokens: int | None = None
) -> dict:
    """One plain ``model.generate`` call with the same kwargs: tokenize, generate, decode at the end.

    Run in a fresh thread, like TextStream's worker: on the 2-core development machine under load, a
    generate() from the main thread was up to 10x slower than the same call from a new thread
    (PyTorch's OpenMP intra-op pool of the main thread), which would flatter the streaming path."""
    kwargs = settings.generate_kwargs(tokenizer)
    if new_tokens is not None:
        kwargs["max_new_tokens"] = new_tokens
    result = {}

    def work():
        start = time.perf_counter()  # tokenizing is timed on both paths (TextStream does it too)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        with torch.inference_mode():
            out = model.generate(**inputs, **kwargs)
        tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        result.update(seconds=time.perf_counter() - start, tokens=out.shape[1] - inputs["input_ids"].shape[1])

    cpu = time.process_time()  # the whole process's CPU time, the worker thread's included
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    return {**result, "cpu": time.process_time() - cpu}


def bench(
    model, tokenizer, label: str, new_tokens: int, reps: int, interval: float = STREAM_INTERVAL_S
) -> dict:
    """Median throughput/TTFT of both paths on ``model``; EOS off so each run makes new_tokens tokens."""
    model.generation_config.eos_token_id = None
    prompt = render(tokenizer, MESSAGES)
    settings = GenerationSettings(
        max_new_tokens=new_tokens, temperature=0, repetition_penalty=1.0, timeout_s=3600
    )
    stream_run(model, tokenizer, prompt, settings, interval)  # warm-up (allocator, kernels, caches)
    raw_run(model, tokenizer, prompt, settings)
    streamed, raw, raw_ttft = [], [], []
    for _ in range(reps):
        streamed.append(stream_run(model, tokenizer, prompt, settings, interval))
        raw.append(raw_run(model, tokenizer, prompt, settings))
        raw_ttft.append(raw_run(model, tokenizer, prompt, settings, new_tokens=1)["seconds"])
    assert all(r["tokens"] == new_tokens for r in streamed + raw), "a run stopped early"
    s_tps = statistics.median(r["tokens"] / r["seconds"] for r in streamed)
    r_tps = statistics.median(r["tokens"] / r["seconds"] for r in raw)
    # Best run of each path: the least disturbed by other processes on a shared machine.
    best = min(r["seconds"] for r in raw) / min(r["seconds"] for r in streamed)
    s_cpu = statistics.median(r["tokens"] / r["cpu"] for r in streamed)  # tokens per CPU-second
    r_cpu = statistics.median(r["tokens"] / r["cpu"] for r in raw)
    params = sum(p.numel() for p in model.parameters())
    return {
        "model": label,
        "params_m": round(params / 1e6, 1),
        "prompt_tokens": len(tokenizer(prompt, add_special_tokens=False)["input_ids"]),
        "new_tokens": new_tokens,
        "reps": reps,
        "interval_ms": round(1000 * interval, 1),
        "pieces": statistics.median(r["pieces"] for r in streamed),
        "stream_tok_s": round(s_tps, 1),
        "raw_tok_s": round(r_tps, 1),
        "ratio": round(s_tps / r_tps, 3),
        "ratio_best": round(best, 3),
        "stream_tok_cpu_s": round(s_cpu, 1),
        "raw_tok_cpu_s": round(r_cpu, 1),
        "ratio_cpu": round(s_cpu / r_cpu, 3),
        "stream_ttft_ms": round(1000 * statistics.median(r["ttft"] for r in streamed), 1),
        "raw_ttft_ms": round(1000 * statistics.median(raw_ttft), 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),  # other processes competing for the cores
    }


def cpu_cases(tokenizer, sizes: list[str], reps: int, intervals: list[float]) -> list[dict]:
    rows = []
    for size in sizes:
        model = tiny_llama(tokenizer, **SHAPES[size]).eval()
        new_tokens = 256 if size == "tiny" else 64
        for interval in intervals:
            rows.append(
                bench(model, tokenizer, f"{size} random Llama, fp32, CPU", new_tokens, reps, interval)
            )
            print(rows[-1], flush=True)
    return rows


def bench_folder(
    folder, quant: str, reps: int, new_tokens: int = 128, device: str = "cuda", label: str = "7B-shaped random Llama"
) -> dict:
    """A saved model loaded through model/load.py with ``quant`` ("none" or "4bit"), then ``bench``.
    Adds ``weights_bytes`` (the loaded model's memory footprint) and, on CUDA, the peak GPU memory
    of loading and generating."""
    import gc

    from model.load import load_model

    gc.collect()  # the previous case's model, before the peak is reset
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    loaded = load_model(str(folder), quant=quant, device=device)
    how = loaded.describe().split(" · ", 1)[1]  # precision · device, without the temp folder
    row = bench(loaded.model, loaded.tokenizer, f"{label}, {how}", new_tokens, reps)
    row["weights_bytes"] = loaded.model.get_memory_footprint()
    if device == "cuda":
        row["peak_gpu_mem_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return row


def gpu_cases(tokenizer, reps: int) -> list[dict]:
    """7B-shaped random Llama saved once, then loaded through model/load.py in bf16 and in 4-bit NF4."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-7b-") as folder:
        torch.set_default_dtype(torch.bfloat16)  # initialise in bf16: fp32 would need 27 GB of host RAM
        save(tiny_llama(tokenizer, max_position_embeddings=4096, **SHAPES["7b"]), tokenizer, folder)
        torch.set_default_dtype(torch.float32)
        for quant in ("none", "4bit"):
            row = bench_folder(folder, quant, reps)
            if rows:  # 4-bit weights are packed two to a byte: report the model's real size
                row["params_m"] = rows[0]["params_m"]
            rows.append(row)
            print(row, flush=True)
    return rows


def real_case(name: str, precision: str, reps: int, new_tokens: int, interval: float) -> dict:
    """A real model through model/load.py on the CPU in fp32, bf16 (cast after loading) or 4-bit NF4;
    adds the process's peak resident memory (MB) after loading and generating."""
    import resource

    from model.load import load_model

    if name == "smollm2":
        from model.assets import smollm2_gguf

        name = str(smollm2_gguf())
    loaded = load_model(name, quant="4bit" if precision == "nf4" else "none", device="cpu")
    if precision == "bf16":
        loaded.model.to(torch.bfloat16)
    row = bench(loaded.model, loaded.tokenizer, f"{Path(name).name}, {precision}, CPU", new_tokens, reps, interval)
    row["weights_mb"] = round(loaded.model.get_memory_footprint() / 2**20)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return row


def table(rows: list[dict]) -> str:
    head = (
        "| model | params (M) | prompt tok | new tok | interval (ms) | pieces | streaming tok/s | raw tok/s | "
        "ratio (median) | ratio (best run) | TTFT streaming (ms) | TTFT raw (ms) | peak GPU mem (GB) | load avg |"
    )
    lines = [head, "|" + "---|" * 14]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params_m']} | {r['prompt_tokens']} | {r['new_tokens']} | {r['interval_ms']} | "
            f"{r['pieces']} | {r['stream_tok_s']} | "
            f"{r['raw_tok_s']} | {r['ratio']} | {r['ratio_best']} | {r['stream_ttft_ms']} | {r['raw_ttft_ms']} | "
            f"{r.get('peak_gpu_mem_gb', '-')} | {r['load_avg_1m']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["tiny", "100m"], choices=["tiny", "100m"])
    parser.add_argument("--reps", type=int, default=5, help="measured runs per path (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--gpu", action="store_true", help="also run the 7B-shaped bf16 vs 4-bit case (CUDA)")
    parser.add_argument(
        "--stream-interval", type=float, nargs="+", default=[STREAM_INTERVAL_S],
        help="seconds between the consumer's wake-ups (TextStream stream_interval_s); one row each",
    )  # fmt: skip
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--model", default=None, help="a real model (folder, .gguf, smollm2) instead of --sizes")
    parser.add_argument("--precision", choices=["fp32", "bf16", "nf4"], default="fp32", help="with --model")
    parser.add_argument("--new-tokens", type=int, default=64, help="with --model: tokens per reply")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model:
        row = real_case(args.model, args.precision, args.reps, args.new_tokens, args.stream_interval[0])
        print(table([row]), f"\nweights {row['weights_mb']} MB, peak RSS {row['peak_rss_mb']} MB")
        print(
            f"tokens per CPU-second: streaming {row['stream_tok_cpu_s']}, raw {row['raw_tok_cpu_s']}, "
            f"ratio {row['ratio_cpu']}"
        )
        if args.json:
            Path(args.json).write_text(json.dumps([row], indent=2, ensure_ascii=False))
        return
    tokenizer = train_tokenizer(texts(), vocab_size=8000)
    rows = cpu_cases(tokenizer, args.sizes, args.reps, args.stream_interval)
    if args.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu: no CUDA device here")
        rows += gpu_cases(tokenizer, args.reps)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
