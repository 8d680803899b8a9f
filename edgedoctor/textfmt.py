"""Small text helpers every front end and the catalog share (pure; PyYAML imported
only when a YAML text is made)."""

from __future__ import annotations

import string
from typing import Any, overload


@overload
def fill(template: str, values: dict[str, Any]) -> str: ...
@overload
def fill(template: str, values: dict[str, Any], *, missing: str) -> str: ...
@overload
def fill(template: str, values: dict[str, Any], *, missing: None) -> str | None: ...


def fill(template: str, values: dict[str, Any], *, missing: str | None = "<{}>") -> str | None:
    """Fill the `{name}` placeholders of a catalog or playbook template.

    A placeholder without a value is shown as `missing` (formatted with its name: the
    playbooks keep `<name>` visible), or, with `missing=None`, the whole template is
    dropped (None): the catalog shows only commands it can fill completely.
    """
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:  # an unbalanced brace: not a template
        return None if missing is None else template
    out = []
    for literal, name, spec, _conversion in parts:
        out.append(literal)
        if name is None:
            continue
        value = values.get(name)
        if value is None:
            if missing is None:
                return None
            out.append(missing.format(name))
            continue
        out.append(format(value, spec) if spec else str(value))
    return "".join(out)


def indent(text: str, pad: str = "  ") -> str:
    """Every line of `text` behind `pad` (blank lines too: a quoted block stays one block)."""
    return "\n".join(pad + line for line in text.splitlines())


def dump_yaml(data: Any, *, width: int = 100, block_text: bool = False) -> str:
    """YAML as people read it: keys in their order, Unicode as is.

    `block_text` writes multi-line strings as `|` blocks (recordings: PEM chains and
    Corefiles stay readable and diffable); the emitter falls back to quoting when a
    block cannot hold the text exactly (trailing spaces, some control characters).
    """
    return _yaml().dump(data, Dumper=_dumper(block_text), sort_keys=False, allow_unicode=True, width=width)


_DUMPERS: dict[bool, Any] = {}


def _yaml() -> Any:
    import yaml

    return yaml


def _block_str(dumper: Any, value: str) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def _dumper(block_text: bool) -> Any:
    if block_text not in _DUMPERS:
        yaml = _yaml()
        # The C emitter when PyYAML was built with libyaml: the same text, faster.
        base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        dumper = type("EdgedoctorDumper", (base,), {})
        if block_text:
            dumper.add_representer(str, _block_str)
        _DUMPERS[block_text] = dumper
    return _DUMPERS[block_text]
