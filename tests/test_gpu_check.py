"""The GPU check's dry run (benchmarks/gpu_check.sh --dry-run): the same code paths as the GPU run, on a
CPU with small shapes, end to end in a subprocess. It must write one JSON with every section filled in
with measured numbers, and the Markdown table; with no time left it must skip the rest cleanly.

    python -m pytest tests/test_gpu_check.py -q -p no:cacheprovider
"""

import json
import os
import subprocess

import pytest
from conftest import REPO


def dry_run(out, *flags) -> tuple[dict, str]:
    # no wheels folder: the check must fall back to the installed packages, as on CI
    env = {**os.environ, "OUT": "", "GPU_WHEELS": str(out / "no-wheels")}
    done = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--dry-run", "--out", str(out), *flags],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "no wheels in" in done.stdout
    assert (out / "gpu_check.log").exists()  # the log goes under --out too
    return json.loads((out / "gpu_check.json").read_text()), done.stdout


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check")
    checked, stdout = dry_run(out)
    return checked, stdout, (out / "gpu_check.md").read_text()


def test_every_section_ran(result):
    checked, _, _ = result
    assert checked["dry_run"] is True
    status = {name: s["status"] for name, s in checked["sections"].items()}
    # zero3 needs CUDA and deepspeed: on a CPU it is skipped, with the command it would run recorded
    assert status == {"env": "done", "tests": "done", "generate": "done", "train": "done", "zero3": "skipped"}
    zero3 = checked["sections"]["zero3"]
    assert "CUDA" in zero3["reason"] and "recipes/accelerate/zero3.yaml" in zero3["command"]
    assert checked["sections"]["env"]["versions"]["torch"]


def test_gpu_tests_are_collected_and_skip_without_cuda(result):
    tests = result[0]["sections"]["tests"]
    assert tests["tests"] >= 3 and tests["skipped"] == tests["tests"]
    assert tests["failures"] == tests["errors"] == 0


def test_decode_rows_have_speed_memory_and_their_limit(result):
    rows = {r["quant"]: r for r in result[0]["sections"]["generate"]["rows"]}
    assert set(rows) == {"none", "4bit"}
    for r in rows.values():
        for key in ("stream_tok_s", "raw_tok_s", "stream_ttft_ms", "raw_ttft_ms", "limit_tok_s"):
            assert r[key] > 0, key
        assert r["new_tokens"] == 16 and 0 < r["raw_of_limit"]
    assert "4-bit NF4" in rows["4bit"]["model"]
    # NF4 packs the linear weights two to a byte: fewer bytes per token, so a higher limit
    assert rows["4bit"]["weights_bytes"] < rows["none"]["weights_bytes"]
    assert rows["4bit"]["limit_tok_s"] > rows["none"]["limit_tok_s"]


def test_qlora_rows_cover_every_batching_mode_on_the_same_tokens(result):
    train = result[0]["sections"]["train"]
    rows = {r["mode"]: r for r in train["rows"]}
    assert set(rows) == {"padding", "padding_free", "packing"}
    assert len({r["real_tokens"] for r in rows.values()}) == 1  # same conversations in every mode
    assert all(r["real_tokens_per_s"] > 0 and r["attn"] == "sdpa" for r in rows.values())
    assert rows["padding"]["wasted"] > 0 and rows["packing"]["wasted"] == 0
    assert any("flash_attn" in str(s) for s in train["skipped"])


def test_goals_and_the_table(result):
    checked, stdout, md = result
    names = " ".join(g["goal"] for g in checked["goals"])
    for goal in ("NF4 decode", "NF4 weights", "streaming", "QLoRA r=64 real tokens/s"):
        assert goal in names
    assert all(isinstance(g["value"], float) for g in checked["goals"] if "GPU memory" not in g["goal"])
    for heading in ("| decode case |", "| QLoRA r=64 SFT |", "| section |", "| goal |"):
        assert heading in md and heading in stdout
    assert "sdpa padding_free" in md


def test_no_time_left_skips_the_rest_cleanly(tmp_path):
    checked, stdout = dry_run(tmp_path, "--budget-s", "0.001")
    sections = checked["sections"]
    assert sections["env"]["status"] == "done"
    assert sections["tests"]["status"] == sections["train"]["status"] == "skipped"
    assert "time cap" in sections["tests"]["reason"] and "time cap" in sections["train"]["reason"]
    assert sections["generate"]["rows"] == [] and len(sections["generate"]["skipped"]) == 2
    assert checked["goals"] == [] and "| goal |" in stdout
