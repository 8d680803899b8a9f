"""Sizes, read from the source with `ast` (nothing is imported): no module of
`edgedoctor/` over 600 lines, no function over 80 lines unless it says why.

The reason is given with the marker `long because:` on the line just above the `def`
(above its decorators, if any) as a comment, `# long because: <reason>`, or on a line of
its docstring, `Long because: <reason>` (CONTRIBUTING.md, "Sizes").
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "edgedoctor"
MODULE_LINES = 600
FUNCTION_LINES = 80
MARKER = "long because:"
MIN_REASON = 10  # characters after the marker: a reason, not a bare marker


def _reason(text: str) -> bool:
    low = text.strip().lstrip("#").strip().lower()
    return low.startswith(MARKER) and len(low) - len(MARKER) >= MIN_REASON


def excused(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    above = lines[first - 2] if first >= 2 else ""
    if above.strip().startswith("#") and _reason(above):
        return True
    return any(_reason(line) for line in (ast.get_docstring(node) or "").splitlines())


def long_functions(source: str, limit: int = FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function longer than `limit` lines without a reason."""
    lines = source.splitlines()
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit and not excused(lines, node):
                out.append((node.name, node.lineno, length))
    return out


def _sources() -> list[tuple[str, str]]:
    return [(str(p.relative_to(PKG.parent)), p.read_text(encoding="utf-8")) for p in sorted(PKG.rglob("*.py"))]


def test_no_module_over_600_lines():
    big = [f"{name}: {len(src.splitlines())} lines" for name, src in _sources()
           if len(src.splitlines()) > MODULE_LINES]
    assert big == []


def test_no_function_over_80_lines_without_a_reason():
    long = [f"{name}:{line} {fn}() is {length} lines" for name, src in _sources()
            for fn, line, length in long_functions(src)]
    assert long == []


def _function(lines: int, above: str = "", doc: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 1 - (1 if doc else 0)))
    return f"{above}\ndef f():\n" + (f'    """{doc}"""\n' if doc else "") + body


def test_the_rule_counts_lines_and_reads_the_marker():
    assert long_functions(_function(80)) == []
    assert long_functions(_function(81)) == [("f", 2, 81)]
    assert long_functions(_function(81, above="# long because: one table of forty cases")) == []
    assert long_functions(_function(81, doc="Parse it.\n\n    Long because: one table of forty cases")) == []
    # A bare marker, or a reason elsewhere, is no reason.
    assert long_functions(_function(81, above="# long because:")) == [("f", 2, 81)]
    assert long_functions("# long because: one table of forty cases\n\n" + _function(81)) != []
    decorated = "# long because: one table of forty cases\n@staticmethod\n" + _function(81).lstrip("\n")
    assert long_functions(decorated) == []
