r"""Multiple-choice exams: CMMLU / C-Eval CSV and MedQA-style JSONL, zero- or few-shot, scored by option
log-likelihood (batched forward passes, local models) and by the letter the model generates.

    python -m evaluation mcq --model Qwen/Qwen2.5-7B-Instruct --data ../shared/data/cmmlu/dev --out runs/mcq
    python -m evaluation mcq --model SYNLP/ChiMed-GPT-1.0 --chat-template chimed \
        --data cmmlu/test --dev cmmlu/dev --shots 5 --out runs/chimed-cmmlu
    python -m evaluation mcq --base-url http://127.0.0.1:8000/v1 --model medchat --data medqa.jsonl --out runs/api

Formats:
  CSV (CMMLU ``,Question,A,B,C,D,Answer``; C-Eval ``id,question,A,B,C,D,answer,...``): column names
  are matched case-insensitively; the subject is the file name (a ``_dev``/``_val``/``_test`` suffix
  is dropped). JSONL/JSON (MedQA style): ``question``, ``options`` (``{"A": ..., ...}`` or a list),
  the answer as ``answer_idx`` or ``answer`` (a letter, or the text of one option); optional
  ``subject`` (or ``meta_info``) and ``id``.

Ties: when several options share the top log-likelihood (within 1e-6 nats) the item earns 1/k
credit if the gold option is among the k tied ones: the expected accuracy of a uniformly random
tie-break, so a model with uniform logits scores exactly the chance rate.
"""

from __future__ import annotations

import csv
import re
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluation import runner
from evaluation.data import DataError, detect_language, files_in, read_records, where
from evaluation.report import bar_chart, fmt_ci, md_table, published_section
from evaluation.stats import proportion

TIE_EPS = 1e-6  # nats: option scores closer than this to the best count as tied
LETTERS = "ABCDEFGHIJ"
INSTRUCTION = {
    "zh": "以下是一道单项选择题，请直接给出正确答案的选项字母。",
    "en": "The following is a multiple-choice question. Answer with the letter of the correct option only.",
}
ANSWER_CUE = {"zh": "答案：", "en": "Answer:"}  # plain (completion) prompts end with it


@dataclass
class Item:
    """One multiple-choice question."""

    id: str
    subject: str
    question: str
    options: dict[str, str]  # letter -> option text, in letter order
    answer: str  # gold letter
    lang: str
    source: str  # FILE:LINE


def subject_of(path: Path) -> str:
    return re.sub(r"_(dev|val|test)$", "", path.stem)


def read_csv(path: Path) -> list[Item]:
    """CMMLU / C-Eval CSV: a question column, one column per option letter, an answer column."""
    items = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            head = next(reader)
        except StopIteration:
            raise DataError(f"{path}: empty file") from None
        cols = {name.strip().lower(): i for i, name in enumerate(head)}
        letters = [c for c in LETTERS if c.lower() in cols]
        missing = [c for c in ("question", "answer") if c not in cols]
        if missing or len(letters) < 2:
            raise DataError(
                f"{where(path, 1)}: header {head!r} needs question, answer and option columns A, B, ... "
                f"(missing: {', '.join(missing) or 'option columns'})"
            )
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num  # a quoted field may span several lines
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(head):
                raise DataError(f"{where(path, start)}: {len(row)} columns, the header has {len(head)}")
            answer = row[cols["answer"]].strip().upper()
            options = {c: row[cols[c.lower()]].strip() for c in letters}
            if answer not in options:
                raise DataError(f"{where(path, start)}: answer {answer!r} is not one of {', '.join(options)}")
            question = row[cols["question"]].strip()
            if not question:
                raise DataError(f"{where(path, start)}: empty question")
            items.append(
                _item(
                    path,
                    start,
                    question,
                    options,
                    answer,
                    subject_of(path),
                    row[cols["id"]] if "id" in cols else row[0] or str(len(items)),
                )
            )
    return items


def _item(path: Path, line: int, question: str, options: dict, answer: str, subject: str, ident) -> Item:
    text = question + "".join(options.values())
    return Item(
        f"{path.stem}:{ident}", subject, question, options, answer, detect_language(text), where(path, line)
    )


