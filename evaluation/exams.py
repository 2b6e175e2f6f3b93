r"""Multiple-choice exam files, read into one ``Item`` shape for the mcq task (evaluation/mcq.py).

Formats, told apart by file type, header and record keys (``Item.benchmark`` records which):

- CSV, CMMLU (``,Question,A,B,C,D,Answer``) and C-Eval (``id,question,A,B,C,D,answer,explanation``):
  column names matched case-insensitively; the subject is the file name without ``_dev``/``_val``/
  ``_test``.
- CSV, CMExam (``Question,Options,Answer,Explanation,...``): the options in one cell, one per line
  (``A 选项`` / ``A. 选项`` / ``A、选项``).
- JSONL/JSON, MedQA style: ``question``, ``options`` (``{"A": ...}`` or a list), the answer as
  ``answer_idx`` or ``answer`` (a letter, or the text of one option); optional ``subject``
  (or ``meta_info``) and ``id``.
- JSONL/JSON, MedMCQA: ``question``, ``opa`` .. ``opd``, ``cop`` (the correct option: 1-4 in the
  original release, 0-3 in the Hugging Face export; told apart per file, see ``cop_base``),
  ``subject_name``, ``id``.
- JSONL/JSON, CMB (CMB-Exam): ``question``, ``option`` (``{"A": ...}``), ``answer``, with
  ``exam_subject``/``exam_class`` as the subject.
- PubMedQA: the original ``ori_pqal.json`` (an object keyed by PMID with ``QUESTION``,
  ``CONTEXTS``, ``final_decision``) or records with ``question``, ``context`` (``{"contexts":
  [...]}``), ``final_decision``: the abstract's context and the question, options A yes / B no /
  C maybe.

Questions with several correct options (CMB 多项选择题, CMExam answers such as ``ABD``) are left out
and counted in a warning: the scoring here is single-answer.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from evaluation.data import DataError, detect_language, files_in, read_records, where

log = logging.getLogger(__name__)

LETTERS = "ABCDEFGHIJ"
PUBMEDQA_OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}


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
    benchmark: str = ""  # the format it was read as: cmmlu, ceval, cmexam, medqa, medmcqa, cmb, pubmedqa


def subject_of(path: Path) -> str:
    return re.sub(r"_(dev|val|test)$", "", path.stem)


def _item(
    path: Path, line, question: str, options: dict, answer: str, subject: str, ident, benchmark: str
) -> Item:
    text = question + "".join(options.values())
    return Item(
        f"{path.stem}:{ident}",
        subject,
        question,
        options,
        answer,
        detect_language(text),
        where(path, line) if isinstance(line, int) else f"{path} ({line})",
        benchmark,
    )


class _Skipped:
    """Counts questions left out of one file (several correct options) and says so once."""

    def __init__(self, path: Path):
        self.path, self.n = path, 0

    def report(self) -> None:
        if self.n:
            log.warning(
                "%s: %d questions with several correct options left out (single-answer scoring)",
                self.path,
                self.n,
            )


def _csv_rows(path: Path):
    """(header columns by lower-case name, header, [(line, row)]) of a CSV file, rows checked for width."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            head = next(reader)
        except StopIteration:
            raise DataError(f"{path}: empty file") from None
        rows, line = [], reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num  # a quoted field may span several lines
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(head):
                raise DataError(f"{where(path, start)}: {len(row)} columns, the header has {len(head)}")
            rows.append((start, row))
    return {name.strip().lower(): i for i, name in enumerate(head)}, head, rows


_OPTION_LINE = re.compile(r"^\s*([A-J])\s*[.．、:：)）]?\s*(.+?)\s*$")


def _cmexam_options(cell: str, path: Path, line: int) -> dict[str, str]:
    options = {}
    for raw in cell.splitlines():
        if not raw.strip():
            continue
        m = _OPTION_LINE.match(raw)
        if not m:
            raise DataError(
                f"{where(path, line)}: option line {raw.strip()!r} does not start with a letter A-J"
            )
        options[m.group(1)] = m.group(2)
    if len(options) < 2:
        raise DataError(f"{where(path, line)}: 'Options' holds fewer than two lettered options")
    return options


