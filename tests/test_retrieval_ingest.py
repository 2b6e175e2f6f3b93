"""Ingestion: every supported format, Chinese-aware splitting, Q&A records, bad files, upload limits.

Run: pytest tests/test_retrieval_ingest.py
"""

import json
from itertools import pairwise

import pytest
from conftest import REPO, SHARED_DATA

from retrieval.ingest import (
    IngestError,
    UploadError,
    check_upload,
    expand_paths,
    load_documents,
    load_file,
    split_documents,
)

KB = REPO / "data" / "samples" / "kb"
CORPUS = SHARED_DATA / "medicalgpt" / "medical_corpus.txt"


def test_markdown_sections_carry_their_headings_and_text_files_are_read_whole():
    sections = load_file(KB / "hypertension_zh.md")
    assert [d.metadata["prefix"] for d in sections][:3] == [
        "高血压患者的日常管理",
        "高血压患者的日常管理 / 什么是高血压",
        "高血压患者的日常管理 / 生活方式",
    ]
    assert all(d.metadata["source"] == "hypertension_zh.md" for d in sections)
    chunks = split_documents(sections)
    emergency = next(c.page_content for c in chunks if "拨打120" in c.page_content)
    assert emergency.startswith("高血压患者的日常管理 / 什么时候需要立即就医\n如果血压突然明显升高")
    # Hard-wrapped English paragraphs are joined, and no chunk is a lone heading.
    chunks = split_documents(load_file(KB / "type2_diabetes_en.md"))
    assert any(
        "does not respond well to insulin and blood glucose stays too high" in c.page_content for c in chunks
    )
    assert all(len(c.page_content.split("\n", 1)[1]) >= 40 for c in chunks)
    (doc,) = load_file(KB / "fever_children_zh.txt")
    assert doc.page_content.startswith("儿童发热的家庭护理")


def test_pdf_pages_are_read_with_page_numbers_and_unwrapped_lines():
    docs = load_file(KB / "burns_first_aid_en.pdf")
    assert [d.metadata["page"] for d in docs] == [1]
    assert docs[0].metadata["source"] == "burns_first_aid_en.pdf, page 1"
    # The PDF's visual line breaks inside sentences are joined, so phrases survive intact.
    assert "remove clothing or jewellery near the burn" in docs[0].page_content


def test_jsonl_and_csv_records_in_both_languages():
    zh = load_file(KB / "faq_zh.jsonl")
    assert len(zh) == 8
    assert zh[2].metadata["prefix"] == "问：胸口突然剧烈疼痛怎么办？" and zh[2].page_content.startswith(
        "答：胸口突然"
    )
    assert zh[2].metadata["source"] == "faq_zh.jsonl, line 3"
    en = load_file(KB / "faq_en.jsonl")
    assert en[0].metadata["prefix"] == "Question: How can I tell a cold from the flu?"
    assert en[0].page_content.startswith("Answer: Both are viral infections")
    rows = load_file(KB / "medicines_zh.csv")
    assert len(rows) == 4 and rows[2].metadata["prefix"] == "问：吃头孢可以喝酒吗？"
    assert rows[2].metadata["source"] == "medicines_zh.csv, row 3"
    rows = load_file(KB / "medicines_en.csv")
    assert "double dose" in rows[1].page_content  # quoted CSV field with commas read whole


@pytest.mark.needs_shared
def test_medicalgpt_corpus_txt_is_recognised_as_qa_jsonl():
    docs = load_file(CORPUS)
    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(docs) == len(records) == 87
    (chunk,) = split_documents(docs[:1])
    assert chunk.page_content == f"问：{records[0]['问']}\n答：{records[0]['答']}"


def test_folder_expansion_names_files_relative_to_the_folder():
    names = [name for _, name in expand_paths([KB])]
    assert (
        names == sorted(names) and "kb/hypertension_zh.md" in names and "kb/burns_first_aid_en.pdf" in names
    )
    chunks = load_documents([KB])
    assert {c.metadata["file"] for c in chunks} == set(names)


def test_chinese_splitting_respects_size_sentences_and_overlap():
    sentences = [f"第{i}句讲的是高血压患者需要长期规律服药并定期复查血压。" for i in range(40)]
    text = "".join(sentences)
    docs = load_documents_from_text(text)
    chunks = split_documents(docs, chunk_size=120, chunk_overlap=30)
    assert len(chunks) > 5
    assert all(len(c.page_content) <= 120 for c in chunks)
    # Split at sentence ends (the 。 stays with its sentence), never mid-sentence.
    assert all(c.page_content.endswith("。") for c in chunks)
    # Neighbouring chunks overlap by at least one whole sentence.
    assert all(
        set(a.page_content.split("。")) & set(b.page_content.split("。")) - {""} for a, b in pairwise(chunks)
    )


