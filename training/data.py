"""Training data readers: every supported file format -> one normalised record type per stage.

Formats (one JSON object per line in ``.jsonl``; ``.json`` may hold a list of such objects):

=========  ==================================================================================
stage      accepted records
=========  ==================================================================================
pt         ``.txt`` files (documents separated by blank lines) and JSONL ``{"text": ...}``
sft        ShareGPT ``{"conversations": [{"from": "human"|"gpt"|"system", "value": ...}]}``,
           OpenAI ``{"messages": [{"role", "content"}]}`` (assistant turns may carry
           ``reasoning_content``, or lead with ``<think>...</think>``), HuatuoGPT-o1's
           ``{"Question", "Complex_CoT", "Response"}`` (Complex_CoT is the reasoning), Alpaca
           ``{"instruction", "input", "output"}`` (optional ``system``)
rm, dpo    TRL conversational ``{"prompt": [messages], "chosen": [assistant message],
           "rejected": [assistant message]}`` (what ``training export-feedback`` writes), the
           string form ``{"prompt": str, "chosen": str, "rejected": str}`` and MedicalGPT's
           ``{"conversations": [...], "chosen": str, "rejected": str}``
kto        TRL unpaired ``{"prompt": str | [messages], "completion": str | [assistant message],
           "label": bool}`` (what ``training export-feedback --format kto`` writes)
rl         ``{"prompt": str | [messages]}``, ``{"question": ..., "answer": ...}`` (MedicalGPT GRPO),
           ``{"messages"|"conversations": [...]}`` ending with a user turn, or ``.txt`` one per line;
           with verifiable rewards: ``{"question", "options"?, "answer"}`` and HuatuoGPT-o1's
           ``{"Open-ended Verifiable Question", "Ground-True Answer"}``
=========  ==================================================================================

A malformed record raises :class:`DataFormatError` naming the file and line; with ``skip_bad`` it
is skipped and counted in the :class:`ReadReport` instead.

Conversations are turned into token ids only through model/chat.py's :func:`render` (the
tokenizer's chat template) by :func:`conversation_examples`, so SFT sees exactly the prompt the
app and the API server build for the same conversation. Reasoning is rendered in the model's
thinking format (model/chat.py: the template's own, else ``<think>`` tags) and carries loss.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from model.chat import ChatFormatError, render
from model.reasoning import split_reasoning
from training.runs import StageError

TEXT_SUFFIXES = (".txt", ".md")
JSON_SUFFIXES = (".jsonl", ".json")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "system": "system",
}


class DataFormatError(ValueError):
    """A record that cannot be used; the message starts with ``file:line``."""

    def __init__(self, path: str | Path, line: int, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: {reason}")


@dataclass
class ReadReport:
    """What a reader consumed: files, good records, skipped (malformed) records and why."""

    files: list[str] = field(default_factory=list)
    records: int = 0
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)  # the first few "file:line: reason"

    def skip(self, err: DataFormatError) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(str(err))

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "records": self.records,
            "skipped": self.skipped,
            "skipped_examples": self.skipped_examples,
        }


@dataclass
class PreferencePair:
    """A prompt conversation (ending with the user's turn) and two candidate assistant replies."""

    prompt: list[dict[str, str]]
    chosen: str
    rejected: str

    def to_trl(self) -> dict:
        """TRL's conversational preference form (what DPOTrainer and export-feedback use)."""
        return {
            "prompt": self.prompt,
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
        }


def expand_paths(paths: str | Path | Iterable[str | Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Files named by ``paths`` (a folder contributes its files with ``suffixes``, sorted, recursively)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        p = Path(p).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in suffixes)
            if not found:
                raise FileNotFoundError(f"{p} holds no {'/'.join(suffixes)} files")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"data file not found: {p}")
    if not files:
        raise FileNotFoundError("no data files given")
    return files


def _read_utf8(path: Path) -> str:
    """The text of ``path``; a file that is not UTF-8 (a binary file, another encoding) is a
    DataFormatError at the line of its first undecodable byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        reason = (
            f"not UTF-8 text (undecodable byte at offset {err.start}): a binary file, or another encoding"
        )
        raise DataFormatError(path, line, reason) from None


def _json_records(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, parsed object) for a .jsonl file, or for each item of a .json list (line 1-based
    index into the list). Unparseable JSON lines are yielded as DataFormatError objects."""
    text = _read_utf8(path)
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            yield err.lineno, DataFormatError(path, err.lineno, f"invalid JSON: {err.msg}")
            return
        if not isinstance(data, list):
            yield 1, DataFormatError(path, 1, "a .json data file must hold a list of records")
            return
        yield from enumerate(data, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            yield number, DataFormatError(path, number, f"invalid JSON: {err.msg}")


def _read(
    paths, parse: Callable[[object], object], skip_bad: bool, report: ReadReport, text_lines: bool = False
) -> list:
    """Parse every record of every file with ``parse`` (which raises ValueError with a reason)."""
    out = []
    for path in expand_paths(paths, TEXT_SUFFIXES + JSON_SUFFIXES):
        report.files.append(str(path))
        if path.suffix in TEXT_SUFFIXES:
            if not text_lines:
                raise DataFormatError(
                    path, 1, "plain-text files are only read as pretraining text or prompts"
                )
            items = [(n, line) for n, line in enumerate(_read_utf8(path).splitlines(), 1)]
            items = [(n, line.strip()) for n, line in items if line.strip()]
        else:
            items = list(_json_records(path))
        if not items and not skip_bad:
            raise DataFormatError(path, 1, "the file is empty: no records in it")
        for number, obj in items:
            try:
                if isinstance(obj, DataFormatError):
                    raise obj
                try:
                    out.append(parse(obj))
                except (ValueError, TypeError, KeyError) as err:
                    raise DataFormatError(path, number, str(err)) from None
            except DataFormatError as err:
                if not skip_bad:
                    raise
                report.skip(err)
                continue
            report.records += 1
    return out


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r:.60}")
    return value


def check_conversation(messages: list[dict[str, str]], must_end_with: str) -> list[dict[str, str]]:
    """Validate roles (optional system first, then user/assistant alternating from user) and contents."""
    if not messages:
        raise ValueError("empty conversation")
    body = messages[1:] if messages[0]["role"] == "system" else messages
    if not body:
        raise ValueError("the conversation has only a system message")
    for i, message in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if message["role"] != expected:
            raise ValueError(
                f"turn {i + 1} is {message['role']!r}, expected {expected!r} (turns must alternate)"
            )
    if body[-1]["role"] != must_end_with:
        raise ValueError(f"the last turn must be the {must_end_with}'s")
    return messages


def _messages(turns, key_role: str, key_text: str, role_map: dict | None) -> list[dict[str, str]]:
    """Turns -> messages; an assistant turn's reasoning (``reasoning_content``, or a leading
    ``<think>...</think>`` in its text) is kept as ``reasoning_content``."""
    if not isinstance(turns, list):
        raise ValueError(f"expected a list of turns, got {type(turns).__name__}")
    out = []
    for i, turn in enumerate(turns, 1):
        if not isinstance(turn, dict) or key_role not in turn or key_text not in turn:
            raise ValueError(f"turn {i} needs {key_role!r} and {key_text!r}")
        role = turn[key_role]
        role = role_map.get(role) if role_map else role
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"turn {i} has unknown role {turn[key_role]!r}")
        message = {"role": role, "content": _text(turn[key_text], f"turn {i} text")}
        if role == "assistant":
            reasoning, answer = "", message["content"]
            split = split_reasoning(message["content"])  # "<think>R</think>A" written inline
            if split.reasoning and split.closed:
                reasoning, answer = split.reasoning, split.answer.strip()
            if turn.get("reasoning_content") is not None:
                reasoning = _text(turn["reasoning_content"], f"turn {i} reasoning_content")
            if reasoning:
                message.update(content=_text(answer, f"turn {i} answer after the reasoning"))
                message["reasoning_content"] = reasoning
        elif turn.get("reasoning_content"):
            raise ValueError(f"turn {i}: only assistant turns carry reasoning_content")
        out.append(message)
    return out


