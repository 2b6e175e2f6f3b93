"""The prepared GPU check (issue 16): every GPU figure from one run that fits a short GPU lease.

    bash benchmarks/gpu_check.sh                        # on a CUDA machine; installs gpu-wheels/ first
    bash benchmarks/gpu_check.sh --dry-run              # the same code paths on a CPU, small shapes (CI)
    python benchmarks/gpu_check.py --dry-run --out DIR  # this driver alone, on what is installed

Sections, in this order, each under its own time cap (a case whose estimate no longer fits is
skipped and recorded, and an error in one section is recorded without stopping the others):
  env       package versions, the device, the carried wheels
  tests     ``pytest -m gpu tests/test_gpu.py``: 4-bit load and generate, a QLoRA step, the engine on CUDA
  generate  benchmarks/bench_generate.py on a 7B-shaped random Llama (Llama-2-7B's shape), bf16 vs
            4-bit NF4 through model/load.py: streaming and raw generate tokens/s, TTFT, peak memory;
            each decode figure against its limit: memory bandwidth / bytes read per token (weights + KV)
  train     benchmarks/bench_train.py QLoRA r=64 SFT on the same model: real tokens/s and peak memory
            with padding, padding-free and packing; SDPA, and FlashAttention-2 when flash_attn imports
  zero3     one ZeRO-3 SFT step under recipes/accelerate/zero3.yaml on one GPU (a ~100M model),
            when deepspeed imports and time remains
After every case it writes DIR/gpu_check.json and DIR/gpu_check.md, so a run stopped at its limit
keeps what it measured; it prints the table at the end. Goals (the 7B figures on a GPU): NF4 decode
>= 0.75x bf16 tokens/s at <= 0.35x its peak memory; QLoRA >= 2,400 real tokens/s within 9 GB;
streaming >= 0.95x raw. The dry run evaluates the same goals on its tiny shapes: code paths, not figures.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

PACKAGES = ["torch", "transformers", "tokenizers", "accelerate", "peft", "trl", "datasets", "bitsandbytes"]
PACKAGES += ["deepspeed", "flash_attn"]
MODES = ("padding", "padding_free", "packing")
# name -> model shape and tokenizer vocabulary; generate: new tokens, reps; train: conversations, max
# length, batch size; the decode limit's memory bandwidth (GB/s); time caps in seconds (whole run, sections)
PROFILES = {
    "gpu": {
        "shape": {"hidden_size": 4096, "num_layers": 32, "num_heads": 32, "intermediate_size": 11008},
        "vocab": 32000, "new_tokens": 128, "reps": 3, "examples": 128, "max_length": 512, "batch": 8,
        "bandwidth_gbs": 4800.0, "budget_s": 450, "caps": {"tests": 100, "generate": 170, "train": 170},
    },
    "dry": {
        "shape": {"hidden_size": 128, "num_layers": 2, "num_heads": 4, "intermediate_size": 256},
        "vocab": 2000, "new_tokens": 16, "reps": 1, "examples": 8, "max_length": 96, "batch": 4,
        # generous: on a loaded shared CPU the dry run must still reach every case (CI checks it does)
        "bandwidth_gbs": 20.0, "budget_s": 900, "caps": {"tests": 300, "generate": 300, "train": 300},
    },
}  # fmt: skip
ZERO3_SHAPE = {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 2048}


class Check:
    """The results so far, the time budget, and the files they are written to after every case."""

    def __init__(self, out: Path, profile: dict, dry_run: bool, bandwidth_gbs: float):
        self.out, self.profile, self.dry_run = out, profile, dry_run
        self.started = time.monotonic()
        self.deadline = self.started + profile["budget_s"]
        self.section_deadline = self.deadline
        self.result = {
            "check": "medchat gpu_check",
            "dry_run": dry_run,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "budget_s": profile["budget_s"],
            "bandwidth_gbs": bandwidth_gbs,
            "sections": {},
        }

    def left(self) -> float:
        return self.section_deadline - time.monotonic()

    def fits(self, estimate_s: float) -> bool:
        """Whether a case expected to take ``estimate_s`` ends inside the section's cap."""
        return estimate_s < self.left()

    @contextlib.contextmanager
    def section(self, name: str, cap_s: float | None = None):
        """Run one section: its status, seconds and any error land in the results, which are saved."""
        start = time.monotonic()
        self.section_deadline = min(self.deadline, start + cap_s) if cap_s else self.deadline
        entry = self.result["sections"].setdefault(name, {"status": "running"})
        entry["cap_s"] = round(self.section_deadline - start)
        try:
            yield entry
            entry["status"] = "skipped" if entry.get("reason") else "done"
        except Exception as err:  # recorded; the next section still runs
            entry.update(status="error", error=f"{type(err).__name__}: {err}")
            entry["traceback"] = traceback.format_exc()[-3000:]
            print(entry["traceback"], file=sys.stderr, flush=True)
        finally:
            entry["seconds"] = round(time.monotonic() - start, 1)
            self.save()

    def save(self) -> None:
        self.result["goals"] = goals(self.result)
        self.result["elapsed_s"] = round(time.monotonic() - self.started, 1)
        (self.out / "gpu_check.json").write_text(json.dumps(self.result, indent=2, ensure_ascii=False))
        (self.out / "gpu_check.md").write_text(markdown(self.result) + "\n")


