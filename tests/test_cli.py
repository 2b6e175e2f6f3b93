"""The installed `medchat` command (pyproject.toml's console script, installed editable by
`make install`): its help, each subcommand reaching its module's own command line, two real runs end
to end (the safety check, an index built and queried on data/samples/kb), and pyproject.toml's
dependencies agreeing with requirements.txt."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

# The console script beside the interpreter running the tests (.venv/bin/medchat under `make test`).
MEDCHAT = Path(sys.executable).parent / "medchat"


def medchat(*argv, check: bool = True) -> subprocess.CompletedProcess:
    if not MEDCHAT.exists():
        pytest.fail(f"{MEDCHAT} is missing: `make install` (pip install -e . --no-deps) installs it")
    proc = subprocess.run(
        [str(MEDCHAT), *map(str, argv)], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_help_lists_every_command():
    out = medchat("--help").stdout
    for command in ("chat", "serve", "train", "eval", "datagen", "index", "safety"):
        assert f"\n  {command} " in out
    bad = medchat("nonsense", check=False)
    assert bad.returncode == 2 and "unknown command 'nonsense'" in bad.stderr
    assert medchat(check=False).returncode == 2  # no command: usage, status 2


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["chat", "--help"], ["usage: medchat chat", "--model", "--base-url", "--no-refusal"]),
        (["eval", "mcq", "--help"], ["--api-model", "--scoring", "--chat-template"]),
        (["datagen", "tasks", "--help"], ["--seeds", "--api-model", "--adapter"]),
        (["index", "build", "--help"], ["--docs", "--overwrite"]),
        (["train", "--help"], ["sft", "dpo"]),
        (["safety", "--help"], ["--no-refusal"]),
    ],
)
def test_subcommands_are_the_modules_command_lines(argv, expected):
    out = medchat(*argv).stdout
    for flag in expected:
        assert flag in out


def test_safety_end_to_end():
    decision = json.loads(medchat("safety", "胸口疼得厉害，还一直出冷汗，喘不上气").stdout)
    assert decision["emergency"] is True and "cardiac" in decision["categories"]
    assert "120" in decision["notice"]
    calm = json.loads(medchat("safety", "感冒了多喝水有用吗？").stdout)
    assert calm["emergency"] is False and calm["refuse"] is False


def test_index_build_and_query_end_to_end(tmp_path):
    index = tmp_path / "kb"
    medchat("index", "build", "--docs", REPO / "data" / "samples" / "kb", "--out", index)
    hits = json.loads(
        medchat("index", "query", "--index", index, "--k", "3", "高血压患者饮食要注意什么？").stdout
    )
    assert hits and Path(hits[0]["source"]).name == "hypertension_zh.md"


def _requirement_lines(path: Path) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line]


def test_pyproject_dependencies_mirror_requirements():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    pinned = [r for r in _requirement_lines(REPO / "requirements.txt") if not r.startswith("torch==")]
    assert sorted(declared) == sorted(pinned)
    assert not any(d.startswith("torch") for d in project["dependencies"])  # the install step picks CPU/CUDA
    assert project["scripts"]["medchat"] == "medchat_cli:main"
