"""Document ingestion: read txt, md, pdf, JSONL and CSV files into LangChain ``Document``s and split
them into chunks with a Chinese-aware ``RecursiveCharacterTextSplitter``.

Formats
- ``.txt`` / ``.md``: UTF-8 (or GB18030) text, split on paragraphs, lines, then sentence punctuation
  (。！？；and their ASCII forms), then commas and spaces. A ``.txt`` whose first record is a JSON
  object with question/answer fields (MedicalGPT's ``medical_corpus.txt``) is read as JSONL.
- ``.pdf``: text of each page (pypdf); a PDF without extractable text (a scan) is an error.
- ``.jsonl``: one record per line with ``question``/``answer`` or ``问``/``答`` fields.
- ``.csv``: a header row with ``question``/``answer`` or ``问``/``答`` columns.
Question-answer records become one chunk each (question + answer); an answer too long for one chunk
is split and every piece keeps the question in front, so each chunk still says what it answers.

Bad input raises ``IngestError`` naming the file (and line or row). ``check_upload`` adds the app's
upload rules (allowed types, size limit) and raises ``UploadError``.

Library module; the command line is ``python -m retrieval build --docs PATH... --out DIR``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".jsonl", ".csv")
DEFAULT_CHUNK_SIZE = 400  # characters; a Chinese character is about one token for bge-style models
DEFAULT_CHUNK_OVERLAP = 60  # characters shared by neighbouring chunks of one text
DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Coarse to fine: paragraphs, lines, sentence ends (Chinese full-width, then ASCII), clauses, words.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", ". ", "，", ",", "、", " ", ""]
# Field pairs read as question/answer records, with the labels used in the chunk text.
QA_FIELDS = (("question", "answer", "Question: ", "Answer: "), ("问", "答", "问：", "答："))


class IngestError(ValueError):
    """A document could not be read. ``str(err)`` names the file (and line/row) and the problem."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        self.path, self.problem, self.line = str(path), problem, line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class UploadError(IngestError):
    """An uploaded file was refused (type, size, empty, unreadable); the message is shown to the user."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        super().__init__(Path(path).name, problem, line)


def make_splitter(chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP):
    """The one splitter: sizes in characters; separators stay at the end of the sentence they close."""
    if chunk_size < 20:
        raise ValueError(f"chunk_size must be at least 20 characters, got {chunk_size}")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {chunk_overlap}")
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        keep_separator="end",
        strip_whitespace=True,
    )


def read_text(path: Path) -> str:
    """File bytes -> text: UTF-8 (BOM allowed), else GB18030 (common for Chinese files)."""
    data = path.read_bytes()
    if b"\x00" in data:
        raise IngestError(path, "looks like a binary file, not text (NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(path, "is neither UTF-8 nor GB18030 text")


def _qa_pair(record: dict) -> tuple[str, str, str, str] | None:
    """(question, answer, question label, answer label) if the record has a known field pair."""
    for q_key, a_key, q_label, a_label in QA_FIELDS:
        if q_key in record and a_key in record:
            return str(record[q_key] or "").strip(), str(record[a_key] or "").strip(), q_label, a_label
    return None


def _qa_document(path: Path, record: dict, source: str, where: dict, line: int | None) -> Document:
    pair = _qa_pair(record)
    if pair is None:
        fields = ", ".join(map(str, record)) or "none"
        raise IngestError(path, f"record has no question/answer (or 问/答) fields (found: {fields})", line)
    question, answer, q_label, a_label = pair
    if not question or not answer:
        raise IngestError(path, "record has an empty question or answer", line)
    return Document(
        page_content=a_label + answer, metadata={"source": source, **where, "prefix": q_label + question}
    )


def _read_jsonl(path: Path, text: str, name: str) -> list[Document]:
    docs = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise IngestError(path, f"invalid JSON ({e.msg}, column {e.colno})", line_no) from None
        if not isinstance(record, dict):
            raise IngestError(path, f"expected a JSON object, got {type(record).__name__}", line_no)
        docs.append(
            _qa_document(path, record, f"{name}, line {line_no}", {"file": name, "line": line_no}, line_no)
        )
    return docs


def _read_csv(path: Path, text: str, name: str) -> list[Document]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if _qa_pair(dict.fromkeys(header, "")) is None:
        raise IngestError(
            path, f"CSV header needs question,answer or 问,答 columns (found: {', '.join(header) or 'none'})"
        )
    docs = []
    try:
        for row_no, row in enumerate(reader, start=1):
            # Header is line 1; rows spanning several lines (quoted newlines) are named by row number.
            docs.append(
                _qa_document(
                    path, row, f"{name}, row {row_no}", {"file": name, "row": row_no}, reader.line_num
                )
            )
    except csv.Error as e:
        raise IngestError(path, f"malformed CSV ({e})", reader.line_num) from None
    return docs


def _read_pdf(path: Path, name: str) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise IngestError(path, "is an encrypted PDF; save an unencrypted copy first")
        pages = [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    except IngestError:
        raise
    except LimitReachedError as e:
        # pypdf stops inflating a stream past its output limits (75 MB for Flate): a decompression bomb.
        raise IngestError(
            path, f"PDF refused: a part of it expands beyond pypdf's safety limits ({e})"
        ) from None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise IngestError(path, f"is not a readable PDF ({type(e).__name__}: {e})") from None
    docs = [
        Document(
            page_content=_unwrap(text),
            metadata={"source": f"{name}, page {page}", "file": name, "page": page},
        )
        for page, text in pages
        if text.strip()
    ]
    if not docs:
        raise IngestError(path, "PDF has no extractable text (a scanned PDF needs OCR first)")
    return docs


_CJK = re.compile(r"[\u3400-\u9fff]")
# A line that starts a block of its own (Markdown heading, quote, table row, list item) is never
# joined to the line before it.
_BLOCK_START = re.compile(r"\s*(#|>|\||[-*+]\s|\d+[.)]\s)")
_SENTENCE_END = tuple("。！？；.!?;:：")


def _unwrap(text: str) -> str:
    """Join hard-wrapped lines back into paragraphs (PDF pages, wrapped Markdown/text): a line
    break inside a sentence becomes a space (nothing between CJK characters). Breaks after a
    sentence end, around blank lines, after headings and before list items/tables stay."""
    out: list[str] = []
    for line in text.split("\n"):
        prev = out[-1] if out else ""
        stripped = line.strip()
        joinable = (
            prev.strip()
            and stripped
            and not prev.rstrip().endswith(_SENTENCE_END)
            and not _BLOCK_START.match(line)
            and not prev.lstrip().startswith(("#", "|"))
        )
        if joinable:
            glue = "" if _CJK.match(prev.rstrip()[-1]) and _CJK.match(stripped[0]) else " "
            out[-1] = prev.rstrip() + glue + stripped
        else:
            out.append(line)
    return "\n".join(out)


def _read_markdown(text: str, name: str) -> list[Document]:
    """Markdown -> one document per section, its heading path ("Title / Section") as prefix."""
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    levels = [("#", "h1"), ("##", "h2"), ("###", "h3")]
    sections = MarkdownHeaderTextSplitter(levels, strip_headers=True).split_text(text)
    docs = []
    for section in sections:
        meta = {"source": name, "file": name}
        headings = [section.metadata[key] for _, key in levels if key in section.metadata]
        if headings:
            meta["prefix"] = " / ".join(headings)
        if section.page_content.strip():
            docs.append(Document(page_content=_unwrap(section.page_content), metadata=meta))
    return docs


def _looks_like_qa_jsonl(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first.lstrip().startswith("{"):
        return False
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and _qa_pair(record) is not None


def _check_file(path: Path) -> None:
    """Supported type and an existing, non-empty file, else ``IngestError``."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(
            path, f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not path.is_file():
        raise IngestError(path, "file not found")
    if path.stat().st_size == 0:
        raise IngestError(path, "the file is empty")


