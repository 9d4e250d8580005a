"""No function is over 40 lines, in the widget script or in the app's Python: a longer one
does several jobs that each deserve a name."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import satismeter_app

MAX_LINES = 40
APP = Path(satismeter_app.__file__).parent
WIDGET = APP / "static" / "satismeter_app" / "widget.js"
# What the widget loads for surveys of several questions.
WIDGET_QUESTIONS = APP / "static" / "satismeter_app" / "widget-questions.js"
# The script's wrapper, which keeps its names off the host page's window, is the whole file.
WIDGET_WRAPPER = "(function (window, document) {"

# Code is what is left of the script once comments, strings and regular expressions are blanked
# (their braces are not blocks); a "/" after one of these starts a regular expression.
_REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {""}
_FUNCTION = re.compile(r"\bfunction\b[^{]*\{|=>\s*\{")


def _blank_quoted(source: str) -> str:
    """The source with every comment, string and regular expression replaced by spaces,
    newlines kept, so that offsets and line numbers stay the same."""
    out = list(source)
    i, previous = 0, ""
    while i < len(source):
        end = _quoted_end(source, i, previous)
        if end is None:
            if not source[i].isspace():
                previous = source[i]
            i += 1
            continue
        for j in range(i, end):
            out[j] = "\n" if source[j] == "\n" else " "
        previous, i = "x", end
    return "".join(out)


def _quoted_end(source: str, i: int, previous: str) -> int | None:
    """Where the comment, string or regular expression starting at ``i`` ends, if one does."""
    two = source[i : i + 2]
    if two == "//":
        return source.find("\n", i) % (len(source) + 1)
    if two == "/*":
        return source.index("*/", i) + 2
    char = source[i]
    if char in "'\"`" or (char == "/" and previous in _REGEX_BEFORE):
        return _closing(source, i)
    return None


def _closing(source: str, start: int) -> int:
    quote, i, in_class = source[start], start + 1, False
    while True:
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if quote == "/" and char in "[]":
            in_class = char == "["
        elif char == quote and not in_class:
            return i + 1
        i += 1


def _block_end(code: str, opening: int) -> int:
    depth = 0
    for i in range(opening, len(code)):
        depth += {"{": 1, "}": -1}.get(code[i], 0)
        if depth == 0:
            return i
    raise AssertionError(f"unbalanced braces after offset {opening}")


def js_functions(source: str) -> Iterator[tuple[str, int, int]]:
    """(first line's text, first line, number of lines) of each function and arrow function
    with a block body."""
    code = _blank_quoted(source)
    for match in _FUNCTION.finditer(code):
        first = code.count("\n", 0, match.start()) + 1
        last = code.count("\n", 0, _block_end(code, match.end() - 1)) + 1
        yield source.splitlines()[first - 1].strip(), first, last - first + 1


def python_functions() -> Iterator[tuple[str, int]]:
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                where = f"{path.relative_to(APP.parent)}:{node.lineno} {node.name}"
                yield where, node.end_lineno - node.lineno + 1


def test_the_scan_finds_functions_and_skips_braces_in_strings_and_patterns() -> None:
    source = (
        "function a(x) {\n"
        '  var s = "{ not a block";\n'
        "  var r = /\\{[}]/g; // }\n"
        "  return [1].map((n) => {\n"
        "    return n / 2 / 1;\n"
        "  });\n"
        "}\n"
    )
    assert [(lines, first) for _, first, lines in js_functions(source)] == [(7, 1), (3, 4)]


@pytest.mark.parametrize("script", [WIDGET, WIDGET_QUESTIONS], ids=lambda path: path.name)
def test_no_function_in_the_widget_script_is_over_40_lines(script: Path) -> None:
    source = script.read_text()
    long = [
        f"line {first}: {text} ({lines} lines)"
        for text, first, lines in js_functions(source)
        if lines > MAX_LINES and text != WIDGET_WRAPPER
    ]
    assert not long, "\n".join(long)


def test_no_python_function_in_the_app_is_over_40_lines() -> None:
    long = [f"{where} ({lines} lines)" for where, lines in python_functions() if lines > MAX_LINES]
    assert not long, "\n".join(long)