def read_csv(path: Path) -> list[Item]:
    """CMMLU / C-Eval CSV (one column per option letter) or CMExam CSV (an ``Options`` column)."""
    cols, head, rows = _csv_rows(path)
    cmexam = "options" in cols
    letters = [c for c in LETTERS if c.lower() in cols]
    missing = [c for c in ("question", "answer") if c not in cols]
    if missing or (len(letters) < 2 and not cmexam):
        raise DataError(
            f"{where(path, 1)}: header {head!r} needs question, answer and option columns A, B, ... "
            f"(or an Options column, as CMExam) (missing: {', '.join(missing) or 'option columns'})"
        )
    benchmark = "cmexam" if cmexam else "ceval" if "explanation" in cols or "id" in cols else "cmmlu"
    items, skipped = [], _Skipped(path)
    for start, row in rows:
        answer = re.sub(r"[\s,，、]", "", row[cols["answer"]]).upper()
        if cmexam:
            options = _cmexam_options(row[cols["options"]], path, start)
        else:
            options = {c: row[cols[c.lower()]].strip() for c in letters}
        if len(answer) > 1 and set(answer) <= set(options):
            skipped.n += 1
            continue
        if answer not in options:
            raise DataError(f"{where(path, start)}: answer {answer!r} is not one of {', '.join(options)}")
        question = row[cols["question"]].strip()
        if not question:
            raise DataError(f"{where(path, start)}: empty question")
        ident = row[cols["id"]] if "id" in cols else row[0] if not cmexam and row[0] else len(items)
        items.append(_item(path, start, question, options, answer, subject_of(path), ident, benchmark))
    skipped.report()
    return items


def _answer_letter(answer, options: dict[str, str], path: Path, line) -> str:
    """A gold answer given as a letter or as the text of exactly one option -> its letter."""
    if isinstance(answer, str) and answer.strip().upper() in options:
        return answer.strip().upper()
    by_text = [k for k, v in options.items() if isinstance(answer, str) and v == answer.strip()]
    if len(by_text) != 1:
        raise DataError(
            f"{where(path, line)}: answer {answer!r} names no option (use a letter "
            f"among {', '.join(options)} in 'answer_idx' or 'answer')"
        )
    return by_text[0]


def _options(value, path: Path, line, key: str = "options") -> dict[str, str]:
    if isinstance(value, list):
        value = dict(zip(LETTERS, value, strict=False))
    if not isinstance(value, dict) or len(value) < 2:
        raise DataError(f'{where(path, line)}: {key!r} must map letters to texts, e.g. {{"A": ...}}')
    options = {str(k).strip().upper(): str(v).strip() for k, v in value.items() if str(v).strip()}
    if any(k not in LETTERS for k in options):
        raise DataError(f"{where(path, line)}: option keys must be letters A-J, got {list(options)}")
    return options


def _question(rec: dict, path: Path, line, key: str = "question") -> str:
    question = rec.get(key)
    if not isinstance(question, str) or not question.strip():
        raise DataError(f"{where(path, line)}: missing or empty field {key!r}")
    return question.strip()


def cop_base(records: list[tuple[int, dict]], path: Path) -> int:
    """Whether a MedMCQA file counts ``cop`` from 0 (Hugging Face export) or 1 (original release):
    a 0 means the former, a 4 the latter; a file with neither cannot be told and is refused."""
    seen = {rec.get("cop") for _, rec in records}
    if not seen <= {0, 1, 2, 3, 4}:
        bad = sorted(seen - {0, 1, 2, 3, 4}, key=str)
        raise DataError(f"{path}: 'cop' must be an option number 0-3 or 1-4, got {bad[0]!r}")
    if 0 in seen and 4 in seen:
        raise DataError(f"{path}: 'cop' takes both 0 and 4: it cannot be an option number of four options")
    if 0 in seen or 4 in seen:
        return 0 if 0 in seen else 1
    raise DataError(
        f"{path}: cannot tell whether 'cop' counts from 0 (Hugging Face export) or from 1 (the original "
        "MedMCQA release): no record has cop 0 or 4. Evaluate it together with more questions."
    )


