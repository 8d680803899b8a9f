"""The check catalog (checks/*.yaml) and the playbooks (playbooks/*.yaml) as data.

In a checkout they sit at the top of the repository; in an installed wheel they
are carried inside the package under `_data/`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"edgedoctor data folder {name!r} not found (broken install?)")


class UnknownCode(KeyError):
    pass


def _load_yaml(path: Path) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)


@functools.cache
def entry(code: str) -> dict[str, Any]:
    """One catalog entry; UnknownCode when the code has none."""
    if not code or "/" in code or code.startswith("."):
        raise UnknownCode(code)
    path = data_dir("checks") / f"{code}.yaml"
    if not path.is_file():
        raise UnknownCode(code)
    data = _load_yaml(path)
    if not isinstance(data, dict) or data.get("code") != code:
        raise UnknownCode(code)
    return data


def all_codes() -> list[str]:
    return sorted(p.stem for p in data_dir("checks").glob("*.yaml"))


def all_entries() -> list[dict[str, Any]]:
    return [entry(c) for c in all_codes()]


