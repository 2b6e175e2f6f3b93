r"""Multiple-choice exams (CMMLU, C-Eval, CMExam, MedQA, MedMCQA, CMB, PubMedQA), zero- or few-shot, scored by option
log-likelihood (batched forward passes, local models) and by the letter the model generates.

    python -m evaluation mcq --model Qwen/Qwen2.5-7B-Instruct --data ../shared/data/cmmlu/dev --out runs/mcq
    python -m evaluation mcq --model SYNLP/ChiMed-GPT-1.0 --chat-template chimed \
        --data cmmlu/test --dev cmmlu/dev --shots 5 --out runs/chimed-cmmlu
    python -m evaluation mcq --base-url http://127.0.0.1:8000/v1 --api-model medchat --data medqa.jsonl --out runs/api

    python -m evaluation mcq --model FreedomIntelligence/HuatuoGPT-o1-7B --data CMB-val.json \
        --max-new-tokens 2048 --out runs/huatuo-cmb          # a reasoning model: room to think first

Formats (evaluation/exams.py): CMMLU, C-Eval and CMExam CSV; MedQA, MedMCQA, CMB and PubMedQA
JSON/JSONL. A generated reply is scored on its final answer, after any reasoning (``<think>…</think>``
or ``## Thinking`` / ``## Final Response``, evaluation/answers.py); a reply that names no single
option, or is still reasoning when it stops, is unparseable and counts as wrong, never guessed.

Ties: when several options share the top log-likelihood (within 1e-6 nats) the item earns 1/k
credit if the gold option is among the k tied ones: the expected accuracy of a uniformly random
tie-break, so a model with uniform logits scores exactly the chance rate.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from evaluation import runner
from evaluation.answers import final_answer
from evaluation.data import DataError
from evaluation.exams import Item, read_items
from evaluation.report import bar_chart, fmt_ci, huatuo_section, md_table, published_section
from evaluation.stats import proportion

TIE_EPS = 1e-6  # nats: option scores closer than this to the best count as tied
INSTRUCTION = {
    "zh": "以下是一道单项选择题，请直接给出正确答案的选项字母。",
    "en": "The following is a multiple-choice question. Answer with the letter of the correct option only.",
}
ANSWER_CUE = {"zh": "答案：", "en": "Answer:"}  # plain (completion) prompts end with it


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
    standalone = set(
        re.findall(rf"(?<![A-Za-z])([{letters}])(?![A-Za-z])(?!(?<=A) (?!is\b|was\b|or\b|and\b)[a-z])", t)
    )
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
    return "\n".join(lines) + "\n" + published_section("mcq") + huatuo_section(results.get("benchmarks", []))


def benchmarks(items: list[Item]) -> list[str]:
    """The benchmarks the items were read as (MedQA split by language: USMLE "medqa-en", MCMLE "medqa-zh")."""
    names = {f"{i.benchmark}-{i.lang}" if i.benchmark == "medqa" else i.benchmark for i in items}
    return sorted(n for n in names if n)


def _methods(args) -> list[str]:
    """The scoring methods for --scoring (auto: both on a local model, generated on an endpoint)."""
    scoring = args.scoring if args.scoring != "auto" else ("generate" if args.base_url else "both")
    return {"both": ["loglik", "generated"], "loglik": ["loglik"], "generate": ["generated"]}[scoring]


class McqTask(runner.Task):
    name = "mcq"
    help = "multiple-choice exams (CMMLU/C-Eval CSV, MedQA JSONL)"
    max_new_tokens = 48
    description = __doc__

    def add_args(self, parser) -> None:
        parser.add_argument(
            "--data", required=True, type=Path, help="CSV / JSONL / JSON file or folder of them"
        )
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
        parser.add_argument(
            "--ll-batch-size", type=int, default=16, help="rows per log-likelihood forward pass"
        )

    def data_files(self, args) -> list[str]:
        return [str(args.data)] + ([str(args.dev)] if args.dev else [])

    def prepare(self, args) -> tuple[list[Item], dict[str, list[Item]]]:
        if args.base_url and "loglik" in _methods(args):
            raise SystemExit(
                "error: log-likelihood scoring needs a local model (--model, not --base-url); "
                "use --scoring generate with an endpoint"
            )
        if args.base_url and args.prompt_format == "plain":
            raise SystemExit("error: --prompt-format plain needs a local model (--model, not --base-url)")
        items = read_items(args.data)[: args.limit]
        shots = pick_shots(items, read_items(args.dev), args.shots, args.dev) if args.dev else {}
        return items, shots

    def evaluate(self, run: runner.Run, inputs) -> runner.Evaluation:
        items, shots = inputs
        args, methods = run.args, _methods(run.args)
        requests = [
            conversation(i, shots.get(i.id, []))
            if args.prompt_format == "chat"
            else plain_prompt(i, shots.get(i.id, []))
            for i in items
        ]
        rows = [{"id": i.id, "subject": i.subject, "source": i.source, "gold": i.answer} for i in items]
        if "loglik" in methods:
            contexts = [
                r if isinstance(r, str) else run.engine.prepare(r, run.settings).text for r in requests
            ]
            scored = score_loglik(items, contexts, args.prompt_format, run.engine.loaded, args.ll_batch_size)
            for row, result in zip(rows, scored, strict=True):
                row.update(result)
        if "generated" in methods:
            replies = run.generate(requests, "mcq answers")
            for row, item, reply in zip(rows, items, replies, strict=True):
                answer = final_answer(reply)  # after any reasoning; None while still reasoning
                pred = None if answer is None else parse_letter(answer, item.options)
                row.update(
                    generated=reply,
                    generated_answer=answer,
                    generated_pred=pred,
                    generated_correct=float(pred == item.answer),
                )
        summary, table = summarise(items, rows, methods)
        return runner.Evaluation(
            summary=summary,
            headline=[f"accuracy_{m}" for m in methods],
            items=[asdict(i) | r for i, r in zip(items, rows, strict=True)],
            details={
                "subjects": table,
                "methods": methods,
                "shots": args.shots if args.dev else 0,
                "benchmarks": benchmarks(items),
                "prompt_format": args.prompt_format,
            },
        )

    def plot(self, results: dict, inputs, out: Path) -> None:
        table, methods = results["subjects"], results["methods"]
        bar_chart(
            out / "accuracy.png",
            [t["subject"] for t in table],
            {m: [t[m] for t in table] for m in methods},
            f"{results['name']}: accuracy per subject (95% CI)",
            "accuracy",
            (0, 1),
        )

    def report(self, results: dict, inputs) -> str:
        return render_report(results, results["subjects"], results["methods"])


TASK = McqTask()