# One SFT conversation at most (characters): 50,000+ tokens even for English, beyond every recipe's
# max_length; a longer record is a mistake (a document pasted whole), not something to truncate.
MAX_CONVERSATION_CHARS = 200_000
HUATUO_O1_SFT = ("Question", "Complex_CoT", "Response")


def parse_conversation(obj) -> list[dict[str, str]]:
    """One SFT record (ShareGPT, OpenAI messages, Alpaca or HuatuoGPT-o1) -> messages ending with an
    assistant turn."""
    if not isinstance(obj, dict):
        raise ValueError(f"a record must be a JSON object, got {type(obj).__name__}")
    if "conversations" in obj:
        messages = _messages(obj["conversations"], "from", "value", SHAREGPT_ROLES)
    elif "messages" in obj:
        messages = _messages(obj["messages"], "role", "content", None)
    elif "Complex_CoT" in obj or "Response" in obj:
        missing = [k for k in HUATUO_O1_SFT if k not in obj]
        if missing:
            raise ValueError(f"a HuatuoGPT-o1 record needs {', '.join(HUATUO_O1_SFT)}; missing {missing}")
        messages = [
            {"role": "user", "content": _text(obj["Question"], "Question")},
            {
                "role": "assistant",
                "content": _text(obj["Response"], "Response"),
                "reasoning_content": _text(obj["Complex_CoT"], "Complex_CoT"),
            },
        ]
    elif "instruction" in obj and "output" in obj:
        prompt = _text(obj["instruction"], "instruction")
        extra = obj.get("input") or ""
        if extra and extra != "<noinput>":  # AlpaCare marks an empty input with <noinput>
            prompt = f"{prompt}\n{extra}"
        messages = [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": _text(obj["output"], "output")},
        ]
        if obj.get("system"):
            messages.insert(0, {"role": "system", "content": _text(obj["system"], "system")})
    else:
        raise ValueError(
            "unknown SFT record: expected 'conversations' (ShareGPT), 'messages' (OpenAI), "
            "'Question'/'Complex_CoT'/'Response' (HuatuoGPT-o1) or 'instruction'/'output' (Alpaca); "
            f"keys are {sorted(obj)}"
        )
    size = sum(len(m["content"]) + len(m.get("reasoning_content") or "") for m in messages)
    if size > MAX_CONVERSATION_CHARS:
        raise ValueError(
            f"the conversation is {size:,} characters long, over the {MAX_CONVERSATION_CHARS:,} characters "
            "one SFT record may hold (far beyond any max_length): a whole document in one record?"
        )
    return check_conversation(messages, "assistant")


