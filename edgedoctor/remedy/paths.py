"""Field paths into Kubernetes objects, as plain JSON data.

A path is a list of segments: a key (str), a list index (int) or a list selector
({"type": "Issuing"}, {"name": "https"}) that picks the first item with those
fields. Paths travel inside a StepPlan's change (JSON-able) and are shown to
people as `status.conditions[type=Issuing].status`.
"""

from __future__ import annotations

import re
from typing import Any

Path = list[Any]
_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")
_MISSING = object()


def fmt_path(path: Path) -> str:
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif seg == "*":
            out += "[*]"
        elif isinstance(seg, dict):
            out += "[" + ",".join(f"{k}={v}" for k, v in seg.items()) + "]"
        elif _PLAIN.match(str(seg)):
            out += ("." if out else "") + str(seg)
        else:
            out += f'["{seg}"]'
    return out


def get_path(obj: Any, path: Path) -> Any:
    """The value at path, or _MISSING (use `found`)."""
    cur = obj
    for seg in path:
        if isinstance(seg, int):
            if not isinstance(cur, list) or seg >= len(cur):
                return _MISSING
            cur = cur[seg]
        elif isinstance(seg, dict):
            if not isinstance(cur, list):
                return _MISSING
            hit = next((x for x in cur if isinstance(x, dict) and all(x.get(k) == v for k, v in seg.items())), None)
            if hit is None:
                return _MISSING
            cur = hit
        else:
            if not isinstance(cur, dict) or seg not in cur:
                return _MISSING
            cur = cur[seg]
    return cur


def found(value: Any) -> bool:
    return value is not _MISSING


def value_at(obj: Any, path: Path, default: Any = None) -> Any:
    v = get_path(obj, path)
    return default if v is _MISSING else v


def expect_holds(obj: Any, expect: dict[str, Any]) -> bool:
    """One expectation: {"path", "equals"} | {"path", "contains"} | {"path", "absent": True}
    | {"path", "not_before": RFC 3339 time} (a time at or after it)."""
    v = get_path(obj, list(expect.get("path") or []))
    if expect.get("absent"):
        return v is _MISSING or v in (None, [], {}, "")
    if v is _MISSING:
        return False
    if "equals" in expect:
        return v == expect["equals"]
    if "contains" in expect:
        want = expect["contains"]
        if isinstance(v, (list, str)):
            return want in v
        return False
    if "not_before" in expect:
        have, since = _instant(v), _instant(expect["not_before"])
        return have is not None and since is not None and have >= since
    return True


def _instant(value: Any) -> Any:
    """An RFC 3339 time as an aware datetime, None when it is not one."""
    from edgedoctor.timefmt import parse_rfc3339

    return parse_rfc3339(value)


def all_hold(obj: Any, expects: list[dict[str, Any]]) -> bool:
    return bool(expects) and all(expect_holds(obj, e) for e in expects)


def merge_expects(patch: Any, prefix: Path | None = None) -> list[dict[str, Any]]:
    """What the object looks like once a merge patch is in: one expectation per leaf."""
    prefix = list(prefix or [])
    out: list[dict[str, Any]] = []
    if not isinstance(patch, dict):
        return [{"path": prefix, "equals": patch}]
    for k, v in patch.items():
        p = [*prefix, k]
        if v is None:
            out.append({"path": p, "absent": True})
        elif isinstance(v, dict) and v:
            out.extend(merge_expects(v, p))
        else:
            out.append({"path": p, "equals": v})
    return out


def merge_fields(patch: Any, prefix: Path | None = None) -> list[str]:
    return [fmt_path(e["path"]) for e in merge_expects(patch, prefix)]


def pointer(path: Path) -> str:
    """A JSON pointer (RFC 6901) for a path of keys and indices."""
    parts = []
    for seg in path:
        if isinstance(seg, dict):
            raise ValueError("a JSON pointer cannot hold a list selector")
        parts.append(str(seg).replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(parts)


_SEG = re.compile(r'\.?([A-Za-z0-9_-]+)|\["([^"]+)"\]|\[(\*)\]|\[(\d+)\]|\[([A-Za-z0-9_.-]+)=([^\]]*)\]')


def parse_path(text: str) -> Path | None:
    """The path of a displayed field (`status.conditions[type=Ready]`, `data["tls.crt"]`,
    `spec.containers[*].image`); None for free text. A trailing ` (...)` note is ignored."""
    text = text.split(" (", 1)[0].strip()
    out: Path = []
    pos = 0
    while pos < len(text):
        m = _SEG.match(text, pos)
        if m is None or m.end() == pos:
            return None
        key, quoted, star, index, sel_k, sel_v = m.groups()
        if key is not None:
            out.append(key)
        elif quoted is not None:
            out.append(quoted)
        elif star is not None:
            out.append("*")
        elif index is not None:
            out.append(int(index))
        else:
            out.append({sel_k: sel_v})
        pos = m.end()
    return out or None


def values_at(obj: Any, path: Path) -> list[Any]:
    """Every value at path; "*" fans out over a list."""
    if not path:
        return [obj]
    seg, rest = path[0], path[1:]
    if seg == "*":
        return [v for item in (obj if isinstance(obj, list) else []) for v in values_at(item, rest)]
    v = get_path(obj, [seg])
    return [] if v is _MISSING else values_at(v, rest)
