"""Serving limits and concurrency: the one place their defaults live, for the app and the API server.

``ServingLimits`` holds them; ``add_limit_args`` gives both command lines the same flags with the
same defaults, and ``limits_from_args`` reads them back. Library module (no command of its own).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ServingLimits:
    """Per-request and server-wide limits; the defaults suit one CPU or one GPU."""

    max_message_chars: int = 8_000  # one message, characters
    max_conversation_chars: int = 32_000  # a whole conversation with the new message, characters
    max_new_tokens_cap: int = 2_048  # the longest reply anyone may ask for, tokens
    default_max_new_tokens: int = 512  # reply length when the request or the page sets none
    timeout_s: float = 120.0  # wall-clock limit on one generation, seconds
    max_concurrent: int = 2  # generations running at once
    max_queue: int = 32  # requests waiting for a generation slot; more are refused
    max_messages: int = 100  # messages in one API request
    max_request_bytes: int = 1_000_000  # raw JSON body of one API request
    max_feedback_per_answer: int = 5  # ratings and comparisons stored for one answer

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"{f.name} must be > 0, got {getattr(self, f.name)}")


# flag -> (field, type, help); the app and the API server take exactly these.
_FLAGS = {
    "--max-message-chars": ("max_message_chars", int, "longest accepted message, characters"),
    "--max-conversation-chars": ("max_conversation_chars", int, "longest accepted conversation, characters"),
    "--max-new-tokens": ("default_max_new_tokens", int, "default reply length, tokens"),
    "--max-new-tokens-cap": ("max_new_tokens_cap", int, "longest reply a request may ask for, tokens"),
    "--generation-timeout": ("timeout_s", float, "seconds per reply before it is cut"),
    "--max-concurrent": ("max_concurrent", int, "replies generated at the same time"),
    "--max-queue": ("max_queue", int, "requests waiting beyond that; more are refused"),
}


def add_limit_args(parser: argparse.ArgumentParser) -> None:
    """Add the serving-limit flags (defaults from :class:`ServingLimits`) as one argument group."""
    group = parser.add_argument_group("limits and concurrency")
    defaults = ServingLimits()
    for flag, (name, kind, help_) in _FLAGS.items():
        group.add_argument(flag, dest=name, type=kind, default=getattr(defaults, name), help=help_)


def limits_from_args(args: argparse.Namespace) -> ServingLimits:
    """The :class:`ServingLimits` set by :func:`add_limit_args` flags (others keep their defaults)."""
    return ServingLimits(**{name: getattr(args, name) for name, _, _ in _FLAGS.values()})