def _reply(value, what: str) -> str:
    """A reply given as a string, or as TRL's ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(value, list):
        if len(value) != 1 or not isinstance(value[0], dict) or value[0].get("role") != "assistant":
            raise ValueError(f"{what} must be one assistant message")
        value = value[0].get("content")
    return _text(value, what)


def parse_preference(obj) -> PreferencePair:
    """One preference record (TRL conversational, string form, MedicalGPT) -> PreferencePair."""
    if not isinstance(obj, dict):
        raise ValueError(f"a record must be a JSON object, got {type(obj).__name__}")
    if "chosen" not in obj or "rejected" not in obj:
        raise ValueError(f"a preference record needs 'chosen' and 'rejected'; keys are {sorted(obj)}")
    if "prompt" in obj:
        prompt = obj["prompt"]
        if isinstance(prompt, list):
            messages = _messages(prompt, "role", "content", None)
        else:
            messages = [{"role": "user", "content": _text(prompt, "prompt")}]
    elif "conversations" in obj:
        messages = _messages(obj["conversations"], "from", "value", SHAREGPT_ROLES)
    else:
        raise ValueError(f"a preference record needs 'prompt' or 'conversations'; keys are {sorted(obj)}")
    check_conversation(messages, "user")
    chosen, rejected = _reply(obj["chosen"], "chosen"), _reply(obj["rejected"], "rejected")
    if chosen == rejected:
        raise ValueError("chosen and rejected are identical")
    return PreferencePair(messages, chosen, rejected)


@dataclass
class UnpairedExample:
    """A prompt conversation (ending with the user's turn), one reply, and whether it was good."""

    prompt: list[dict[str, str]]
    completion: str
    label: bool  # True: desirable (thumbs up), False: undesirable (thumbs down)


def parse_unpaired(obj) -> UnpairedExample:
    """One KTO record, TRL's unpaired form: ``{"prompt": str | [messages], "completion": str |
    [assistant message], "label": true | false}`` (what ``export-feedback --format kto`` writes)."""
    if not isinstance(obj, dict):
        raise ValueError(f"a record must be a JSON object, got {type(obj).__name__}")
    missing = [k for k in ("prompt", "completion", "label") if k not in obj]
    if missing:
        raise ValueError(f"an unpaired record needs prompt, completion and label; missing {missing}")
    if not isinstance(obj["label"], bool):
        raise ValueError(f"label must be true (desirable) or false (undesirable), got {obj['label']!r}")
    prompt = obj["prompt"]
    if isinstance(prompt, list):
        messages = check_conversation(_messages(prompt, "role", "content", None), "user")
    else:
        messages = [{"role": "user", "content": _text(prompt, "prompt")}]
    return UnpairedExample(messages, _reply(obj["completion"], "completion"), obj["label"])


def parse_prompt(obj) -> list[dict[str, str]]:
    """One RL prompt record -> messages ending with the user's turn."""
    if isinstance(obj, str):
        return [{"role": "user", "content": _text(obj, "prompt")}]
    if not isinstance(obj, dict):
        raise ValueError(f"a prompt record must be a JSON object or string, got {type(obj).__name__}")
    if "prompt" in obj:
        prompt = obj["prompt"]
        if isinstance(prompt, list):
            return check_conversation(_messages(prompt, "role", "content", None), "user")
        return [{"role": "user", "content": _text(prompt, "prompt")}]
    if "question" in obj:
        return [{"role": "user", "content": _text(obj["question"], "question")}]
    if "messages" in obj:
        messages = _messages(obj["messages"], "role", "content", None)
    elif "conversations" in obj:
        messages = _messages(obj["conversations"], "from", "value", SHAREGPT_ROLES)
    else:
        raise ValueError(
            f"a prompt record needs 'prompt', 'question', 'messages' or 'conversations'; keys are {sorted(obj)}"
        )
    # A full dialogue is accepted as a prompt list: its last assistant reply is dropped.
    if messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    return check_conversation(messages, "user")


OPTION_LETTERS = "ABCDEFGHIJ"


def _options(value) -> dict[str, str]:
    """MCQ options as ``{"A": text, ...}`` (given as such a dict, or as a list in letter order)."""
    if isinstance(value, list):
        value = dict(zip(OPTION_LETTERS, value, strict=False))
    if not isinstance(value, dict) or len(value) < 2:
        raise ValueError('\'options\' must map letters to texts ({"A": ..., "B": ...}) or list them')
    options = {str(k).strip().upper(): _text(v, f"option {k}").strip() for k, v in value.items()}
    if any(k not in OPTION_LETTERS for k in options):
        raise ValueError(f"option keys must be letters A-J, got {list(options)}")
    return options


def parse_problem(obj) -> dict:
    """One verifiable RL problem -> ``{"prompt": [user message], "answer": str, "options": str}``
    (``options``: the JSON of the letter -> text map, ``""`` for an open-ended problem; a string
    column keeps the dataset's schema fixed). Reads ``{question, options?, answer}`` (an MCQ's
    answer is its letter or its option's exact text) and HuatuoGPT-o1's ``Open-ended Verifiable
    Question`` / ``Ground-True Answer``."""
    if not isinstance(obj, dict):
        raise ValueError(f"a problem must be a JSON object, got {type(obj).__name__}")
    if "Open-ended Verifiable Question" in obj or "Ground-True Answer" in obj:
        question = _text(obj.get("Open-ended Verifiable Question"), "Open-ended Verifiable Question")
        answer = _text(obj.get("Ground-True Answer"), "Ground-True Answer").strip()
        return {"prompt": [{"role": "user", "content": question}], "answer": answer, "options": ""}
    if "question" not in obj or "answer" not in obj:
        raise ValueError(
            "a verifiable problem needs 'question' and 'answer' (options optional), or HuatuoGPT-o1's "
            f"'Open-ended Verifiable Question' and 'Ground-True Answer'; keys are {sorted(obj)}"
        )
    question = _text(obj["question"], "question").strip()
    answer = _text(obj["answer"], "answer").strip()
    if obj.get("options") is None:
        return {"prompt": [{"role": "user", "content": question}], "answer": answer, "options": ""}
    options = _options(obj["options"])
    if answer.upper() in options:
        answer = answer.upper()
    else:
        named = [k for k, v in options.items() if v == answer]
        if len(named) != 1:
            raise ValueError(
                f"answer {answer!r} is neither an option letter ({', '.join(options)}) nor one option's text"
            )
        answer = named[0]
    block = question + "\n" + "\n".join(f"{k}. {v}" for k, v in options.items())
    return {
        "prompt": [{"role": "user", "content": block}],
        "answer": answer,
        "options": json.dumps(options, ensure_ascii=False),
    }


def _parse_text(obj) -> str:
    if isinstance(obj, dict):
        if "text" not in obj:
            raise ValueError(f"a pretraining record needs 'text'; keys are {sorted(obj)}")
        return _text(obj["text"], "text")
    raise ValueError(f"a pretraining record must be a JSON object, got {type(obj).__name__}")


def read_texts(paths, skip_bad: bool = False, report: ReadReport | None = None) -> list[str]:
    """Pretraining documents: each blank-line-separated block of a .txt file, each JSONL ``text``."""
    report = report if report is not None else ReadReport()
    docs: list[str] = []
    for path in expand_paths(paths, TEXT_SUFFIXES + JSON_SUFFIXES):
        if path.suffix in TEXT_SUFFIXES:
            report.files.append(str(path))
            blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n")]
            blocks = [b for b in blocks if b]
            docs += blocks
            report.records += len(blocks)
        else:
            docs += _read([path], _parse_text, skip_bad, report)
    return docs


def read_conversations(paths, skip_bad: bool = False, report: ReadReport | None = None) -> list[list[dict]]:
    """SFT conversations (ShareGPT, OpenAI messages, Alpaca), each ending with an assistant turn."""
    return _read(paths, parse_conversation, skip_bad, report if report is not None else ReadReport())


def read_preferences(paths, skip_bad: bool = False, report: ReadReport | None = None) -> list[PreferencePair]:
    """Preference pairs for rm and dpo."""
    return _read(paths, parse_preference, skip_bad, report if report is not None else ReadReport())


def read_prompts(paths, skip_bad: bool = False, report: ReadReport | None = None) -> list[list[dict]]:
    """RL prompts, each a conversation ending with the user's turn."""
    return _read(
        paths, parse_prompt, skip_bad, report if report is not None else ReadReport(), text_lines=True
    )


def read_unpaired(paths, skip_bad: bool = False, report: ReadReport | None = None) -> list[UnpairedExample]:
    """Unpaired desirable/undesirable replies for kto."""
    return _read(paths, parse_unpaired, skip_bad, report if report is not None else ReadReport())


def read_verifiable(paths, skip_bad: bool = False, report: ReadReport | None = None) -> list[dict]:
    """Verifiable RL problems (:func:`parse_problem`) for the accuracy and format rewards."""
    return _read(paths, parse_problem, skip_bad, report if report is not None else ReadReport())


def split_heldout(records: list, eval_fraction: float, seed: int) -> tuple[list, list]:
    """Deterministic train/held-out split (``eval_fraction`` of the records, at least one when > 0)."""
    if eval_fraction <= 0 or len(records) < 2:
        return records, []
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_eval = max(1, round(len(records) * eval_fraction))
    held = set(order[:n_eval])
    return [r for i, r in enumerate(records) if i not in held], [
        r for i, r in enumerate(records) if i in held
    ]


def read_split(cfg, reader) -> tuple[list, list, dict]:
    """Read a stage's ``train_files`` with ``reader`` (read_texts, read_conversations, ...), cap them at
    ``max_samples``, take the held-out part from ``eval_files`` or ``eval_fraction``, and fingerprint
    the data: returns (train records, held-out records, fingerprint)."""
    report = ReadReport()
    records = reader(cfg.train_files, cfg.skip_bad, report)
    if not records:
        raise StageError(
            f"no training records in {', '.join(report.files)} ({report.skipped} malformed records skipped)"
        )
    if cfg.max_samples:
        records = records[: cfg.max_samples]
    if cfg.eval_files:
        train, held = records, reader(cfg.eval_files, cfg.skip_bad, report)
    else:
        train, held = split_heldout(records, cfg.eval_fraction, cfg.seed)
    return train, held, fingerprint(report, train_records=len(train), eval_records=len(held))


def fingerprint(report: ReadReport, **counts) -> dict:
    """A data fingerprint saved beside each checkpoint: SHA-256 of every file and the record counts."""
    files = []
    total = hashlib.sha256()
    for name in report.files:
        digest = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        files.append({"path": name, "sha256": digest, "bytes": Path(name).stat().st_size})
        total.update(digest.encode())
    return {"sha256": total.hexdigest(), **report.to_dict(), "file_hashes": files, **counts}


# ---------------------------------------------------------------------------------------------
# Conversations -> token ids, through model/chat.py only


def conversation_examples(
    tokenizer, messages: list[dict[str, str]], thinking: bool | None = None
) -> list[tuple[list[int], list[int]]]:
    """Training examples of a conversation: ``(token ids, assistant mask)`` pairs (mask 1 on tokens
    the loss is computed on), each reply trained in exactly the context it is served in.

    Each assistant reply's context is rendered with ``chat.render(..., add_generation_prompt=True)``
    (exactly what the server builds for that turn) and the reply is the text the rendered turn adds
    after it. Segments are tokenized separately with ``add_special_tokens=False``, so the ids of a
    reply's prompt part equal the ids the server feeds the model: no token merges across the
    prompt/reply boundary. The mask covers the reply up to and including the template's end-of-turn
    token (the tokenizer's EOS, so the model learns to stop); separators after it are context.

    Replies share one example while each served prompt extends the text before it. A template that
    rewrites earlier turns (Qwen3-style templates drop earlier replies' reasoning) breaks that: the
    reply then starts a new example holding its own served prompt, so a conversation gives one
    example per such turn. ``thinking`` is passed to templates that take ``enable_thinking``.

    Raises ChatFormatError if the template does not render a reply as a continuation of its served
    prompt (then no training text can match what is served)."""
    examples: list[tuple[list[int], list[int]]] = []
    ids: list[int] = []
    mask: list[int] = []
    done = ""  # text of the current example so far

    def add(text: str, label: int) -> None:
        if text:
            piece = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids.extend(piece)
            mask.extend([label] * len(piece))

    eos = tokenizer.eos_token or ""
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = render(tokenizer, messages[:i], add_generation_prompt=True, thinking=thinking)
        full = render(tokenizer, messages[: i + 1], add_generation_prompt=False, thinking=thinking)
        if not full.startswith(prompt):
            raise ChatFormatError(
                f"the chat template does not render reply {i} as a continuation of the prompt served "
                "for it, so no training text can match the served prompt; pick a template with "
                "--chat_template"
            )
        if not prompt.startswith(done):  # earlier turns rendered differently: start a new example
            examples.append((ids, mask))
            ids, mask, done = [], [], ""
        add(prompt[len(done) :], 0)
        reply = full[len(prompt) :]
        cut = reply.rfind(eos) + len(eos) if eos and eos in reply else len(reply)
        add(reply[:cut], 1)
        done = prompt + reply[:cut]
        # the separator after the end-of-turn token (e.g. "\n") is context for the next turn
    examples.append((ids, mask))
    return [e for e in examples if e[0]]


def conversation_ids(
    tokenizer, messages: list[dict[str, str]], thinking: bool | None = None
) -> tuple[list[int], list[int]]:
    """Token ids and assistant mask of the example holding the conversation's final reply, in the
    context it is served in (a prompt and its reply, as rm and dpo score it); see
    :func:`conversation_examples`."""
    return conversation_examples(tokenizer, messages, thinking)[-1]