def versions() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def env_section(check: Check, entry: dict, wheels: Path, device: str) -> None:
    import torch

    entry["python"] = platform.python_version()
    entry["versions"] = versions()
    entry["device"] = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    entry["gpu_mem_gib"] = (
        round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if device == "cuda" else 0
    )
    listed = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    entry["wheels"] = [{"file": w.name, "mib": round(w.stat().st_size / 2**20, 2)} for w in listed]
    entry["wheels_mib"] = round(sum(w["mib"] for w in entry["wheels"]), 1)
    entry["site"] = os.environ.get("GPU_CHECK_SITE")  # where gpu_check.sh installed them, if it did
    entry["load_avg_1m"] = round(os.getloadavg()[0], 1)


def tests_section(check: Check, entry: dict, workdir: Path, device: str) -> None:
    """pytest -m gpu in a subprocess under the section's cap; counts from its JUnit XML."""
    xml = check.out / "pytest_gpu.xml"
    cmd = [sys.executable, "-m", "pytest", "tests/test_gpu.py", "-m", "gpu", "-q", "-p", "no:cacheprovider"]
    cmd += [f"--junitxml={xml}"]
    entry["command"] = " ".join(cmd[1:])
    if not check.fits(15):
        entry["reason"] = f"time cap: {check.left():.0f} s left, pytest needs at least 15 s"
        return
    env = {**os.environ, "MEDCHAT_HOME": str(workdir / "tests-home")}
    try:
        done = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=max(check.left(), 1)
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"pytest ran past the section's {entry['cap_s']} s cap") from None
    suite = ET.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    entry.update(counts, passed=counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"])
    entry["returncode"] = done.returncode
    entry["output_tail"] = (done.stdout + done.stderr)[-2000:]
    if done.returncode not in (0, 5) and counts["failures"] + counts["errors"] == 0:
        raise RuntimeError(f"pytest exited {done.returncode}: {entry['output_tail']}")


def model_folder(check: Check, workdir: Path, device: str) -> Path:
    """The profile's random Llama with a tokenizer trained on the shared medical dialogues, saved once."""
    import torch
    from bench_generate import texts

    from model.tiny import save, tiny_llama, train_tokenizer

    folder = workdir / "model"
    if (folder / "config.json").exists():
        return folder
    start = time.monotonic()
    tokenizer = train_tokenizer(texts(), vocab_size=check.profile["vocab"])
    with torch.device(device):  # initialised on the GPU: on the host a 7B model in fp32 takes 27 GB
        model = tiny_llama(tokenizer, **check.profile["shape"])
    save(model.to(torch.bfloat16 if device == "cuda" else torch.float32), tokenizer, folder)
    del model
    check.result["model"] = {
        "shape": check.profile["shape"],
        "vocab": len(tokenizer),
        "folder_gib": round(sum(f.stat().st_size for f in folder.iterdir()) / 2**30, 2),
        "build_s": round(time.monotonic() - start, 1),
    }
    return folder


def decode_limit(row: dict, config: dict, bandwidth_gbs: float, kv_bytes: int) -> None:
    """Set the row's decode figures against memory bandwidth / bytes read per generated token.

    Each new token reads every weight once (the footprint: packed 4-bit weights plus the bf16
    embeddings, norms and quantization constants bitsandbytes keeps as tensors) and the KV cache
    at the current context: 2 (K, V) x layers x KV heads x head dim x ``kv_bytes``, taken at the
    mean context, prompt + new_tokens / 2. Measured tokens/s include the prefill, so they sit a
    little under a pure decode rate."""
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    kv_per_position = 2 * config["num_hidden_layers"] * config["num_key_value_heads"] * head_dim * kv_bytes
    context = row["prompt_tokens"] + row["new_tokens"] / 2
    per_token = row["weights_bytes"] + kv_per_position * context
    limit = bandwidth_gbs * 1e9 / per_token
    row.update(
        bytes_per_token_mb=round(per_token / 1e6, 2),
        limit_tok_s=round(limit, 1),
        raw_of_limit=float(f"{row['raw_tok_s'] / limit:.3g}"),  # 3 significant digits
        stream_of_limit=float(f"{row['stream_tok_s'] / limit:.3g}"),
    )


def generate_section(check: Check, entry: dict, workdir: Path, device: str) -> None:
    import torch
    from bench_generate import bench_folder

    entry["rows"], entry["skipped"] = [], []
    estimate = 0.0
    for quant in ("none", "4bit"):
        if not check.fits(estimate):
            entry["skipped"].append(
                {"quant": quant, "why": f"time cap: {estimate:.0f} s > {check.left():.0f} s left"}
            )
            continue
        start = time.monotonic()
        folder = model_folder(check, workdir, device)  # built by the first case that runs
        config = json.loads((folder / "config.json").read_text())
        p = check.profile
        row = bench_folder(folder, quant, p["reps"], p["new_tokens"], device, label="7B-shaped random Llama"
                           if not check.dry_run else f"dry-run Llama {p['shape']['hidden_size']}x{p['shape']['num_layers']}")  # fmt: skip
        row["quant"] = quant
        decode_limit(row, config, check.result["bandwidth_gbs"], 2 if device == "cuda" else 4)
        row["seconds"] = round(time.monotonic() - start, 1)
        entry["rows"].append(row)
        print(row, flush=True)
        check.save()
        estimate = row["seconds"] * (1.3 if quant == "none" else 1.0)  # 4-bit decodes more slowly
    if device == "cuda":
        torch.cuda.empty_cache()


def attention_kernels(device: str) -> tuple[list[str], str | None]:
    """SDPA always; FlashAttention-2 where the flash_attn package imports on a GPU."""
    if device == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return ["sdpa", "flash_attention_2"], None
    return ["sdpa"], "flash_attention_2: flash_attn is not installed" + ("" if device == "cuda" else " (CPU)")


def train_section(check: Check, entry: dict, workdir: Path, device: str) -> None:
    import gc

    import datasets
    import torch
    from bench_train import QLORA_R64, dataset, run_mode

    from model.load import load_tokenizer

    p = check.profile
    if not check.fits(0):
        entry["reason"] = f"time cap: {check.left():.0f} s left"
        return
    datasets.disable_progress_bars()
    folder = model_folder(check, workdir, device)
    ds = dataset(load_tokenizer(str(folder)), p["examples"], p["max_length"])
    args = argparse.Namespace(batch_size=p["batch"], max_length=p["max_length"])
    kernels, missing = attention_kernels(device)
    entry["rows"], entry["skipped"] = [], [{"case": missing}] if missing else []
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    estimate = 0.0
    for attn in kernels:
        for mode in MODES:
            if not check.fits(estimate):
                entry["skipped"].append(
                    {"case": f"{attn} {mode}", "why": f"time cap: {check.left():.0f} s left"}
                )
                continue
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()
            resident = torch.cuda.memory_allocated() / 2**30 if device == "cuda" else 0.0
            start = time.monotonic()
            out_dir = str(workdir / f"train-{attn}-{mode}")
            r = run_mode(
                mode, str(folder), ds, args, out_dir, **QLORA_R64, attn_implementation=attn, bf16=bf16
            )
            r.update(
                attn=attn,
                resident_before_gib=round(resident, 2),
                seconds_total=round(time.monotonic() - start, 1),
            )
            entry["rows"].append(r)
            print({k: v for k, v in r.items() if k != "positions"}, flush=True)
            check.save()
            shutil.rmtree(out_dir, ignore_errors=True)
            estimate = r["seconds_total"] * 1.1


def zero3_section(check: Check, entry: dict, workdir: Path, device: str) -> None:
    """One ZeRO-3 SFT step of a ~100M random Llama under the shipped accelerate config, one process."""
    sft_file = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))
    sft_file = sft_file / "medicalgpt" / "medical_sft_1K_format.jsonl"
    folder = workdir / "zero3-model"
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        "recipes/accelerate/zero3.yaml",
        "--num_processes",
        "1",
    ]
    cmd += ["-m", "training", "sft", "--model_name_or_path", str(folder), "--train_files", str(sft_file)]
    cmd += [
        "--max_samples",
        "16",
        "--max_steps",
        "1",
        "--per_device_train_batch_size",
        "2",
        "--max_length",
        "256",
    ]
    cmd += ["--output_dir", str(workdir / "zero3-run"), "--save_strategy", "no", "--report_to", "none"]
    entry["command"] = " ".join(cmd)
    if device != "cuda" or importlib.util.find_spec("deepspeed") is None:
        entry["reason"] = "needs CUDA and deepspeed (gpu-wheels/ carries a DeepSpeed wheel built here)"
        return
    if not check.fits(60):
        entry["reason"] = f"time cap: {check.left():.0f} s left, a ZeRO-3 step needs about 60 s"
        return
    import torch

    from model.load import load_tokenizer
    from model.tiny import save, tiny_llama

    tokenizer = load_tokenizer(str(model_folder(check, workdir, device)))
    save(tiny_llama(tokenizer, **ZERO3_SHAPE).to(torch.bfloat16), tokenizer, folder)
    env = {**os.environ, "MEDCHAT_HOME": str(workdir / "zero3-home")}
    try:
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=check.left())
    except subprocess.TimeoutExpired:
        raise RuntimeError("the ZeRO-3 step ran past the time left") from None
    entry["returncode"] = done.returncode
    entry["output_tail"] = (done.stdout + done.stderr)[-3000:]
    metrics = Path(workdir / "zero3-run" / "metrics.json")
    if done.returncode != 0 or not metrics.exists():
        raise RuntimeError(f"accelerate launch exited {done.returncode}: {entry['output_tail'][-1500:]}")
    entry["train_loss"] = json.loads(metrics.read_text()).get("train_loss")


