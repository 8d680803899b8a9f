"""Read the cluster from `kubectl get ... -o yaml|json` files.

Accepted: a `v1 List` (or any `*List`), one object, multi-document YAML, JSON,
or a directory of such files. A file that cannot be read as such is a
`SnapshotError` with one line for the user; an object without kind or name is
skipped and reported in the cluster evidence's errors so the rest goes on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgedoctor.evidence import ClusterEvidence
from edgedoctor.kinds import BY_KIND
from edgedoctor.redact import redact_object
from edgedoctor.shape import MAX_DEPTH, too_deep

SNAPSHOT_SUFFIXES = (".yaml", ".yml", ".json")


class SnapshotError(Exception):
    """A snapshot that cannot be used at all; the message is one line for the user."""


def _yaml():
    import yaml

    return yaml


_LOADER = None


def yaml_loader():
    """A safe loader that keeps timestamps as the strings kubectl prints.

    Hand-written YAML leaves `creationTimestamp: 2026-12-02T01:00:00Z` unquoted, which
    YAML would turn into a datetime the rest of the tool does not expect.
    """
    global _LOADER
    if _LOADER is None:
        yaml = _yaml()
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class _Loader(base):  # type: ignore[misc, valid-type]
            pass

        _Loader.yaml_implicit_resolvers = {
            k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
            for k, v in base.yaml_implicit_resolvers.items()
        }
        _LOADER = _Loader
    return _LOADER


def _parse(path: Path, text: str) -> list[Any]:
    try:
        docs = _parse_text(path, text)
    except RecursionError:
        docs = None
    if docs is None or any(too_deep(d) for d in docs):
        raise SnapshotError(f"{path}: nested more than {MAX_DEPTH} levels deep; not a kubectl snapshot")
    return docs


def _parse_text(path: Path, text: str) -> list[Any]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as e:
            # JSON-looking YAML flow style still parses below.
            json_error = e
        else:
            json_error = None
    else:
        json_error = None
    yaml = _yaml()
    try:
        return [d for d in yaml.load_all(text, Loader=yaml_loader()) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or (str(json_error) if json_error else "not YAML")
        raise SnapshotError(f"{path}: not valid YAML or JSON{where}: {problem}") from None


def _read_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SnapshotError(f"{path}: cannot read: {e.strerror or e}") from None
    if b"\x00" in raw[:8192]:
        raise SnapshotError(f"{path}: binary file, not a kubectl YAML/JSON snapshot")
    if raw[:2] == b"\x1f\x8b":
        raise SnapshotError(f"{path}: compressed file; use --replay for recordings (.gz)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SnapshotError(f"{path}: not UTF-8 text, not a kubectl YAML/JSON snapshot") from None
    if not text.strip():
        raise SnapshotError(f"{path}: empty file")
    return text


def _flatten(doc: Any, where: str, out: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            _flatten(item, f"{where}[{i}]", out, errors)
        return
    if not isinstance(doc, dict):
        errors.append({"kind": "?", "status": "error", "reason": f"{where}: not an object, skipped"})
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        item_kind = kind[: -len("List")] if kind != "List" else None
        for i, item in enumerate(doc["items"]):
            if isinstance(item, dict) and item_kind and "kind" not in item:
                item = {**item, "kind": item_kind}
            _flatten(item, f"{where}.items[{i}]", out, errors)
        return
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(kind, str) or not kind or not isinstance(name, str) or not name:
        errors.append(
            {
                "kind": kind if isinstance(kind, str) else "?",
                "status": "error",
                "reason": f"{where}: object without kind or metadata.name, skipped",
            }
        )
        return
    out.append(redact_object(doc))


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in SNAPSHOT_SUFFIXES and not p.name.startswith(".")
        )
        if not found:
            raise SnapshotError(f"{path}: directory holds no .yaml, .yml or .json files")
        return found
    if not path.exists():
        raise SnapshotError(f"{path}: no such file or directory")
    return [path]


def load_snapshot(paths: list[str | os.PathLike[str]]) -> ClusterEvidence:
    objects: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for p in paths:
        for f in _files(Path(p)):
            docs = _parse(f, _read_file(f))
            if not docs:
                raise SnapshotError(f"{f}: holds no Kubernetes objects")
            for i, doc in enumerate(docs):
                _flatten(doc, f"{f.name}#{i + 1}" if len(docs) > 1 else f.name, objects, errors)
    if not objects and errors:
        raise SnapshotError(f"{paths[0]}: no usable Kubernetes objects ({errors[0]['reason']})")
    kinds = sorted({o["kind"] for o in objects})
    unknown_kinds = [k for k in kinds if k not in BY_KIND]
    # Unknown kinds are kept (a person may want to see them) but are not "read" kinds.
    return ClusterEvidence(
        objects=objects,
        errors=errors,
        reachable=True,
        context=None,
        kinds_read=[k for k in kinds if k not in unknown_kinds],
    )
