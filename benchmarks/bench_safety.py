"""Measure the safety layer (safety/): red-flag detection and false-alarm rates on the
labelled sets, per category and per language, refusal of harmful requests, the flag rate on real
patient questions, and the time per message.

    python benchmarks/bench_safety.py                 # all sets in data/samples/safety/, Markdown tables
    python benchmarks/bench_safety.py --show-flagged  # also list the real questions it flags
    python benchmarks/bench_safety.py --json out.json # also write every figure as JSON
    python benchmarks/bench_safety.py --sets data/samples/safety/heldout6.jsonl --repeats 1   # one set

Sets: ``labelled.jsonl`` (written before the rules, then used to develop them), ``heldout.jsonl``
to ``heldout10.jsonl`` (each written after a round of rules was committed, measured once, then
used to fix the rules: their first-run figures are in docs/safety.md), ``coverage.jsonl`` (the
presentations of published triage lists, written with their rules), ``probes7.jsonl`` to ``probes10.jsonl`` (phrasings
brainstormed while fixing rounds 7-10, by people who knew the rules: development sets). The latency section also
times 50,000-character messages (a labelled message at the end of a long ordinary account). Real questions come from
../shared/data (MedicalGPT's patient questions, AlpaCare's seed tasks), unlabelled: the script
reports how many it flags, for a person to review with --show-flagged.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from safety import check, read_labelled  # noqa: E402

SETS_DIR = REPO / "data" / "samples" / "safety"
SHARED = REPO.parent / "shared" / "data"


def evaluate(rows: list[dict]) -> dict:
    """Rates for one labelled set. Detection counts an emergency flagged as emergency (with the
    expected category among those found for ``category_match``); a false alarm is an ordinary
    message flagged as emergency; over-refusal is an ordinary message refused."""
    stats = defaultdict(lambda: defaultdict(int))
    misses, false_alarms, refusal_misses, over_refusals = [], [], [], []
    for row in rows:
        d = check(row["text"])
        keys = ["all", f"lang:{row['lang']}", f"cat:{row['category']}"]
        for key in keys:
            s = stats[key]
            s[row["label"]] += 1
            if row["label"] == "emergency":
                s["detected"] += d.emergency
                s["category_match"] += row["category"] in d.categories
            elif row["label"] == "ordinary":
                s["false_alarm"] += d.emergency
                s["over_refused"] += d.refuse
            else:
                s["refused"] += d.refuse
            if row.get("refuse"):
                s["expect_refuse"] += 1
                s["refuse_ok"] += d.refuse
        if row["label"] == "emergency" and not d.emergency:
            misses.append(row)
        if row["label"] == "ordinary" and d.emergency:
            false_alarms.append({**row, "found": d.categories})
        if row.get("refuse") and not d.refuse:
            refusal_misses.append(row)
        if row["label"] == "ordinary" and d.refuse:
            over_refusals.append(row)
    return {
        "stats": {k: dict(v) for k, v in stats.items()},
        "misses": misses,
        "false_alarms": false_alarms,
        "refusal_misses": refusal_misses,
        "over_refusals": over_refusals,
    }


def real_questions() -> list[tuple[str, str]]:
    """Unlabelled real questions from ../shared/data: (source, text)."""
    out = []
    sft = SHARED / "medicalgpt" / "medical_sft_1K_format.jsonl"
    if sft.exists():
        for line in sft.open(encoding="utf-8"):
            out += [
                ("medicalgpt-sft", t["value"])
                for t in json.loads(line)["conversations"]
                if t["from"] == "human"
            ]
    corpus = SHARED / "medicalgpt" / "medical_corpus.txt"
    if corpus.exists():
        out += [
            ("medicalgpt-rag", json.loads(line)["问"])
            for line in corpus.open(encoding="utf-8")
            if line.strip()
        ]
    grpo = SHARED / "medicalgpt" / "grpo_sample.jsonl"
    if grpo.exists():
        out += [("medicalgpt-grpo", json.loads(line)["question"]) for line in grpo.open(encoding="utf-8")]
    seeds = SHARED / "alpacare" / "med_seed.json"
    if seeds.exists():
        for rec in json.loads(seeds.read_text(encoding="utf-8")):
            extra = "" if rec["input"] == "<noinput>" else " " + rec["input"]
            out.append(("alpacare-seed", rec["instruction"] + extra))
    return out


def _timed(texts: list[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of ``check`` on each text, both sorted."""
    wall, cpu = [], []
    for text in texts:
        t0, c0 = time.perf_counter(), time.thread_time()
        check(text)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return sorted(wall), sorted(cpu)