def work_folder(device: str, need_gib: float):
    """A temporary folder in RAM (/dev/shm) when it has room for the saved model, else on disk."""
    shm = Path("/dev/shm")
    if device == "cuda" and shm.is_dir() and shutil.disk_usage(shm).free / 2**30 > need_gib:
        return tempfile.TemporaryDirectory(prefix="gpu-check-", dir=shm)
    return tempfile.TemporaryDirectory(prefix="gpu-check-")


# ---------------------------------------------------------------------------------------------
# Goals and the Markdown table (standard library only: gpu_check.sh renders a killed run's JSON)


def _goal(name: str, value, op: str, target: float) -> dict:
    met = None if value is None else (value >= target if op == ">=" else value <= target)
    return {
        "goal": name,
        "value": None if value is None else round(value, 3),
        "target": f"{op} {target}",
        "met": met,
    }


def goals(result: dict) -> list[dict]:
    """Each goal of issue 16 against what the run measured (value None: not measured)."""
    sections = result["sections"]
    gen = {r["quant"]: r for r in sections.get("generate", {}).get("rows", [])}
    out = []
    if "none" in gen and "4bit" in gen:
        bf, nf = gen["none"], gen["4bit"]
        out.append(
            _goal("NF4 decode tok/s / bf16 (raw generate)", nf["raw_tok_s"] / bf["raw_tok_s"], ">=", 0.75)
        )
        key = "peak_gpu_mem_gb" if "peak_gpu_mem_gb" in nf else "weights_bytes"
        what = "peak GPU memory" if key == "peak_gpu_mem_gb" else "weights (no GPU: footprint)"
        out.append(_goal(f"NF4 {what} / bf16", nf[key] / bf[key], "<=", 0.35))
    for r in gen.values():
        out.append(_goal(f"streaming tok/s / raw, {r['quant']}", r["ratio"], ">=", 0.95))
    rows = sections.get("train", {}).get("rows", [])
    if rows:
        best = max(rows, key=lambda r: r["real_tokens_per_s"])
        case = f"{best['attn']} {best['mode']}"
        out.append(_goal(f"QLoRA r=64 real tokens/s ({case})", best["real_tokens_per_s"], ">=", 2400))
        peak = best["peak_gpu_gib"] * 2**30 / 1e9 if "peak_gpu_gib" in best else None
        out.append(_goal(f"QLoRA peak GPU memory, GB ({case})", peak, "<=", 9))
    return out