def read_jsonl(path: Path) -> list[Item]:
    """MedQA-style records: question, options (dict or list), answer letter (answer_idx or answer)."""
    items = []
    for line, rec in read_records(path):
        question = rec.get("question")
        if not isinstance(question, str) or not question.strip():
            raise DataError(f"{where(path, line)}: missing or empty field 'question'")
        options = rec.get("options")
        if isinstance(options, list):
            options = dict(zip(LETTERS, options, strict=False))
        if not isinstance(options, dict) or len(options) < 2:
            raise DataError(f"{where(path, line)}: 'options' must map letters to texts, e.g. {{\"A\": ...}}")
        options = {str(k).strip().upper(): str(v).strip() for k, v in options.items()}
        if any(k not in LETTERS for k in options):
            raise DataError(f"{where(path, line)}: option keys must be letters A-J, got {list(options)}")
        answer = rec.get("answer_idx", rec.get("answer"))
        if isinstance(answer, str) and answer.strip().upper() in options:
            answer = answer.strip().upper()
        else:
            by_text = [k for k, v in options.items() if isinstance(answer, str) and v == answer.strip()]
            if len(by_text) != 1:
                raise DataError(
                    f"{where(path, line)}: answer {answer!r} names no option (use a letter "
                    f"among {', '.join(options)} in 'answer_idx' or 'answer')"
                )
            answer = by_text[0]
        subject = rec.get("subject") or rec.get("meta_info") or subject_of(path)
        items.append(_item(path, line, question.strip(), options, answer, str(subject), rec.get("id", line)))
    return items


def read_items(path: str | Path) -> list[Item]:
    """All questions in a CSV/JSONL/JSON file or in a folder of them."""
    items = []
    for file in files_in(path, (".csv", ".jsonl", ".json")):
        items += read_csv(file) if file.suffix == ".csv" else read_jsonl(file)
    return items


def pick_shots(items: list[Item], dev: list[Item], k: int, dev_path) -> dict[str, list[Item]]:
    """Up to ``k`` dev questions per subject (the first ones, never the question itself)."""
    by_subject: dict[str, list[Item]] = defaultdict(list)
    for d in dev:
        by_subject[d.subject].append(d)
    shots = {}
    for item in items:
        pool = by_subject.get(item.subject)
        if pool is None:
            if len(by_subject) != 1:
                raise DataError(
                    f"{dev_path}: no dev questions for subject {item.subject!r} "
                    f"(dev subjects: {', '.join(sorted(by_subject))})"
                )
            pool = next(iter(by_subject.values()))
        shots[item.id] = [d for d in pool if d.question != item.question][:k]
    return shots


def question_block(item: Item) -> str:
    return item.question + "\n" + "\n".join(f"{k}. {v}" for k, v in item.options.items())


def conversation(item: Item, shots: list[Item]) -> list[dict[str, str]]:
    """Chat form: each shot is a user question answered by the assistant with its letter."""
    messages = []
    for shot in shots:
        messages += [
            {"role": "user", "content": f"{INSTRUCTION[item.lang]}\n\n{question_block(shot)}"},
            {"role": "assistant", "content": shot.answer},
        ]
    messages.append({"role": "user", "content": f"{INSTRUCTION[item.lang]}\n\n{question_block(item)}"})
    return messages


def plain_prompt(item: Item, shots: list[Item]) -> str:
    """Completion form for base (pre-trained) models: ends with the answer cue, e.g. ``答案：``."""
    cue = ANSWER_CUE[item.lang]
    sep = "" if item.lang == "zh" else " "
    parts = [INSTRUCTION[item.lang], ""]
    parts += [f"{question_block(s)}\n{cue}{sep}{s.answer}\n" for s in shots]
    parts.append(f"{question_block(item)}\n{cue}")
    return "\n".join(parts)


def letter_continuation(item: Item, letter: str, prompt_format: str) -> str:
    """What follows the prompt when the model answers ``letter`` (" B" after "Answer:")."""
    return f" {letter}" if prompt_format == "plain" and item.lang == "en" else letter


_MARKERS = [
    r"(?:正确答案|正确选项|最佳答案|答案)\s*(?:应该|应|是|为)?\s*(?:选项|选)?\s*:?\s*[(\[]?\s*({L})(?![A-Za-z])",
    r"(?i:answer)\s*(?:(?i:is|would be|should be))?\s*:?\s*(?i:option)?\s*[(\[]?\s*({L})(?![A-Za-z])",
    r"(?:选择|应选|选)\s*(?:项)?\s*[(\[]?\s*({L})(?![A-Za-z])",
    r"(?i:option)\s*[(\[]?({L})[)\]]?\s*(?i:is correct|is right)",
]


