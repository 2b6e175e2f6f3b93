"""`python -m training STAGE` against a careless or hostile user (issue 17): it never writes into a
folder of someone else's files unless told to, and bad training data (an empty file, a binary file,
one enormous record) stops it with an error naming the file and line, leaving no output folder."""

import json

import pytest
from conftest import REPO

from training import sft
from training.__main__ import main as training_main
from training.common import parse_config
from training.runs import RUN_FILE, STAGE_FILE, StageError

RECIPE = str(REPO / "recipes/sft/tiny.yaml")
DIALOGUES = str(REPO / "data/samples/dialogues.jsonl")
SMALL = ["--max_steps", "2", "--max_samples", "8", "--max_length", "64", "--disable_tqdm", "true"]


def sft_cli(model_dir, out, *flags, data=DIALOGUES):
    """Run `training sft` in-process as the command line does; returns the error it exits with, or None."""
    argv = ["sft", "--config", RECIPE, "--model", str(model_dir), "--train_files", str(data),
            "--output_dir", str(out), *SMALL, *flags]  # fmt: skip
    try:
        training_main(argv)
    except SystemExit as exit_:
        return str(exit_.code)
    return None


def users_folder(tmp_path):
    """A folder of the user's own files, named like the ones a stage writes."""
    folder = tmp_path / "mine"
    folder.mkdir()
    files = {
        "config.json": '{"mine": true}',
        "config.yaml": "mine: true\n",
        "data.json": "[1, 2, 3]",
        "metrics.jsonl": '{"step": 1}\n',
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder, files


def test_output_dir_of_the_users_files_is_refused_untouched_unless_overwrite_is_given(
    tmp_path, tiny_model_dir
):
    folder, files = users_folder(tmp_path)
    error = sft_cli(tiny_model_dir, folder)
    assert error.startswith(f"error: --output_dir {folder} already holds files that are not a medchat")
    assert (
        "(config.json, config.yaml, data.json, metrics.jsonl)" in error and "--overwrite_output_dir" in error
    )
    assert {p.name: p.read_text() for p in folder.iterdir()} == files  # nothing touched, nothing added

    assert sft_cli(tiny_model_dir, folder, "--overwrite_output_dir") is None  # told to: it trains there
    assert json.loads((folder / STAGE_FILE).read_text())["stage"] == "sft"
    assert (folder / RUN_FILE).exists() and (folder / "config.json").read_text() != files["config.json"]
    # now the folder is a medchat run: running the stage again into it needs no flag
    assert parse_config(sft.SFTStageConfig, ["--output_dir", str(folder)]).output_dir == str(folder)


def test_new_empty_and_file_output_dirs(tmp_path):
    assert parse_config(sft.SFTStageConfig, ["--output_dir", str(tmp_path / "new")])
    (tmp_path / "empty").mkdir()
    assert parse_config(sft.SFTStageConfig, ["--output_dir", str(tmp_path / "empty")])
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StageError, match="is a file, not a folder"):
        parse_config(sft.SFTStageConfig, ["--output_dir", str(tmp_path / "a-file")])
    # many files: the message names the first five and counts the rest
    crowded = tmp_path / "crowded"
    crowded.mkdir()
    for i in range(8):
        (crowded / f"f{i}.txt").write_text("x")
    with pytest.raises(StageError, match=r"\(f0.txt, f1.txt, f2.txt, f3.txt, f4.txt and 3 more\)"):
        parse_config(sft.SFTStageConfig, ["--output_dir", str(crowded)])


def assert_refused(error, expected, out):
    assert error == f"error: {expected}"
    assert not out.exists()  # no empty (or half-written) output folder left behind


def test_empty_training_file_names_the_file(tmp_path, tiny_model_dir):
    data, out = tmp_path / "empty.jsonl", tmp_path / "out"
    data.write_text("")
    assert_refused(
        sft_cli(tiny_model_dir, out, data=data), f"{data}:1: the file is empty: no records in it", out
    )


def test_binary_training_file_names_the_file_and_line(tmp_path, tiny_model_dir):
    data, out = tmp_path / "weights.jsonl", tmp_path / "out"
    good = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    data.write_bytes((good + "\n" + good + "\n").encode() + bytes(range(128, 256)) * 8)
    expected = (
        f"{data}:3: not UTF-8 text (undecodable byte at offset {2 * len(good) + 2}): a binary file, "
        "or another encoding"
    )
    assert_refused(sft_cli(tiny_model_dir, out, data=data), expected, out)


def test_a_million_character_record_names_the_file_and_line(tmp_path, tiny_model_dir):
    data, out = tmp_path / "huge.jsonl", tmp_path / "out"
    ok = {
        "messages": [
            {"role": "user", "content": "头痛怎么办？"},
            {"role": "assistant", "content": "多休息。"},
        ]
    }
    huge = {
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "长" * 1_000_000}]
    }
    data.write_text(json.dumps(ok, ensure_ascii=False) + "\n" + json.dumps(huge, ensure_ascii=False) + "\n")
    error = sft_cli(tiny_model_dir, out, data=data)
    assert error.startswith(
        f"error: {data}:2: the conversation is 1,000,001 characters long, over the 200,000"
    )
    assert not out.exists()