def load_documents_from_text(text):
    from langchain_core.documents import Document

    return [Document(page_content=text, metadata={"source": "t.txt", "file": "t.txt"})]


def test_long_qa_record_is_split_with_the_question_on_every_piece(tmp_path):
    answer = "".join(f"建议第{i}条：保持规律作息，清淡饮食，按时服药。" for i in range(30))
    path = tmp_path / "long.jsonl"
    path.write_text(
        json.dumps({"问": "高血压平时要注意什么？", "答": answer}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    chunks = split_documents(load_file(path), chunk_size=150, chunk_overlap=20)
    assert len(chunks) > 3
    assert all(c.page_content.startswith("问：高血压平时要注意什么？\n") for c in chunks)
    assert all(len(c.page_content) <= 150 for c in chunks)
    short = split_documents(load_file(KB / "faq_zh.jsonl"), chunk_size=400, chunk_overlap=60)
    assert len(short) == 8  # one chunk per record when it fits


def test_gb18030_text_is_decoded(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("糖尿病患者要定期检查眼底。".encode("gb18030"))
    assert load_file(path)[0].page_content == "糖尿病患者要定期检查眼底。"


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("bad.jsonl", '{"问": "a", "答": "b"}\n{"问": "broken"\n', r"bad\.jsonl, line 2: invalid JSON"),
        (
            "fields.jsonl",
            '{"title": "x", "body": "y"}\n',
            r"fields\.jsonl, line 1: .*no question/answer.*found: title, body",
        ),
        (
            "empty_answer.jsonl",
            '{"question": "q?", "answer": ""}\n',
            r"line 1: record has an empty question or answer",
        ),
        (
            "cols.csv",
            "title,body\nx,y\n",
            r"cols\.csv: CSV header needs question,answer or 问,答 columns \(found: title, body\)",
        ),
        ("blank.md", "  \n\n", r"blank\.md: contains no text"),
        ("notes.docx", "x", r"unsupported file type '\.docx'"),
    ],
)
def test_bad_files_name_the_file_line_and_problem(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(IngestError, match=expected):
        load_file(path)


def test_binary_truncated_and_textless_pdfs_are_errors(tmp_path):
    from pypdf import PdfWriter

    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(IngestError, match="binary file"):
        load_file(binary)
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes((KB / "burns_first_aid_en.pdf").read_bytes()[:300])
    with pytest.raises(IngestError, match=r"cut\.pdf: is not a readable PDF"):
        load_file(truncated)
    blank = tmp_path / "scan.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.write(blank)
    with pytest.raises(IngestError, match="no extractable text"):
        load_file(blank)
    with pytest.raises(IngestError, match="no such file or folder"):
        expand_paths([tmp_path / "missing"])


def test_upload_checks_type_size_emptiness_and_readability(tmp_path):
    good = tmp_path / "faq.jsonl"
    good.write_text(
        '{"question": "Is rest useful for a cold?", "answer": "Yes, rest and fluids help."}\n',
        encoding="utf-8",
    )
    assert check_upload(good)[0].metadata["prefix"] == "Question: Is rest useful for a cold?"

    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(
        UploadError,
        match=r"^setup\.exe: unsupported file type '\.exe'; supported: \.txt, \.md, \.pdf, \.jsonl, \.csv",
    ):
        check_upload(exe)
    big = tmp_path / "big.txt"
    big.write_text("高血压。" * 400_000, encoding="utf-8")  # about 4.8 MB
    with pytest.raises(UploadError, match=r"^big\.txt: 4\.6 MB is over the 1\.0 MB upload limit"):
        check_upload(big, max_bytes=2**20)
    assert check_upload(big)  # under the 5 MB default
    empty = tmp_path / "empty.md"
    empty.touch()
    with pytest.raises(UploadError, match=r"^empty\.md: the file is empty"):
        check_upload(empty)
    corrupt = tmp_path / "label.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n garbage that is not a pdf body")
    with pytest.raises(UploadError, match=r"^label\.pdf: is not a readable PDF"):
        check_upload(corrupt)
    bad_line = tmp_path / "qa.jsonl"
    bad_line.write_text('{"问": "a", "答": "b"}\nnot json\n', encoding="utf-8")
    with pytest.raises(UploadError, match=r"^qa\.jsonl, line 2: invalid JSON"):
        check_upload(bad_line)
