"""One way to name the model a command talks to, for every command (app, API server, evaluation, datagen).

Either a model run here, in-process:

    --model ID_OR_FOLDER [--adapter DIR] [--quant none|4bit|8bit] [--chat-template NAME] [--device ...]

(the local flags come from model/load.py ``add_model_args``; the result is a ``LocalEngine`` from
model/generate.py), or an OpenAI-compatible endpoint (our model.server, vLLM, TGI, OpenAI):

    --base-url http://127.0.0.1:8000/v1 --api-model NAME [--api-key KEY] [--max-retries N]

(the result is an ``OpenAIEngine`` from model/client.py). Both have the same chat methods
(``chat``, ``stream_chat``, ``chat_batch``, ``name``, ``describe``). Commands that use a second
model (evaluation's judge) add the endpoint flags again under a prefix (``--judge-base-url``,
``--judge-api-model``, ``--judge-api-key``). A command wires them as::

    add_engine_args(parser)
    args = parser.parse_args()
    engine = engine_from_args(args)      # raises EngineArgsError with a message naming the flags
"""

from __future__ import annotations

import argparse

from model.load import add_model_args, load_from_args

# Local-model flags and the value that means "not given": naming one of them with --base-url is a
# mistake (the endpoint decides its own weights, quantization and template).
_LOCAL_ONLY = (("adapter", None), ("quant", "none"), ("chat_template", "auto"))


class EngineArgsError(ValueError):
    """The engine flags name no model, or two, or an endpoint without its model name."""


def _flag(prefix: str, name: str) -> str:
    return f"--{prefix}-{name}" if prefix else f"--{name}"


def _dest(prefix: str, name: str) -> str:
    return _flag(prefix, name)[2:].replace("-", "_")


def add_remote_args(parser: argparse.ArgumentParser, prefix: str = "", what: str = "the model") -> None:
    """``--base-url``, ``--api-model``, ``--api-key``, ``--max-retries`` (each ``--PREFIX-...`` with a
    prefix) naming an OpenAI-compatible endpoint serving ``what``."""
    group = parser.add_argument_group(
        f"{what} behind an OpenAI-compatible endpoint" + ("" if prefix else " (instead of --model)")
    )
    group.add_argument(
        _flag(prefix, "base-url"),
        default=None,
        help="endpoint, e.g. http://127.0.0.1:8000/v1 (python -m model.server, vLLM, TGI, OpenAI)",
    )
    group.add_argument(
        _flag(prefix, "api-model"), default=None, help="model name the endpoint serves (see its /v1/models)"
    )
    group.add_argument(_flag(prefix, "api-key"), default=None, help="bearer key (default: $OPENAI_API_KEY)")
    group.add_argument(
        _flag(prefix, "max-retries"),
        type=int,
        default=5,
        help="retries on 408/409/429/5xx and connection errors, with exponential backoff",
    )


def add_engine_args(
    parser: argparse.ArgumentParser, default_model: str | None = None, remote: bool = True
) -> None:
    """The model flags: ``--model`` and the local-model flags of model/load.py, and (unless
    ``remote`` is False, e.g. for the API server, which serves a local model) the endpoint flags."""
    add_model_args(parser, default_model=default_model)
    if remote:
        add_remote_args(parser)


def remote_from_args(args: argparse.Namespace, prefix: str = "", concurrency: int = 4):
    """The ``OpenAIEngine`` named by the (prefixed) endpoint flags, or None when no base URL is given."""
    base_url = getattr(args, _dest(prefix, "base_url"))
    api_model = getattr(args, _dest(prefix, "api_model"))
    if api_model and not base_url:
        raise EngineArgsError(
            f"{_flag(prefix, 'api-model')} names a model at an endpoint: give {_flag(prefix, 'base-url')} URL too"
        )
    if not base_url:
        return None
    if not api_model:
        raise EngineArgsError(
            f"{_flag(prefix, 'base-url')} needs {_flag(prefix, 'api-model')} NAME "
            "(the model name the endpoint serves, see its /v1/models)"
        )
    from model.client import OpenAIEngine

    return OpenAIEngine(
        base_url,
        api_model,
        api_key=getattr(args, _dest(prefix, "api_key")),
        max_retries=getattr(args, _dest(prefix, "max_retries")),
        concurrency=concurrency,
    )


def check_engine_args(args: argparse.Namespace, required: bool = True) -> None:
    """Raise ``EngineArgsError`` unless the flags name exactly one engine (or none, when not
    ``required``); call it right after parsing to fail before anything loads."""
    base_url = getattr(args, "base_url", None)
    if args.model and base_url:
        raise EngineArgsError(
            "--model and --base-url are alternatives: --model runs a model here (hub id or local folder), "
            "--base-url URL --api-model NAME talks to an endpoint; give one of them"
        )
    if base_url or getattr(args, "api_model", None):
        if not (base_url and args.api_model):
            remote_from_args(args)  # raises the message naming the missing flag
        given = [
            _flag("", d.replace("_", "-")) for d, unset in _LOCAL_ONLY if getattr(args, d, unset) != unset
        ]
        if given:
            raise EngineArgsError(
                f"{', '.join(given)} apply to a model loaded here (--model); the endpoint at {base_url} "
                "serves its own model"
            )
    elif required and not args.model:
        raise EngineArgsError(
            "no model given: pass --model (a Hugging Face id or a local folder) or "
            "--base-url URL --api-model NAME (an OpenAI-compatible endpoint)"
        )


def engine_from_args(
    args: argparse.Namespace, required: bool = True, concurrency: int = 4, max_input_tokens: int | None = None
):
    """The engine the flags name: an ``OpenAIEngine`` for ``--base-url`` (``concurrency`` requests at
    a time in ``chat_batch``), else a ``LocalEngine`` loading ``--model`` (``max_input_tokens``
    bounds its prompts); None when neither is given and not ``required`` (the caller picks a
    default, as the app does with its demo model). Loading errors are model/load.py's
    ``ModelLoadError``."""
    check_engine_args(args, required)
    remote = remote_from_args(args, concurrency=concurrency) if getattr(args, "base_url", None) else None
    if remote is not None:
        return remote
    if not args.model:
        return None
    from model.generate import LocalEngine

    return LocalEngine(load_from_args(args), max_input_tokens=max_input_tokens)


def engine_label(args: argparse.Namespace) -> str:
    """A short name for the model the flags name (the endpoint's model name, or the folder's/id's
    last part), for run names and file names."""
    name = getattr(args, "api_model", None) if getattr(args, "base_url", None) else args.model
    return str(name or "model").rstrip("/").rsplit("/", 1)[-1]
