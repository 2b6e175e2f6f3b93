"""The serving code stays reviewable: no function over 80 lines and no file over 400 lines in app.py,
model/, ui/ and safety/ (safety's pattern tables, the lexicon files, excepted).

Run: python -m pytest tests/test_code_shape.py"""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_FUNCTION_LINES = 80
MAX_FILE_LINES = 400


def serving_files() -> list[Path]:
    files = [REPO / "app.py"]
    for package in ("model", "ui", "safety"):
        files += sorted((REPO / package).glob("*.py"))
    return files


def test_no_serving_file_over_400_lines():
    too_long = {
        str(p.relative_to(REPO)): n
        for p in serving_files()
        if not p.name.startswith("lexicon")
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert not too_long, f"files over {MAX_FILE_LINES} lines: {too_long}"


def test_no_serving_function_over_80_lines():
    too_long = []
    for path in serving_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    assert not too_long, "functions over 80 lines: " + "; ".join(too_long)


def test_the_checks_see_the_serving_code():
    names = {p.name for p in serving_files()}
    assert {"app.py", "service.py", "server.py", "matcher.py"} <= names
