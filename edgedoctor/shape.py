"""Bounds on the shape of documents read from files (snapshots, recordings).

Kubernetes objects nest a few dozen levels at most (managedFields included). A file
nested thousands of levels deep is not one, and every recursive walk over it (the
parsers, redaction, the JSON writer) would end in RecursionError: refuse it up front.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 200


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when `value` nests more than `limit` lists/maps deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if d > limit:
            return True
        stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return False