def _cell(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if not isinstance(value, float):
        return str(value)
    return (
        f"{value:.3g}" if 0 < abs(value) < 0.01 else f"{value:.{digits}f}"
    )  # small fractions: 3 significant digits


def markdown(result: dict) -> str:
    """The check's figures as Markdown tables: decode, QLoRA, sections, goals."""
    s = result["sections"]
    env = s.get("env", {})
    where = (
        "dry run on a CPU (small shapes: code paths, not figures)"
        if result["dry_run"]
        else env.get("device", "?")
    )
    vers = ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items() if v)
    lines = [f"GPU check: {where}, {result['date']}; {vers}", ""]
    lines += ["| decode case | stream tok/s | raw tok/s | stream/raw | TTFT stream ms | TTFT raw ms | peak GPU GiB "
              "| weights GiB | bytes/token MB | limit tok/s | raw/limit |", "|" + "---|" * 11]  # fmt: skip
    for r in s.get("generate", {}).get("rows", []):
        cells = [r["model"], r["stream_tok_s"], r["raw_tok_s"], r["ratio"], r["stream_ttft_ms"], r["raw_ttft_ms"],
                 r.get("peak_gpu_mem_gb"), round(r["weights_bytes"] / 2**30, 3), r["bytes_per_token_mb"],
                 r["limit_tok_s"], r["raw_of_limit"]]  # fmt: skip
        lines.append(
            "| " + " | ".join(_cell(c, 3 if isinstance(c, float) and c < 1 else 1) for c in cells) + " |"
        )
    lines += [
        "",
        f"limit = {result['bandwidth_gbs']:.0f} GB/s / bytes read per token (weights + KV cache)",
        "",
    ]
    lines += [
        "| QLoRA r=64 SFT | steps | real tokens | padding | real tok/s | peak GPU GiB | s |",
        "|" + "---|" * 7,
    ]
    for r in s.get("train", {}).get("rows", []):
        cells = [f"{r['attn']} {r['mode']}", r["steps"], r["real_tokens"], f"{r['wasted']:.1%}",
                 round(r["real_tokens_per_s"]), r.get("peak_gpu_gib"), r["seconds"]]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "| section | status | s | note |", "|---|---|---|---|"]
    for name, e in s.items():
        if name == "tests" and "tests" in e:
            note = (
                f"{e['passed']} passed, {e['failures']} failed, {e['errors']} errors, {e['skipped']} skipped"
            )
        elif name == "zero3" and "train_loss" in e:
            note = f"one step, train loss {e['train_loss']:.3f}"
        else:
            skipped = "; ".join(str(k.get("why") or k.get("case")) for k in e.get("skipped", []))
            note = e.get("error") or e.get("reason") or skipped
        lines.append(f"| {name} | {e.get('status')} | {_cell(e.get('seconds'))} | {note} |")
    lines += ["", "| goal | value | target | met |", "|---|---|---|---|"]
    for g in result.get("goals", []):
        met = {True: "yes", False: "NO", None: "-"}[g["met"]]
        lines.append(f"| {g['goal']} | {_cell(g['value'], 3)} | {g['target']} | {met} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dry-run", action="store_true", help="CPU, small shapes: the code paths only")
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu-check", help="folder for the results")
    parser.add_argument("--wheels", default=str(REPO / "gpu-wheels"), help="the carried wheels (listed)")
    parser.add_argument("--bandwidth-gbs", type=float, default=None,
                        help="memory bandwidth for the decode limit, GB/s (default: H200's 4,800; dry run 20)")  # fmt: skip
    parser.add_argument("--budget-s", type=float, default=None, help="override the profile's time budget")
    parser.add_argument("--skip", nargs="*", default=[], choices=["tests", "generate", "train", "zero3"])
    parser.add_argument("--report", default=None, help="only print (and rewrite) the table of this JSON")
    args = parser.parse_args()
    if args.report:
        result = json.loads(Path(args.report).read_text())
        text = markdown(result)
        Path(args.report).with_suffix(".md").write_text(text + "\n")
        return print(text)
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    device = "cpu" if args.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: run with --dry-run on a CPU")
    profile = dict(PROFILES["dry" if args.dry_run else "gpu"])
    if args.budget_s:
        profile["budget_s"] = args.budget_s
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check = Check(out, profile, args.dry_run, args.bandwidth_gbs or profile["bandwidth_gbs"])
    torch.manual_seed(0)
    if args.dry_run:
        torch.set_num_threads(2)
    with work_folder(device, need_gib=30) as tmp:
        workdir = Path(tmp)
        with check.section("env") as entry:
            env_section(check, entry, Path(args.wheels), device)
        steps = [("tests", tests_section), ("generate", generate_section), ("train", train_section)]
        for name, run in steps + [("zero3", zero3_section)]:
            with check.section(name, profile["caps"].get(name)) as entry:
                if name in args.skip:
                    entry["reason"] = "--skip"
                else:
                    run(check, entry, workdir, device)
    print(markdown(check.result))
    print(f"\nwrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'} in {check.result['elapsed_s']} s")


if __name__ == "__main__":
    main()
