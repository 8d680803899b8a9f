"""Read rendered manifests and remember where every object came from.

What CI has: `kustomize build`, `helm template` or `flux build` output (multi-document
YAML, `# Source:` comments), plain YAML directories, `kubectl ... -o json` Lists. Each
object keeps the file and the line it starts at, so a finding can name them.

Speed: the whole file is parsed in one `load_all` call with PyYAML's C loader, and the
document start lines come from a scan for `---` separators, matched one for one with the
documents. Only when that match is ambiguous (a List, a document that does not start on
its own line) is the file composed node by node, which knows every line but is slower.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedoctor.snapshot import yaml_loader

_FAST_LOADER: Any = None


def fast_loader() -> Any:
    """The snapshot loader (C parser, timestamps kept as strings) with a quicker build of
    the Python objects, for the large trees lint reads. Same values as the snapshot loader:
    scalars are resolved and constructed by the same resolver and constructors; only the
    walk is shorter (plain dicts, lists and strings built directly, resolved tags memoised,
    the composer's per-node hooks made C calls).
    A document the short walk does not handle (merge keys, unhashable keys, other tags,
    recursive anchors) is built by the standard constructor instead."""
    global _FAST_LOADER
    if _FAST_LOADER is not None:
        return _FAST_LOADER
    import yaml

    base = yaml_loader()
    STR, MAP, SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
    SCALAR_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                   "tag:yaml.org,2002:null")
    ScalarNode, MappingNode, SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode

    class _Fallback(Exception):
        pass

    class _Loader(base):  # type: ignore[misc, valid-type]
        # The composer calls these three around every node of the file. Without path
        # resolvers (the snapshot loader has none) the first two do nothing and the tag of
        # a scalar depends on its text alone, so each is a C-level call instead of a Python
        # frame: builtins that ignore their arguments, and a memo of resolved tags (cleared
        # after each load_manifests).
        if not base.yaml_path_resolvers:
            descend_resolver = staticmethod(operator.is_)  # (parent, index) -> ignored
            ascend_resolver = staticmethod(tuple)  # () -> ignored
            resolve = staticmethod(functools.lru_cache(maxsize=None)(functools.partial(base.resolve, base(""))))

        def _build(self, node: Any) -> Any:
            tag = node.tag
            if tag == STR and type(node) is ScalarNode:
                return node.value
            if tag == MAP and type(node) is MappingNode:
                out = {}
                for k, v in node.value:
                    if k.tag != STR or type(k) is not ScalarNode:
                        raise _Fallback
                    # Most values are strings: taken here, without a call.
                    out[k.value] = v.value if v.tag == STR and type(v) is ScalarNode else self._build(v)
                return out
            if tag == SEQ and type(node) is SequenceNode:
                return [self._build(n) for n in node.value]
            if tag in SCALAR_TAGS and type(node) is ScalarNode:
                return self.yaml_constructors[tag](self, node)
            raise _Fallback

        def construct_document(self, node: Any) -> Any:
            try:
                return self._build(node)
            except (_Fallback, RecursionError):
                return super().construct_document(node)

    _FAST_LOADER = _Loader
    return _Loader


def _forget_resolved() -> None:
    """Drop the memo of resolved tags (it holds every distinct scalar of the tree read)."""
    clear = getattr(fast_loader().resolve, "cache_clear", None)
    if clear is not None:
        clear()


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_SEPARATOR = re.compile(r"^(---|\.\.\.)(?=\s|$)", re.M)


class ManifestError(Exception):
    """Input that cannot be linted at all; the message is one line for the user."""


@dataclass(frozen=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Manifests:
    objects: list[dict[str, Any]]
    # id(object) -> where it is written; objects stay alive as long as this list does.
    where: dict[int, Location]
    files: list[str]

    def location(self, obj: dict[str, Any] | None) -> Location | None:
        return self.where.get(id(obj)) if obj is not None else None


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(
            p for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise ManifestError(f"{path}: directory holds no .yaml, .yml or .json files")
        return found
    if not path.exists():
        raise ManifestError(f"{path}: no such file or directory")
    return [path]


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ManifestError(f"{path}: cannot read: {e.strerror or e}") from None
    if b"\x00" in raw[:8192]:
        raise ManifestError(f"{path}: binary file, not YAML or JSON manifests")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text") from None


def _yaml_error(path: str, e: Exception, offset: int = 0) -> ManifestError:
    mark = getattr(e, "problem_mark", None)
    where = f":{mark.line + 1 + offset}" if mark is not None else ""
    problem = getattr(e, "problem", None) or "not valid YAML"
    return ManifestError(f"{path}{where}: not valid YAML: {problem}")


_CONTENT = re.compile(r"^[ \t]*[^\s#]", re.M)


def _chunks(text: str) -> list[tuple[int, bool]]:
    """(first content line, 1-based; has content) of each `---`-separated document."""
    out: list[tuple[int, bool]] = []
    starts = [0] + [m.start() for m in _SEPARATOR.finditer(text)]
    ends = starts[1:] + [len(text)]
    line = 1
    prev = 0
    for s, e in zip(starts, ends, strict=True):
        line += text.count("\n", prev, s)
        prev = s
        body_start = s
        if text.startswith(("---", "..."), s):
            nl = text.find("\n", s, e)
            head = text[s + 3: nl if nl != -1 else e].strip()
            if head and not head.startswith("#"):
                return []  # content on the separator line: let the composer place it
            if nl == -1:
                out.append((line, False))
                continue
            body_start = nl + 1
        m = _CONTENT.search(text, body_start, e)
        if m is None:
            out.append((line, False))
        else:
            out.append((line + text.count("\n", s, m.start()), True))
    return out


def _compose_lines(text: str) -> list[tuple[Any, int, list[int]]]:
    """Slow path: (document, its line, the line of each List item) from the node graph."""
    import yaml

    loader_cls = yaml_loader()
    out = []
    for node in yaml.compose_all(text, Loader=loader_cls):
        if node is None:
            continue
        doc = loader_cls(" ").construct_document(node)
        items: list[int] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if getattr(k, "value", None) == "items" and isinstance(v, yaml.SequenceNode):
                    items = [n.start_mark.line + 1 for n in v.value]
        out.append((doc, node.start_mark.line + 1, items))
    return out


def _is_list(doc: Any) -> bool:
    kind = doc.get("kind") if isinstance(doc, dict) else None
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


def _add(doc: Any, loc: Location, item_lines: list[int], out: Manifests) -> None:
    if isinstance(doc, list):
        for i, d in enumerate(doc):
            _add(d, Location(loc.file, item_lines[i] if i < len(item_lines) else loc.line), [], out)
        return
    if not isinstance(doc, dict):
        return
    if _is_list(doc):
        item_kind = doc["kind"][: -len("List")] if doc["kind"] != "List" else None
        for i, item in enumerate(doc["items"]):
            if isinstance(item, dict) and item_kind and "kind" not in item:
                item = {**item, "kind": item_kind}
            line = item_lines[i] if i < len(item_lines) else loc.line
            _add(item, Location(loc.file, line), [], out)
        return
    kind = doc.get("kind")
    meta = doc.get("metadata")
    if not isinstance(kind, str) or not isinstance(meta, dict) or not meta.get("name"):
        return  # kustomize/helm leftovers (values files, empty templates): not objects
    out.objects.append(doc)
    out.where[id(doc)] = loc


def load_text(text: str, name: str, out: Manifests) -> None:
    import yaml

    if text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            pass
        else:
            if _is_list(doc) or isinstance(doc, list):
                for d, line, items in _compose_lines(text):
                    _add(d, Location(name, line), items, out)
            else:
                _add(doc, Location(name, 1), [], out)
            return
    try:
        docs = [d for d in yaml.load_all(text, Loader=fast_loader()) if d is not None]
    except yaml.YAMLError as e:
        raise _yaml_error(name, e) from None
    chunks = [c for c in _chunks(text) if c[1]]
    if len(chunks) == len(docs) and not any(_is_list(d) or isinstance(d, list) for d in docs):
        for d, (line, _) in zip(docs, chunks, strict=True):
            _add(d, Location(name, line), [], out)
        return
    try:
        composed = _compose_lines(text)
    except yaml.YAMLError as e:
        raise _yaml_error(name, e) from None
    for d, line, items in composed:
        _add(d, Location(name, line), items, out)


def load_manifests(paths: list[str | os.PathLike[str]]) -> Manifests:
    """Every object under PATHs, each with its file and line ('-' reads stdin)."""
    out = Manifests(objects=[], where={}, files=[])
    if not paths:
        raise ManifestError("no PATH given: name rendered manifest files or directories")
    for p in paths:
        if str(p) == "-":
            import sys

            load_text(sys.stdin.read(), "<stdin>", out)
            out.files.append("<stdin>")
            continue
        root = Path(p)
        for f in _files(root):
            name = str(f)
            load_text(_read(f), name, out)
            out.files.append(name)
    _forget_resolved()
    if not out.objects:
        raise ManifestError(f"{paths[0]}: holds no Kubernetes objects (kind and metadata.name)")
    _no_duplicates(out)
    return out


def _no_duplicates(m: Manifests) -> None:
    """One cluster's rendered manifests name each object once; twice means two clusters
    (two overlays) were passed together, and which one wins would be a guess."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for o in m.objects:
        meta = o["metadata"]
        key = (str(o.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))
        if key in seen:
            first = m.where[id(seen[key])]
            ns = f"{key[1]}/" if key[1] else ""
            raise ManifestError(
                f"{m.where[id(o)]}: {key[0]} {ns}{key[2]} is also defined at {first}: "
                "lint one cluster's rendered manifests at a time"
            )
        seen[key] = o