def latency(texts: list[str], repeats: int) -> dict:
    """Milliseconds per message for ``check`` (mean, median, p95, max) over ``repeats`` passes, as
    wall-clock time and as this thread's CPU time (on a shared, overloaded machine the wall-clock
    tail is mostly time spent waiting for a core; the CPU time is the work ``check`` does)."""
    check(texts[0])  # compile regexes and load OpenCC outside the timing
    times, cpu = _timed([t for _ in tqdm(range(repeats), desc="latency passes", leave=False) for t in texts])
    return {
        "cpu_median_ms": cpu[len(cpu) // 2],
        "cpu_p95_ms": cpu[int(len(cpu) * 0.95)],
        "messages": len(texts),
        "repeats": repeats,
        "mean_ms": statistics.fmean(times),
        "median_ms": times[len(times) // 2],
        "p95_ms": times[int(len(times) * 0.95)],
        "max_ms": times[-1],
        "mean_chars": statistics.fmean(len(t) for t in texts),
    }


def long_latency(rows: list[dict], size: int = 50_000, count: int = 10) -> dict:
    """Milliseconds per ``size``-character message: ``count`` labelled messages (half zh, half
    en), each after an ordinary account repeated to ``size`` characters."""
    filler = {
        "zh": "我先说一下背景情况，家里人都在，今天吃过早饭以后一直在客厅看电视聊天。",
        "en": "Some background first: the family is at home and we had breakfast and watched TV together. ",
    }
    picked = [r for lang in ("zh", "en") for r in [r for r in rows if r["lang"] == lang][: count // 2]]
    texts = [filler[r["lang"]] * (size // len(filler[r["lang"]]) + 1) + r["text"] for r in picked]
    times, cpu = _timed(texts)
    return {
        "messages": len(times),
        "chars": size,
        "median_ms": times[len(times) // 2],
        "max_ms": times[-1],
        "cpu_median_ms": cpu[len(cpu) // 2],
    }


# Back-to-back findings in one long clause: the worst case for the context checks (each finding
# looks back for a negation and forward/back for time markers), at the 8,000-character message limit.
DENSE = {
    "en, one clause": "bitten by a snake ",
    "en, comma-separated": "chest pain and sweating, ",
    "zh, a negated list": "没有胸痛、出汗、",
    "zh, comma-separated": "我胸口疼，出冷汗，",
}


def dense_latency(size: int = 8_000) -> dict:
    """CPU milliseconds for each ``DENSE`` phrase repeated to ``size`` characters."""
    out = {}
    for name, phrase in DENSE.items():
        text = phrase * (size // len(phrase))
        c0 = time.thread_time()
        check(text)
        out[name] = (time.thread_time() - c0) * 1000
    return out


def pct(num: int, den: int) -> str:
    return f"{num}/{den} ({100 * num / den:.1f}%)" if den else "-"


def markdown(name: str, result: dict) -> str:
    s = result["stats"]
    a = s["all"]
    lines = [
        f"### {name}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| red flags detected | {pct(a.get('detected', 0), a.get('emergency', 0))} |",
        f"| ... with the expected category | {pct(a.get('category_match', 0), a.get('emergency', 0))} |",
        f"| false alarms on ordinary messages | {pct(a.get('false_alarm', 0), a.get('ordinary', 0))} |",
        f"| ordinary messages refused | {pct(a.get('over_refused', 0), a.get('ordinary', 0))} |",
        f"| harmful requests refused | {pct(a.get('refused', 0), a.get('harmful', 0))} |",
        f"| refusals where expected (harmful + lethal-means) | {pct(a.get('refuse_ok', 0), a.get('expect_refuse', 0))} |",
        "",
        "| language | detected | false alarms |",
        "|---|---|---|",
    ]
    for lang in ("zh", "en"):
        x = s.get(f"lang:{lang}", {})
        lines.append(
            f"| {lang} | {pct(x.get('detected', 0), x.get('emergency', 0))} "
            f"| {pct(x.get('false_alarm', 0), x.get('ordinary', 0))} |"
        )
    lines += ["", "| category | detected | false alarms (hard negatives) |", "|---|---|---|"]
    for key in sorted(k for k in s if k.startswith("cat:")):
        x = s[key]
        if x.get("harmful"):
            continue
        lines.append(
            f"| {key[4:]} | {pct(x.get('detected', 0), x.get('emergency', 0))} "
            f"| {pct(x.get('false_alarm', 0), x.get('ordinary', 0))} |"
        )
    for title, items in (
        ("missed", result["misses"]),
        ("false alarms", result["false_alarms"]),
        ("refusals missed", result["refusal_misses"]),
        ("over-refused", result["over_refusals"]),
    ):
        if items:
            lines += ["", f"{title}:"] + [f"- [{r['category']}] {r['text']}" for r in items]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets",
        nargs="*",
        type=Path,
        default=None,
        help="labelled JSONL files (default: every *.jsonl in data/samples/safety/)",
    )
    parser.add_argument(
        "--repeats", type=int, default=20, help="latency passes over all messages (default 20)"
    )
    parser.add_argument(
        "--show-flagged", action="store_true", help="list the real questions that are flagged"
    )
    parser.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    args = parser.parse_args(argv)

    sets = args.sets or sorted(SETS_DIR.glob("*.jsonl"))
    report, all_texts = {}, []
    for path in sets:
        rows = read_labelled(path)
        all_texts += [r["text"] for r in rows]
        report[path.name] = evaluate(rows)
        print(markdown(path.name, report[path.name]), end="\n\n")

    real = real_questions()
    if real:
        flagged = [(src, t, check(t)) for src, t in real]
        flagged = [(src, t, d) for src, t, d in flagged if d.emergency or d.refuse]
        report["real_questions"] = {
            "total": len(real),
            "flagged": len(flagged),
            "items": [{"source": s, "text": t, "categories": d.categories} for s, t, d in flagged],
        }
        print(f"### real questions (../shared/data, unlabelled)\n\nflagged {pct(len(flagged), len(real))}\n")
        if args.show_flagged:
            for src, text, d in flagged:
                print(f"- [{src}] {d.categories} {text[:160]!r}")
            print()
        all_texts += [t for _, t in real]

    lat = latency(all_texts, args.repeats)
    report["latency"] = lat
    report["latency_50k"] = long = long_latency([r for path in sets for r in read_labelled(path)])
    print(
        f"### latency\n\n{lat['messages']} messages (mean {lat['mean_chars']:.0f} characters) x {lat['repeats']} passes: "
        f"mean {lat['mean_ms']:.3f} ms, median {lat['median_ms']:.3f} ms, p95 {lat['p95_ms']:.3f} ms, "
        f"max {lat['max_ms']:.3f} ms per message; CPU time median {lat['cpu_median_ms']:.3f} ms, "
        f"p95 {lat['cpu_p95_ms']:.3f} ms (goal: p95 under 5 ms)\n\n"
        f"{long['messages']} messages of {long['chars']:,} characters: median {long['median_ms']:.0f} ms, "
        f"max {long['max_ms']:.0f} ms per message (CPU time median {long['cpu_median_ms']:.0f} ms)"
    )
    report["latency_dense_8k"] = dense = dense_latency()
    print(
        "\nworst case, one phrase repeated to 8,000 characters (CPU ms): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in dense.items())
    )
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
