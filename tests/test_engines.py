"""model/engines.py: the one way every command names its model. Flag errors name the flags; --model
loads a real tiny local model; --base-url + --api-model talks to our real API server on 127.0.0.1."""

import argparse

import pytest

from model.engines import (
    EngineArgsError,
    add_engine_args,
    add_remote_args,
    engine_from_args,
    engine_label,
    remote_from_args,
)
from model.generate import GenerationSettings, LocalEngine


def parse(*argv, remote=True, prefixed=False):
    parser = argparse.ArgumentParser()
    add_engine_args(parser, remote=remote)
    if prefixed:
        add_remote_args(parser, prefix="judge", what="the judge")
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--model", "m", "--base-url", "http://x/v1", "--api-model", "n"],
            "--model and --base-url are alternatives",
        ),
        (["--base-url", "http://x/v1"], "--base-url needs --api-model"),
        (["--api-model", "n"], "give --base-url URL too"),
        ([], "no model given: pass --model"),
        (
            ["--base-url", "http://x/v1", "--api-model", "n", "--adapter", "a"],
            "--adapter apply to a model loaded here",
        ),
        (["--base-url", "http://x/v1", "--api-model", "n", "--quant", "4bit"], "--quant apply"),
    ],
)
def test_bad_flag_combinations_name_the_flags(argv, message):
    with pytest.raises(EngineArgsError, match=message):
        engine_from_args(parse(*argv))


def test_nothing_given_is_none_where_not_required():
    assert engine_from_args(parse(), required=False) is None


def test_server_style_parser_has_no_endpoint_flags():
    parser = argparse.ArgumentParser()
    add_engine_args(parser, remote=False)
    with pytest.raises(SystemExit):
        parser.parse_args(["--base-url", "http://x/v1"])
    assert engine_from_args(parser.parse_args([]), required=False) is None


def test_prefixed_endpoint_flags():
    args = parse("--model", "m", "--judge-api-model", "j", prefixed=True)
    with pytest.raises(
        EngineArgsError, match="--judge-api-model names a model at an endpoint: give --judge-base-url"
    ):
        remote_from_args(args, prefix="judge")
    assert remote_from_args(parse("--model", "m", prefixed=True), prefix="judge") is None
    judge = remote_from_args(
        parse("--model", "m", "--judge-base-url", "http://h:1/v1/", "--judge-api-model", "j", prefixed=True),
        prefix="judge",
    )
    assert (judge.name, judge.base_url) == ("j", "http://h:1/v1")


def test_labels():
    assert engine_label(parse("--model", "runs/sft/")) == "sft"
    assert engine_label(parse("--base-url", "http://x/v1", "--api-model", "org/med-7b")) == "med-7b"


def test_local_and_remote_engines_answer_alike(tiny_model_dir):
    from model.server import BackgroundServer, build_app

    local = engine_from_args(parse("--model", str(tiny_model_dir), "--device", "cpu"))
    assert isinstance(local, LocalEngine) and local.name == str(tiny_model_dir)
    settings = GenerationSettings(max_new_tokens=8, temperature=0)
    messages = [{"role": "user", "content": "头痛怎么办？"}]
    with BackgroundServer(build_app(local)) as srv:  # served under its folder name
        remote = engine_from_args(
            parse("--base-url", srv.url + "/v1", "--api-model", local.name, "--max-retries", "0")
        )
        assert remote.name == local.name and remote.client.max_retries == 0
        assert remote.chat(messages, settings) == local.chat(messages, settings)
