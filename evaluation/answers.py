"""The final answer of a reply, after the model's reasoning: what reasoning models are scored on.

Formats: ``<think>…</think>answer`` (DeepSeek-R1 / Qwen3 style; also ``…</think>answer`` when the
prompt opened the tag), HuatuoGPT-o1's ``## Thinking`` … ``## Final Response`` …, and an
``<answer>…</answer>`` tag (MedicalGPT's GRPO format) inside the answer. A reply still reasoning
when it stopped (``<think>`` never closed, ``## Thinking`` without ``## Final Response``) has no
final answer: None, which the tasks count as unparseable, never guessing from the reasoning.
"""

from __future__ import annotations

import re

from model.chat import THINK_CLOSE, THINK_OPEN
from model.reasoning import FINAL_HEADING as _FINAL_HEADING
from model.reasoning import THINKING_HEADING as _THINKING_HEADING

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S)


def final_answer(reply: str) -> str | None:
    """The answer part of ``reply`` (stripped), or None when the reply holds reasoning but no answer."""
    if THINK_CLOSE in reply:
        reply = reply.rpartition(THINK_CLOSE)[2]
    elif THINK_OPEN in reply:
        return None
    headings = list(_FINAL_HEADING.finditer(reply))
    if headings:
        reply = reply[headings[-1].end() :]
    elif _THINKING_HEADING.search(reply):
        return None
    tagged = _ANSWER_TAG.search(reply)
    answer = (tagged.group(1) if tagged else reply).strip()
    return answer or None