def parse_letter(text: str, options: dict[str, str]) -> str | None:
    """The option letter a reply chooses, or None when it names none or several (never guessed).

    Understands "答案：B", "正确答案是（C）", "我选A", "B.", "(B)", "The answer is (B)", "Answer: D", a
    reply whose only standalone option letter is the answer, or one that quotes exactly one option."""
    t = unicodedata.normalize("NFKC", text).strip()  # full-width letters and punctuation -> ASCII
    if not t:
        return None
    letters = "".join(options)
    found = {m for pat in _MARKERS for m in re.findall(pat.replace("{L}", f"[{letters}]"), t)}
    if len(found) == 1:
        return found.pop()
    if found:
        return None
    m = re.match(rf"^[(\[]?([{letters}])(?:[)\].:、,;]|\s*$|\n)", t)
    if m:
        return m.group(1)
    # a standalone letter, but not the English article ("A deficiency of ...", while "A is right" counts)
    standalone = set(re.findall(rf"(?<![A-Za-z])([{letters}])(?![A-Za-z])(?!(?<=A) (?!is\b|was\b)[a-z])", t))
    if len(standalone) == 1:
        return standalone.pop()
    if standalone:
        return None
    quoted = [k for k, v in options.items() if len(v) >= 2 and v in t]
    return quoted[0] if len(quoted) == 1 else None


def score_loglik(
    items: list[Item], contexts: list[str], prompt_format: str, loaded, batch_size: int
) -> list[dict]:
    """Per item: the log-likelihood of each option letter, the prediction and the (tie) credit."""
    from evaluation.loglik import continuation_logprobs

    pairs = [
        (ctx, letter_continuation(item, letter, prompt_format))
        for item, ctx in zip(items, contexts, strict=True)
        for letter in item.options
    ]
    scores = iter(continuation_logprobs(loaded.model, loaded.tokenizer, pairs, batch_size))
    out = []
    for item in items:
        by_letter = {letter: next(scores) for letter in item.options}
        best = max(by_letter.values())
        tied = [k for k, v in by_letter.items() if v >= best - TIE_EPS]
        out.append(
            {
                "loglik": by_letter,
                "loglik_pred": tied[0] if len(tied) == 1 else None,
                "loglik_tied": tied if len(tied) > 1 else [],
                "loglik_credit": (item.answer in tied) / len(tied),
            }
        )
    return out


def summarise(items: list[Item], rows: list[dict], methods: list[str]) -> tuple[dict, list[dict]]:
    """Accuracy per subject and overall (micro over items, macro over subjects), with Wilson intervals."""
    subjects = sorted({i.subject for i in items})
    table = []
    summary: dict = {}
    for method in methods:
        key = "loglik_credit" if method == "loglik" else "generated_correct"
        overall = sum(r[key] for r in rows)
        summary[f"accuracy_{method}"] = proportion(overall, len(rows))
    for subject in subjects:
        sub = [r for r in rows if r["subject"] == subject]
        entry = {"subject": subject, "n": len(sub)}
        for method in methods:
            key = "loglik_credit" if method == "loglik" else "generated_correct"
            entry[method] = proportion(sum(r[key] for r in sub), len(sub))
            summary[f"{method}/{subject}"] = entry[method]
        if "generated" in methods:
            entry["unparseable"] = sum(r["generated_pred"] is None for r in sub)
        if "loglik" in methods:
            entry["tied"] = sum(bool(r["loglik_tied"]) for r in sub)
        table.append(entry)
    for method in methods:
        summary[f"macro_accuracy_{method}"] = {
            "value": statistics.fmean(t[method]["value"] for t in table),
            "low": None,
            "high": None,
            "n": len(table),
        }
    summary["chance"] = {
        "value": statistics.fmean(1 / len(i.options) for i in items),
        "low": None,
        "high": None,
        "n": len(items),
    }
    return summary, table