def _medmcqa(path: Path, records: list[tuple[int, dict]]) -> list[Item]:
    base = cop_base(records, path)
    items = []
    for line, rec in records:
        options = _options([rec.get(k) for k in ("opa", "opb", "opc", "opd")], path, line, "opa..opd")
        answer = LETTERS[rec["cop"] - base]
        subject = rec.get("subject_name") or subject_of(path)
        question, ident = _question(rec, path, line), rec.get("id", line)
        items.append(_item(path, line, question, options, answer, str(subject), ident, "medmcqa"))
    return items


def _cmb(path: Path, records: list[tuple[int, dict]]) -> list[Item]:
    items, skipped = [], _Skipped(path)
    for line, rec in records:
        options = _options(rec.get("option"), path, line, "option")
        answer = re.sub(r"[\s,，、]", "", str(rec.get("answer", ""))).upper()
        if len(answer) > 1 and set(answer) <= set(options):
            skipped.n += 1
            continue
        answer = _answer_letter(answer, options, path, line)
        subject = rec.get("exam_subject") or rec.get("exam_class") or subject_of(path)
        question, ident = _question(rec, path, line), rec.get("id", line)
        items.append(_item(path, line, question, options, answer, str(subject), ident, "cmb"))
    skipped.report()
    return items


def _pubmedqa_item(path: Path, line, ident, question: str, contexts, decision) -> Item:
    if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
        raise DataError(
            f"{where(path, line) if isinstance(line, int) else f'{path} ({line})'}: the context must be a list of texts"
        )
    answer = {v: k for k, v in PUBMEDQA_OPTIONS.items()}.get(str(decision).strip().lower())
    if answer is None:
        place = where(path, line) if isinstance(line, int) else f"{path} ({line})"
        raise DataError(f"{place}: final_decision {decision!r} is not yes, no or maybe")
    text = "Context: " + " ".join(c.strip() for c in contexts) + f"\nQuestion: {question.strip()}"
    return _item(path, line, text, dict(PUBMEDQA_OPTIONS), answer, "pubmedqa", ident, "pubmedqa")


def _pubmedqa_original(path: Path, doc: dict) -> list[Item]:
    """ori_pqal.json: {PMID: {QUESTION, CONTEXTS, final_decision, ...}}."""
    items = []
    for pmid, rec in doc.items():
        if not isinstance(rec, dict) or not isinstance(rec.get("QUESTION"), str):
            raise DataError(
                f"{path} (PMID {pmid}): expected an object with QUESTION, CONTEXTS and final_decision"
            )
        items.append(
            _pubmedqa_item(
                path, f"PMID {pmid}", pmid, rec["QUESTION"], rec.get("CONTEXTS"), rec.get("final_decision")
            )
        )
    return items


def _medqa(path: Path, line: int, rec: dict) -> Item:
    options = _options(rec.get("options"), path, line)
    answer = _answer_letter(rec.get("answer_idx", rec.get("answer")), options, path, line)
    subject = rec.get("subject") or rec.get("meta_info") or subject_of(path)
    return _item(
        path, line, _question(rec, path, line), options, answer, str(subject), rec.get("id", line), "medqa"
    )


def read_jsonl(path: Path) -> list[Item]:
    """A JSONL/JSON file of MedQA, MedMCQA, CMB or PubMedQA records (told apart by their keys)."""
    if path.suffix == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            doc = None  # read_records names the line
        if isinstance(doc, dict):
            return _pubmedqa_original(path, doc)
    records = read_records(path)
    first = records[0][1]
    if "opa" in first:
        return _medmcqa(path, records)
    if "option" in first and "options" not in first:
        return _cmb(path, records)
    if "final_decision" in first:
        return [
            _pubmedqa_item(path, line, rec.get("pubid", line), _question(rec, path, line),
                           (rec.get("context") or {}).get("contexts"), rec.get("final_decision"))
            for line, rec in records
        ]  # fmt: skip
    return [_medqa(path, line, rec) for line, rec in records]


def read_items(path: str | Path) -> list[Item]:
    """All questions in a CSV/JSONL/JSON file or in a folder of them."""
    items = []
    for file in files_in(path, (".csv", ".jsonl", ".json")):
        items += read_csv(file) if file.suffix == ".csv" else read_jsonl(file)
    return items
