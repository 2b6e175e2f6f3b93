"""Hostile or careless input to the index and ingestion: hand-edited manifests and docstores,
a PDF decompression bomb, empty and binary files, and `build --out` on a folder of someone's files.
Every case must end in one clear error naming the file and the problem, never a traceback.

Run: pytest tests/test_retrieval_hardening.py
"""

import hashlib
import json
import shutil
import zlib

import pytest
from conftest import REPO

from retrieval.index import CorruptIndexError, HybridIndex, RetrievalIndexError
from retrieval.ingest import IngestError, load_documents, load_file

KB = REPO / "data" / "samples" / "kb"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small saved index of the sample FAQ (hash-ngram, flat)."""
    return HybridIndex.build([KB / "faq_en.jsonl"]).save(tmp_path_factory.mktemp("idx") / "faq")


def _edited_copy(saved, tmp_path, edit_manifest=None, edit_records=None):
    """A copy of the index with the manifest and/or docstore records edited; file hashes in the
    manifest are refreshed so only the structural edit itself can fail."""
    folder = tmp_path / "edited"
    shutil.copytree(saved, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if edit_records:
        lines = (folder / "docstore.jsonl").read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines]
        edit_records(records)
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
        (folder / "docstore.jsonl").write_bytes(data)
        manifest["files"]["docstore.jsonl"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    if edit_manifest:
        edit_manifest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _set(*keys, value):
    def edit(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


MANIFEST_EDITS = [
    (_set("files", value={}), r"manifest\.json: files lacks the 'index\.faiss' entry"),
    (_set("counts", value={}), r"manifest\.json: counts lacks the 'chunks' entry"),
    (_set("embedder", value="hash-ngram"), r"manifest\.json: embedder must be an object, not str"),
    (
        _set("embedder", "dimension", value="2048"),
        r"manifest\.json: embedder -> dimension must be an integer, not str",
    ),
    (_set("embedder", "idf_f32_base64", value="AAAA"), r"idf_f32_base64 holds 3 bytes, expected 8192"),
    (_set("embedder", "idf_f32_base64", value="not base64!"), r"idf_f32_base64 is not valid base64"),
    (_set("embedder", "ngram_weights", value="1,1"), r"embedder -> ngram_weights must be a list, not str"),
    (
        _set("index", "type", value="annoy"),
        r"manifest\.json: index -> type 'annoy' is not one of flat, hnsw, ivf",
    ),
    (_set("index", "type", value="hnsw"), r"index -> params lacks the 'efSearch' entry"),
    (
        _set("index", value={"type": "hnsw", "params": {"efSearch": 64}}),
        r"index\.faiss holds a IndexFlatIP, but manifest\.json says index type 'hnsw'",
    ),
    (_set("chunking", "chunk_overlap", value=10_000), r"manifest\.json: chunking: chunk_overlap must be in"),
    (_set("inputs", value=[]), r"manifest\.json: inputs must be an object, not list"),
]


@pytest.mark.parametrize("edit, expected", MANIFEST_EDITS)
def test_structural_manifest_edits_are_clear_errors(saved, tmp_path, edit, expected):
    folder = _edited_copy(saved, tmp_path, edit_manifest=edit)
    with pytest.raises(CorruptIndexError, match=expected) as err:
        HybridIndex.load(folder)
    assert str(folder) in str(err.value)


def _tokens_as_string(records):
    records[1]["tokens"] = " ".join(records[1]["tokens"])


def _tokens_with_numbers(records):
    records[2]["tokens"] = [1, 2, 3]


def _meta_as_list(records):
    records[0]["meta"] = ["file"]


def _no_text(records):
    del records[3]["text"]


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            _tokens_as_string,
            r"docstore\.jsonl, line 2: not a chunk record \('tokens' must be a list, not str\)",
        ),
        (
            _tokens_with_numbers,
            r"docstore\.jsonl, line 3: not a chunk record \('tokens' must hold only strings\)",
        ),
        (
            _meta_as_list,
            r"docstore\.jsonl, line 1: not a chunk record \('meta' must be an object, not list\)",
        ),
        (_no_text, r"docstore\.jsonl, line 4: not a chunk record \(no 'text' field\)"),
    ],
)
def test_structural_docstore_edits_are_clear_errors(saved, tmp_path, edit, expected):
    folder = _edited_copy(saved, tmp_path, edit_records=edit)
    with pytest.raises(CorruptIndexError, match=expected):
        HybridIndex.load(folder)


def test_cli_reports_a_structural_edit_in_one_line(saved, tmp_path, capsys):
    from retrieval.__main__ import main

    folder = _edited_copy(saved, tmp_path, edit_manifest=_set("counts", value={}))
    assert main(["query", "--index", str(folder), "hand washing"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "manifest.json: counts lacks the 'chunks' entry" in err
    assert len(err.splitlines()) == 1


def bomb_pdf(inflated_bytes: int) -> bytes:
    """A valid one-page PDF (one line of text) whose content stream inflates to about
    ``inflated_bytes`` bytes of spaces from a tiny Flate stream."""
    stream = zlib.compress(b"BT /F1 12 Tf 10 10 Td (Hello) Tj ET\n" + b" " * inflated_bytes, 9)
    font = b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R " + font + b" >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_decompression_bomb_is_refused_naming_the_file(tmp_path):
    small = tmp_path / "small.pdf"
    small.write_bytes(bomb_pdf(1000))
    assert load_file(small)[0].page_content == "Hello"  # the same PDF, small: read normally
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(bomb_pdf(80_000_000))  # 80 MB inflated from about 80 KB, past pypdf's 75 MB cap
    assert bomb.stat().st_size < 200_000
    with pytest.raises(
        IngestError, match=r"bomb\.pdf: PDF refused: a part of it expands beyond pypdf's safety limits"
    ):
        load_documents([bomb])


@pytest.mark.parametrize("suffix", [".txt", ".md", ".pdf", ".jsonl", ".csv"])
def test_empty_file_is_a_clear_error_naming_it(tmp_path, suffix):
    empty = tmp_path / f"empty{suffix}"
    empty.touch()
    with pytest.raises(IngestError, match=rf"empty\{suffix}: the file is empty$"):
        load_documents([empty])


@pytest.mark.parametrize("suffix", [".txt", ".md", ".jsonl", ".csv"])
def test_binary_file_is_a_clear_error_naming_it(tmp_path, suffix):
    binary = tmp_path / f"photo{suffix}"
    binary.write_bytes(bytes(range(256)) * 8)  # every byte value, NULs included
    with pytest.raises(IngestError, match=rf"photo\{suffix}: looks like a binary file"):
        load_documents([binary])
    no_nul = tmp_path / f"blob{suffix}"
    no_nul.write_bytes(bytes(range(128, 256)) * 8)  # high bytes only: neither UTF-8 nor GB18030
    with pytest.raises(IngestError, match=rf"blob\{suffix}: is neither UTF-8 nor GB18030 text"):
        load_documents([no_nul])


def test_build_out_refuses_a_folder_of_other_files_unless_told(saved, tmp_path, capsys):
    from retrieval.__main__ import main

    documents = tmp_path / "my_documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("important", encoding="utf-8")
    (documents / "manifest.json").write_text("{}", encoding="utf-8")  # a name of ours is not enough
    build = ["build", "--docs", str(KB / "faq_en.jsonl"), "--out", str(documents)]
    assert main(build) == 2
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err and "thesis.txt" in err and "--overwrite" in err
    assert sorted(p.name for p in documents.iterdir()) == ["manifest.json", "thesis.txt"]
    assert (documents / "thesis.txt").read_text(encoding="utf-8") == "important"
    add = ["add", "--index", str(saved), "--docs", str(KB / "medicines_en.csv"), "--out", str(documents)]
    assert main(add) == 2 and "thesis.txt" in capsys.readouterr().err
    assert (documents / "thesis.txt").read_text(encoding="utf-8") == "important"

    # An index of ours is rebuilt and added to in place, as before.
    ours = tmp_path / "ours"
    assert main(["build", "--docs", str(KB / "faq_en.jsonl"), "--out", str(ours)]) == 0
    n = len(HybridIndex.load(ours))
    assert main(["build", "--docs", str(KB / "faq_en.jsonl"), "--out", str(ours)]) == 0
    assert main(["add", "--index", str(ours), "--docs", str(KB / "medicines_en.csv")]) == 0
    assert len(HybridIndex.load(ours)) > n
    # ... but not once someone has put a file of theirs inside it.
    (ours / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["add", "--index", str(ours), "--docs", str(KB / "type2_diabetes_en.md")]) == 2
    assert (ours / "notes.txt").is_file()

    # Told to: the folder is replaced whole by the index.
    assert main([*build, "--overwrite"]) == 0
    assert sorted(p.name for p in documents.iterdir()) == ["docstore.jsonl", "index.faiss", "manifest.json"]
    assert len(HybridIndex.load(documents)) == n
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(RetrievalIndexError, match=r"file\.txt: it is a file, not a folder"):
        HybridIndex.load(ours).save(a_file, overwrite=True)