def render_report(results: dict, table: list[dict], methods: list[str]) -> str:
    s = results["summary"]
    lines = [
        f"# MCQ evaluation: {results['name']}",
        "",
        f"- model: {results['model']}",
        f"- data: {', '.join(results['data'])}",
        f"- shots: {results['shots']}, prompt format: {results['prompt_format']}",
        f"- command: `{results['command']}`",
        "",
    ]
    lines.append(
        md_table(
            ["metric", "value [95% CI]"],
            [[f"accuracy ({m})", fmt_ci(s[f"accuracy_{m}"])] for m in methods]
            + [[f"macro accuracy over subjects ({m})", fmt_ci(s[f"macro_accuracy_{m}"])] for m in methods]
            + [["chance (mean 1/options)", fmt_ci(s["chance"])]],
        )
    )
    headers = ["subject", "n"] + [f"accuracy ({m}) [95% CI]" for m in methods]
    headers += (["unparseable replies"] if "generated" in methods else []) + (
        ["tied items"] if "loglik" in methods else []
    )
    rows = []
    for t in table:
        row = [t["subject"], t["n"]] + [fmt_ci(t[m]) for m in methods]
        row += ([t["unparseable"]] if "generated" in methods else []) + (
            [t["tied"]] if "loglik" in methods else []
        )
        rows.append(row)
    lines += ["## Per subject", "", md_table(headers, rows), "![per-subject accuracy](accuracy.png)", ""]
    lines.append(
        "Log-likelihood: the option letter with the highest probability after the prompt; ties "
        "earn 1/k credit. Generated: the letter parsed from a greedy reply; replies naming no "
        "single option count as wrong (unparseable), never guessed."
    )
    return "\n".join(lines) + "\n" + published_section("mcq")


def add_arguments(parser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="CSV / JSONL / JSON file or folder of them")
    parser.add_argument(
        "--dev", type=Path, default=None, help="few-shot examples (file or folder), per subject"
    )
    parser.add_argument("--shots", type=int, default=5, help="examples per question when --dev is given")
    parser.add_argument(
        "--scoring",
        choices=("auto", "loglik", "generate", "both"),
        default="auto",
        help="auto: both on a local model, generate on an endpoint",
    )
    parser.add_argument(
        "--prompt-format",
        choices=("chat", "plain"),
        default="chat",
        help="chat: the model's chat template; plain: completion prompt ending in 答案：/Answer: "
        "(base models)",
    )
    parser.add_argument("--ll-batch-size", type=int, default=16, help="rows per log-likelihood forward pass")


def run(args) -> Path:
    from model.generate import LocalEngine

    items = read_items(args.data)[: args.limit]
    shots = pick_shots(items, read_items(args.dev), args.shots, args.dev) if args.dev else {}
    engine = runner.build_engine(args)
    local = isinstance(engine, LocalEngine)
    scoring = args.scoring if args.scoring != "auto" else ("both" if local else "generate")
    methods = (
        ["loglik", "generated"] if scoring == "both" else ["loglik" if scoring == "loglik" else "generated"]
    )
    if "loglik" in methods and not local:
        raise SystemExit(
            "error: log-likelihood scoring needs a local model (--model without --base-url); "
            "use --scoring generate with an endpoint"
        )
    if args.prompt_format == "plain" and not local:
        raise SystemExit("error: --prompt-format plain needs a local model")
    settings = runner.settings_from_args(args)
    out = runner.out_dir(args, "mcq")
    requests = []
    for item in items:
        conv = conversation(item, shots.get(item.id, []))
        requests.append(conv if args.prompt_format == "chat" else plain_prompt(item, shots.get(item.id, [])))
    rows = [{"id": i.id, "subject": i.subject, "source": i.source, "gold": i.answer} for i in items]
    if "loglik" in methods:
        contexts = [r if isinstance(r, str) else engine.prepare(r, settings).text for r in requests]
        for row, scored in zip(
            rows,
            score_loglik(items, contexts, args.prompt_format, engine.loaded, args.ll_batch_size),
            strict=True,
        ):
            row.update(scored)
    if "generated" in methods:
        replies = runner.generate_all(
            engine,
            requests,
            settings,
            args.batch_size,
            args.concurrency,
            runner.GenerationCache(out / "generations.jsonl"),
            desc="mcq answers",
        )
        for row, item, reply in zip(rows, items, replies, strict=True):
            pred = parse_letter(reply, item.options)
            row.update(generated=reply, generated_pred=pred, generated_correct=float(pred == item.answer))
    summary, table = summarise(items, rows, methods)
    results = runner.header(
        args, "mcq", engine.describe(), [str(args.data)] + ([str(args.dev)] if args.dev else [])
    )
    results.update(
        summary=summary,
        subjects=table,
        methods=methods,
        shots=args.shots if args.dev else 0,
        prompt_format=args.prompt_format,
    )
    results["headline"] = [f"accuracy_{m}" for m in methods]
    bar_chart(
        out / "accuracy.png",
        [t["subject"] for t in table],
        {m: [t[m] for t in table] for m in methods},
        f"{results['name']}: accuracy per subject (95% CI)",
        "accuracy",
        (0, 1),
    )
    items_out = [asdict(i) | r for i, r in zip(items, rows, strict=True)]
    return runner.write_outputs(
        out, results, render_report(results, table, methods), items_out, args.compare_with
    )
