"""Property-based bad input: hostnames, snapshots and recordings of any shape.

Whatever a user passes (a pasted name, a hand-edited snapshot, a recording mangled by a
ticket system), `edgedoctor check` ends with an exit code 0-3, no traceback, a JSON
document on stdout and at most one `edgedoctor:` line per cause on stderr.

Bounded for CI: each property runs a few hundred examples in-process (no subprocess per
example). On a failure Hypothesis prints the falsifying example and the blob to replay it
(`print_blob`); `pytest --hypothesis-seed=N` reruns a given seed. No example database is
written into the repository. `EDGEDOCTOR_PROPERTY_EXAMPLES=5000` hunts longer locally.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgedoctor.cli import main
from edgedoctor.hostname import HostnameError, normalize_host
from tests import casekit

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "snapshots" / "base"
NOW = casekit.NOW
RECORDINGS = sorted((ROOT / "recordings").glob("*.yaml"))

# EDGEDOCTOR_PROPERTY_EXAMPLES raises the bound for a longer local hunt.
BOUNDED = settings(
    max_examples=int(os.environ.get("EDGEDOCTOR_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_LDH = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def run_inprocess(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def assert_contract(rc: int, out: str, err: str) -> dict[str, Any]:
    assert rc in (0, 1, 2, 3), (rc, err)
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert all(ln.startswith("edgedoctor:") for ln in lines), err
    assert len(lines) == len(set(lines)), f"a cause printed twice: {err}"
    doc = json.loads(out)
    assert doc["verdict"] in ("ok", "warning", "critical", "unknown")
    assert {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[doc["verdict"]] == rc
    if rc == 3:
        assert doc.get("unknown_reasons"), doc
    return doc


# ------------------------------------------------------------------ hostnames

@BOUNDED
@given(st.text(max_size=80))
def test_any_text_is_a_normalised_name_or_one_line_refusal(raw):
    try:
        name = normalize_host(raw)
    except HostnameError as e:
        msg = str(e)
        assert msg and "\n" not in msg and "\r" not in msg
        return
    assert len(name) <= 253 and name == name.lower() and name.isascii()
    labels = name.split(".")
    assert len(labels) >= 2 and all(_LDH.match(label) and "\n" not in label for label in labels)


_IDN_ALPHABET = st.sampled_from(list("abcxyz-.0") + ["ß", "ü", "é", "\u0301", "☃", "ａ", "。", "\u200d", "\n", "\t",
                                                      "İ", "ς", "Σ", "\x85", "\u2028", ":", "/"])


@BOUNDED
@given(st.text(_IDN_ALPHABET, min_size=1, max_size=40))
def test_idn_like_text_never_raises_anything_else(raw):
    try:
        name = normalize_host(raw + ".example.test")
    except HostnameError as e:
        assert "\n" not in str(e)
        return
    assert all(_LDH.match(label) for label in name.split("."))


# ------------------------------------------------------------------ snapshots

def _base_objects() -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = []
    for f in sorted(BASE.glob("*.yaml")):
        for d in yaml.safe_load_all(f.read_text()):
            if isinstance(d, dict) and d.get("kind", "").endswith("List"):
                objs.extend(d.get("items") or [])
            elif d:
                objs.append(d)
    return objs


BASE_OBJECTS = _base_objects()

KEYS = st.sampled_from([
    "kind", "apiVersion", "metadata", "name", "namespace", "spec", "status", "hostnames", "listeners",
    "parentRefs", "rules", "backendRefs", "conditions", "type", "reason", "message", "addresses", "value",
    "secretName", "dnsNames", "issuerRef", "certificateRefs", "data", "tls.crt", "annotations", "labels",
    "ownerReferences", "items", "port", "protocol", "hostname", "tls", "gatewayClassName", "ports",
]) | st.text(max_size=8)

SCALARS = (st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
           | st.text(max_size=20))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                    max_leaves=20)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return doc


@st.composite
def mutated(draw, original: Any, max_edits: int = 3) -> Any:
    """`original` with a few of its fields (at any depth) replaced by values of any shape."""
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        doc = _set(doc, path, draw(JSON))
    return doc


def _write(text: str, suffix: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False, encoding="utf-8") as f:
        f.write(text)
    return f.name


@BOUNDED
@given(mutated(BASE_OBJECTS, max_edits=4), st.booleans())
def test_snapshot_objects_with_fields_of_any_type(objs, as_json):
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}) if as_json else yaml.safe_dump_all(
        objs if isinstance(objs, list) else [objs])
    path = _write(text, ".json" if as_json else ".yaml")
    try:
        rc, out, err = run_inprocess("check", "app.example.com", "--snapshot", path, "--offline", "--now", NOW,
                                     "-o", "json")
    finally:
        Path(path).unlink()
    if rc == 3 and not out:
        pytest.fail(f"exit 3 without the JSON document: {err}")
    assert_contract(rc, out, err)


@BOUNDED
@given(JSON)
def test_snapshot_of_any_json_shape(doc):
    path = _write(json.dumps(doc), ".json")
    try:
        rc, out, err = run_inprocess("check", "app.example.com", "--snapshot", path, "--offline", "--now", NOW,
                                     "-o", "json")
    finally:
        Path(path).unlink()
    assert_contract(rc, out, err)


# Fragments of YAML and JSON syntax, joined at random: broken flow style, tags, anchors, BOMs.
_YAMLISH = st.lists(st.sampled_from(list("kind: Gateway\n- []{},'\"&*!|>#%@`?") + [
    "\t", "  ", "---\n", "!!python/object:os.system ", "apiVersion: v1\n", "items:\n", "\x00", "\ufeff",
    "metadata: {name: g}\n", "&a [*a]", "<<: *a\n"]), max_size=60).map("".join)


@BOUNDED
@given(_YAMLISH, st.sampled_from([".yaml", ".json"]))
def test_snapshot_of_any_text(text, suffix):
    path = _write(text, suffix)
    try:
        rc, out, err = run_inprocess("check", "app.example.com", "--snapshot", path, "--offline", "--now", NOW,
                                     "-o", "json")
    finally:
        Path(path).unlink()
    assert_contract(rc, out, err)


@BOUNDED
@given(_YAMLISH)
def test_recording_of_any_text(text):
    path = _write("edgedoctor_recording: 1\n" + text, ".yaml")
    try:
        rc, out, err = run_inprocess("check", "--replay", path, "app.example.com", "-o", "json")
    finally:
        Path(path).unlink()
    assert_contract(rc, out, err)


# ------------------------------------------------------------------ recordings

def _recording(name: str) -> dict[str, Any]:
    from edgedoctor.recording import read_recording_doc

    return read_recording_doc(ROOT / "recordings" / name)


# A recording with DNS, TLS and HTTP probes and a cert-manager chain: most readers see data.
REC = _recording("dns-wrong-target-old-lb.yaml")
REC2 = _recording("cert-manager-7003-cleanup.yaml")


def _replay(doc: dict[str, Any]) -> tuple[int, str, str]:
    from edgedoctor.recording import dump_doc

    path = _write(dump_doc(doc), ".yaml")
    ev = doc.get("evidence")
    host = ev.get("host") if isinstance(ev, dict) else None
    host = host if isinstance(host, str) and host.isascii() and "." in host else "x.example.com"
    try:
        return run_inprocess("check", "--replay", path, host, "-o", "json")
    finally:
        Path(path).unlink()


@st.composite
def mangled_recordings(draw) -> dict[str, Any]:
    base = draw(st.sampled_from([REC, REC2]))
    return {**base, "evidence": draw(mutated(base["evidence"], max_edits=4))}


@BOUNDED
@given(mangled_recordings())
def test_recording_evidence_with_fields_of_any_type(doc):
    rc, out, err = _replay(doc)
    assert out, f"exit {rc} without the JSON document: {err}"
    assert_contract(rc, out, err)


# ------------------------------------------------------------------ deep nesting

@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_snapshot_nested_thousands_deep(fmt, tmp_path):
    depth = 5000
    if fmt == "json":
        text = '{"kind": "Gateway", "metadata": {"name": "g"}, "spec": ' + "[" * depth + "]" * depth + "}"
    else:
        text = "kind: Gateway\nmetadata: {name: g}\nspec: " + "[" * depth + "]" * depth + "\n"
    f = tmp_path / f"deep.{fmt}"
    f.write_text(text)
    rc, out, err = run_inprocess("check", "app.example.com", "--snapshot", str(f), "--offline", "--now", NOW,
                                 "-o", "json")
    assert rc == 3
    assert "nested" in err and len(err.strip().splitlines()) == 1, err
    assert json.loads(out)["unknown_reasons"]


def test_recording_nested_thousands_deep(tmp_path):
    depth = 5000
    f = tmp_path / "deep.yaml"
    f.write_text("edgedoctor_recording: 1\nevidence: " + "[" * depth + "]" * depth + "\ncomplete: true\n")
    rc, out, err = run_inprocess("check", "--replay", str(f), "app.example.com", "-o", "json")
    assert rc == 3
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
