"""Benchmark: held-out loss of medical reference answers under a model, through its own chat template.

    python benchmarks/bench_heldout_loss.py --model smollm2 artifacts/demo-model OLD_DEMO_DIR --n 40

Each of the first ``--n`` iCliniq patient questions of ../shared/data/alpacare/iCliniq_gpt-4.jsonl
(MEDCHAT_SHARED_DATA moves it) is rendered with GPT-4's answer as the assistant turn by
training.data.conversation_ids (exactly the SFT rendering), capped at ``--max-tokens``; the loss is
summed over the answer's tokens only (the assistant mask). Reported per model: nats per answer token
and bits per answer character (total nats / characters / ln 2), the second comparable across
tokenizers (the old random-init demo has its own 3,000-token vocabulary). ``smollm2`` names the
converted SmolLM2-135M-Instruct base (model/assets.py). None of these answers is in data/samples.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))


def answer_loss(loaded, question: str, answer: str, max_tokens: int) -> tuple[float, int, int]:
    """(summed nats over the answer tokens kept, tokens, characters of the kept answer text)."""
    import torch

    from training.data import conversation_ids

    tok = loaded.tokenizer
    ids, mask = conversation_ids(
        tok, [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    )
    ids, mask = ids[:max_tokens], mask[:max_tokens]
    x = torch.tensor([ids])
    with torch.no_grad():
        logits = loaded.model(input_ids=x).logits[0, :-1].float()
    nll = torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="none")
    labels = torch.tensor(mask[1:], dtype=torch.bool)
    kept = [t for t, m in zip(ids, mask, strict=True) if m]
    chars = len(tok.decode(kept, skip_special_tokens=True))
    return float(nll[labels].sum()), int(labels.sum()), chars


def measure(name: str, rows: list[dict], max_tokens: int) -> dict:
    from model.load import load_model

    path = name
    if name == "smollm2":
        from model.assets import smollm2_gguf

        path = str(smollm2_gguf())
    loaded = load_model(path, device="cpu")
    started = time.perf_counter()
    nats = tokens = chars = 0
    for row in rows:
        n, t, c = answer_loss(loaded, row["input"], row["output"], max_tokens)
        nats, tokens, chars = nats + n, tokens + t, chars + c
    return {
        "model": name,
        "answers": len(rows),
        "answer_tokens": tokens,
        "nats_per_token": round(nats / tokens, 3),
        "bits_per_char": round(nats / chars / math.log(2), 3),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", nargs="+", required=True, help="model folders, .gguf files, or smollm2")
    parser.add_argument("--n", type=int, default=40, help="iCliniq questions (the first n)")
    parser.add_argument("--max-tokens", type=int, default=512, help="cap on question + answer tokens")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    src = SHARED / "alpacare" / "iCliniq_gpt-4.jsonl"
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()[: args.n]]
    results = []
    print(
        f"held-out loss of GPT-4's iCliniq answers ({len(rows)}), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print("| model | answer tokens | nats/token | bits/char |\n|---|---|---|---|")
    for name in args.model:
        r = measure(name, rows, args.max_tokens)
        results.append(r)
        print(f"| {name} | {r['answer_tokens']} | {r['nats_per_token']} | {r['bits_per_char']} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
