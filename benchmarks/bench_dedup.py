"""Benchmark: datagen's near-duplicate filter on 52,000 instructions vs the plain all-pairs ROUGE-L method.

    python benchmarks/bench_dedup.py                      # 52,000 instructions, all-pairs on the first 1,500
    python benchmarks/bench_dedup.py --n 5000 --subsample 500   # a quick run

The instructions are made by perturbing real texts: AlpaCare's 167 English seed tasks, our Chinese
seed tasks, and the questions and answer sentences of ../shared/data/medicalgpt/* (token edits
of every strength, splices of two texts, and question templates around a text), so the stream
holds exact copies, near duplicates and new instructions in Chinese and English.

Each method runs in its own child process (so its peak memory is its own): the fast filter
(datagen/dedup.py) over all n instructions, and the plain method (every candidate scored with
rouge_score against every kept instruction, as AlpaCare does, single process) over the first
``--subsample`` of them. The decisions on the subsample must be identical (the fast run makes the
same decisions on a prefix whatever follows it). The plain method's time for all n is
extrapolated from its measured time per pair times the exact number of pairs the full run needs
(known from the fast run's decisions: each candidate is compared with every seed and every
instruction kept before it).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

TEMPLATES_ZH = [
    "请解释：{}",
    "{}请详细说明。",
    "作为医生，{}",
    "患者咨询：{}",
    "{}有哪些注意事项？",
    "简要回答：{}",
]
TEMPLATES_EN = ["Explain: {}", "{} Please answer in detail.", "As a physician, {}", "Briefly, {}", "Q: {}"]


def base_texts() -> list[str]:
    """Real seed instructions, questions and answer sentences (Chinese and English)."""
    from datagen.records import read_tasks

    texts = [t["instruction"] for t in read_tasks(SHARED / "alpacare" / "med_seed.json")]
    texts += [t["instruction"] for t in read_tasks(REPO / "data" / "samples" / "seeds_zh.json")]
    med = SHARED / "medicalgpt"
    for line in (med / "medical_sft_1K_format.jsonl").read_text(encoding="utf-8").splitlines():
        for turn in json.loads(line)["conversations"]:
            texts += re.split(r"(?<=[。！？?!])", turn["value"])
    for line in (med / "medical_corpus.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            texts += [record.get("问", "")] + re.split(r"(?<=[。！？?!])", record.get("答", ""))
    for line in (med / "grpo_sample.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append(json.loads(line)["question"])
    for line in (med / "dpo_zh_500.jsonl").read_text(encoding="utf-8").splitlines():
        texts += [t["value"] for t in json.loads(line)["conversations"] if t["from"] == "human"]
    return [t.strip() for t in texts if 8 <= len(t.strip()) <= 200]


def perturb(text: str, rng: random.Random, others: list[str]) -> str:
    """One synthetic instruction derived from ``text``."""
    zh = bool(re.search(r"[\u4e00-\u9fff]", text))
    toks = list(text) if zh else text.split()
    mode = rng.random()
    if mode < 0.2:  # a template around the text
        return rng.choice(TEMPLATES_ZH if zh else TEMPLATES_EN).format(text)
    if mode < 0.45:  # splice with another text
        other = rng.choice(others)
        other_toks = list(other) if zh else other.split()
        cut, cut2 = rng.randrange(1, max(2, len(toks))), rng.randrange(0, max(1, len(other_toks)))
        toks = toks[:cut] + other_toks[cut2:]
    strength = rng.choice([0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7])
    pool = toks or ["x"]
    for _ in range(int(len(toks) * strength)):
        op = rng.random()
        i = rng.randrange(len(toks) + 1)
        if op < 0.35 and len(toks) > 2:
            del toks[min(i, len(toks) - 1)]
        elif op < 0.65:
            toks.insert(i, rng.choice(pool))
        elif toks:
            toks[min(i, len(toks) - 1)] = rng.choice(pool)
    return ("" if zh else " ").join(toks)


def make_instructions(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    bases = base_texts()
    return [perturb(rng.choice(bases), rng, bases) for _ in range(n)]


def seeds() -> list[str]:
    from datagen.records import read_tasks

    return [
        t["instruction"]
        for t in read_tasks(
            [SHARED / "alpacare" / "med_seed.json", REPO / "data" / "samples" / "seeds_zh.json"]
        )
    ]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB -> MiB


def worker(method: str, path: str, threshold: float) -> None:
    """Child process: run one method over the instructions in ``path`` and print a JSON result."""
    from datagen.dedup import NearDuplicateFilter, reference_decisions

    texts = json.loads(Path(path).read_text(encoding="utf-8"))
    seed_texts = seeds()
    before = _rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    if method == "fast":
        from tqdm import tqdm

        flt = NearDuplicateFilter(threshold)
        flt.add_all(seed_texts)
        decisions = [flt.offer(t).accepted for t in tqdm(texts, desc="fast filter", mininterval=5)]
        lcs = flt.lcs_computed
    else:
        decisions = reference_decisions(seed_texts, texts, threshold)
        lcs = None
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_rss_mb": _rss_mb(),
                "rss_before_mb": before,
                "decisions": decisions,
                "lcs": lcs,
                "n_seeds": len(seed_texts),
            }
        )
    )


def run_child(method: str, texts: list[str], threshold: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(texts, f, ensure_ascii=False)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", method, f.name, "--threshold", str(threshold)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    Path(f.name).unlink()
    return json.loads(out.stdout.strip().splitlines()[-1])


def pairs(decisions: list[bool], n_seeds: int) -> int:
    """Comparisons all-pairs makes: each candidate against every seed and every earlier kept one."""
    total, kept = 0, 0
    for ok in decisions:
        total += n_seeds + kept
        kept += ok
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=52_000, help="instructions to filter")
    parser.add_argument(
        "--subsample", type=int, default=1_500, help="first instructions run by all-pairs too"
    )
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.threshold)
        return

    texts = make_instructions(args.n, args.seed)
    print(f"{len(texts)} instructions from {len(base_texts())} real texts; running the fast filter ...")
    fast = run_child("fast", texts, args.threshold)
    sub = texts[: args.subsample]
    print(f"running plain all-pairs on the first {len(sub)} ...")
    plain = run_child("plain", sub, args.threshold)
    fast_sub = run_child("fast", sub, args.threshold)
    same = fast["decisions"][: len(sub)] == plain["decisions"] == fast_sub["decisions"]
    n_seeds = fast["n_seeds"]
    sub_pairs = pairs(plain["decisions"], n_seeds)
    full_pairs = pairs(fast["decisions"], n_seeds)
    # CPU time, not wall time: the machine is shared, and CPU time is what the method itself costs.
    per_pair = plain["cpu_seconds"] / sub_pairs
    result = {
        "n": len(texts),
        "kept": sum(fast["decisions"]),
        "seeds": n_seeds,
        "fast_seconds": round(fast["seconds"], 1),
        "fast_cpu_seconds": round(fast["cpu_seconds"], 1),
        "fast_peak_rss_mb": round(fast["peak_rss_mb"]),
        "fast_rss_growth_mb": round(fast["peak_rss_mb"] - fast["rss_before_mb"]),
        "fast_lcs_computed": fast["lcs"],
        "all_pairs_comparisons": full_pairs,
        "subsample": len(sub),
        "subsample_kept": sum(plain["decisions"]),
        "plain_seconds_subsample": round(plain["seconds"], 1),
        "plain_cpu_seconds_subsample": round(plain["cpu_seconds"], 1),
        "fast_cpu_seconds_subsample": round(fast_sub["cpu_seconds"], 2),
        "plain_peak_rss_mb": round(plain["peak_rss_mb"]),
        "plain_us_per_pair": round(per_pair * 1e6, 1),
        "plain_cpu_seconds_full_extrapolated": round(per_pair * full_pairs),
        "fast_lcs_share_of_pairs": round(fast["lcs"] / full_pairs, 6),
        "identical_decisions_on_subsample": same,
        "subsample_pairs": sub_pairs,
    }
    print(json.dumps(result, indent=2))
    if not same:
        raise SystemExit("DECISIONS DIFFER between the fast filter and all-pairs")


if __name__ == "__main__":
    main()
