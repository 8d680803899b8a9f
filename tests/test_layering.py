"""The package's layering, read from the source with `ast` (nothing is imported).

- no import cycle between modules of `edgedoctor` (imports inside functions count too:
  a lazy import is still a dependency);
- no module uses another module's private name (`from x import _y`, `x._y`);
- `edgedoctor.diagnosis` is pure: it imports no module that does I/O;
- the CLI never imports the TUI package except through `edgedoctor tui`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "edgedoctor"


@dataclass(frozen=True)
class Use:
    module: str  # the importing module
    target: str  # the module imported (or whose attribute is used)
    name: str | None  # the name taken from it, if any
    line: int


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _uses(module: str, path: Path) -> Iterator[Use]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}  # local name -> edgedoctor module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            if not base.startswith("edgedoctor"):
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in MODULES:  # `from edgedoctor.x import y` where y is a module
                    aliases[a.asname or a.name] = sub
                    yield Use(module, sub, None, node.lineno)
                else:
                    yield Use(module, base, a.name, node.lineno)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("edgedoctor"):
                    if a.asname:
                        aliases[a.asname] = a.name
                    yield Use(module, a.name, None, node.lineno)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            yield Use(module, aliases[node.value.id], node.attr, node.lineno)


USES = [u for m, p in MODULES.items() for u in _uses(m, p)]


def _private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_crosses_a_module():
    crossing = [f"{u.module}:{u.line} uses {u.target}.{u.name}" for u in USES
                if _private(u.name) and u.target != u.module]
    assert crossing == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for u in USES:
        if u.target in MODULES and u.target != u.module:
            graph[u.module].add(u.target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    assert _cycles(_graph()) == []


# What the pure diagnosis may import from the package: data and pure helpers. The
# catalog is the rules' own data (YAML shipped with them), read once.
PURE = ("edgedoctor.diagnosis", "edgedoctor.model", "edgedoctor.evidence", "edgedoctor.catalog",
        "edgedoctor.certinfo", "edgedoctor.pemcerts", "edgedoctor.cloudflare", "edgedoctor.hostname",
        "edgedoctor.kinds", "edgedoctor.timefmt", "edgedoctor.textfmt")
IO_LIBRARIES = {"socket", "ssl", "subprocess", "http", "urllib.request", "httpx", "dns", "kubernetes",
                "requests", "asyncio", "concurrent", "shutil", "tempfile"}


def _external_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module)
    return out


def test_diagnosis_imports_nothing_that_does_io():
    bad = []
    for m, path in MODULES.items():
        if not m.startswith("edgedoctor.diagnosis"):
            continue
        for u in USES:
            if u.module == m and not u.target.startswith(PURE):
                bad.append(f"{m}:{u.line} imports {u.target}")
        for name in _external_imports(path):
            if any(name == lib or name.startswith(lib + ".") for lib in IO_LIBRARIES):
                bad.append(f"{m} imports {name}")
    assert bad == []


def test_only_the_tui_subcommand_reaches_the_tui():
    reach = sorted({u.module for u in USES if u.target.startswith("edgedoctor.tui")
                    and not u.module.startswith("edgedoctor.tui")})
    assert reach == ["edgedoctor.cli.tui"]


def test_the_cluster_layers_read_the_probes_only_through_ctx_probed_dns():
    """What the cluster layers take from the probes is why a probed check analyses the
    cluster once per evidence state (tests/test_app.py counts it): it stays in one
    accessor, `Ctx.probed_dns`, instead of `ctx.ev.dns` here and there."""
    bad = []
    for m, path in MODULES.items():
        if not m.startswith("edgedoctor.diagnosis") or m in ("edgedoctor.diagnosis.engine", "edgedoctor.diagnosis.context"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("dns", "tls", "http")
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "ev"):
                bad.append(f"{m}:{node.lineno} reads ev.{node.attr}")
    assert bad == []