def load_file(path: str | Path, name: str | None = None) -> list[Document]:
    """One file -> unsplit ``Document``s (a text file, a PDF page, or one Q&A record each).

    ``name`` is the display name used in ``metadata["source"]`` (default: the file name)."""
    path = Path(path)
    name = name or path.name
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _read_pdf(path, name)
    text = read_text(path)
    if suffix == ".jsonl" or (suffix == ".txt" and _looks_like_qa_jsonl(text)):
        docs = _read_jsonl(path, text, name)
    elif suffix == ".csv":
        docs = _read_csv(path, text, name)
    elif suffix == ".md":
        docs = _read_markdown(text, name)
    else:
        docs = (
            [Document(page_content=_unwrap(text), metadata={"source": name, "file": name})]
            if text.strip()
            else []
        )
    if not docs:
        raise IngestError(path, "contains no text")
    return docs


def expand_paths(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """Files and folders -> sorted ``(file, display name)`` pairs; folders are searched recursively
    for supported files and their files are named relative to the folder's parent (``kb/x.md``)."""
    out = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = sorted(
                p for p in given.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            if not found:
                raise IngestError(given, f"folder has no {', '.join(SUPPORTED_SUFFIXES)} files")
            out += [(p, p.relative_to(given.parent).as_posix()) for p in found]
        elif given.is_file():
            out.append((given, given.name))
        else:
            raise IngestError(given, "no such file or folder")
    return out


def _merge_small(pieces: list[str], chunk_size: int) -> list[str]:
    """Fold a piece shorter than a quarter chunk (a lone heading line, the tail of a long
    paragraph) into its neighbour when the two fit in one chunk."""
    out: list[str] = []
    for piece in pieces:
        if (
            out
            and min(len(out[-1]), len(piece)) < chunk_size // 4
            and len(out[-1]) + 1 + len(piece) <= chunk_size
        ):
            out[-1] = f"{out[-1]}\n{piece}"
        else:
            out.append(piece)
    return out


def split_documents(
    docs: list[Document], chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
) -> list[Document]:
    """Unsplit documents -> chunks of at most ``chunk_size`` characters.

    A document with ``metadata["prefix"]`` (a Q&A record's question, a Markdown section's
    headings) stays one chunk ``prefix + "\n" + text`` when that fits; otherwise its text is split
    and every piece starts with the prefix, so each chunk still says what it is about."""
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks = []
    for doc in docs:
        meta = {k: v for k, v in doc.metadata.items() if k != "prefix"}
        prefix = doc.metadata.get("prefix")
        if prefix is None:
            texts = _merge_small(splitter.split_text(doc.page_content), chunk_size)
        elif len(prefix) + 1 + len(doc.page_content) <= chunk_size:
            texts = [f"{prefix}\n{doc.page_content}"]
        else:
            # Keep at least half the chunk for the text even when the prefix is long.
            head = prefix if len(prefix) <= chunk_size // 2 else prefix[: chunk_size // 2] + "…"
            piece_size = chunk_size - len(head) - 1
            pieces = make_splitter(piece_size, min(chunk_overlap, piece_size // 4)).split_text(
                doc.page_content
            )
            texts = [f"{head}\n{t}" for t in _merge_small(pieces, piece_size)]
        chunks += [Document(page_content=t, metadata=dict(meta)) for t in texts]
    return chunks


def load_documents(
    paths: Iterable[str | Path],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
    progress: bool = False,
) -> list[Document]:
    """Files/folders -> chunks ready to index (``metadata["source"]`` names file and place)."""
    from tqdm.auto import tqdm

    files = expand_paths(paths)
    docs = []
    for path, name in tqdm(files, desc="reading", unit="file", disable=not progress):
        docs += load_file(path, name)
    return split_documents(docs, chunk_size, chunk_overlap)


def check_upload(path: str | Path, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> list[Document]:
    """Validate a file uploaded in the app; return its unsplit documents.

    Raises ``UploadError`` (message names the file) for an unsupported type, a missing, empty or
    oversized file, or one that cannot be read (corrupt PDF, bad JSONL line, wrong encoding)."""
    path = Path(path)
    try:
        _check_file(path)
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(
                path, f"{size / 2**20:.1f} MB is over the {max_bytes / 2**20:.1f} MB upload limit"
            )
        return load_file(path)
    except IngestError as e:
        raise UploadError(path, e.problem, e.line) from None
