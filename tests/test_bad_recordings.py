"""A recording that cannot be used: one clear line on stderr and exit 3, never a traceback.

Table-driven: each case makes a bad file from a real library recording and runs
`edgedoctor check HOST --replay FILE` as a user would, in text and in JSON.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "recordings" / "dns-propagation-lag.yaml"
HOST = "status.litware.example"


def good_text() -> str:
    return GOOD.read_text()


def good_doc() -> dict:
    return yaml.safe_load(good_text())


def dump(doc: object) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


def with_doc(edit: Callable[[dict], None]) -> str:
    doc = good_doc()
    edit(doc)
    return dump(doc)


def text_file(content: str | bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / "bad.yaml"
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return p

    return make


def gz_file(content: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / "bad.yaml.gz"
        p.write_bytes(content)
        return p

    return make


def directory(tmp: Path) -> Path:
    d = tmp / "a-directory"
    d.mkdir()
    (d / "x.yaml").write_text(good_text())
    return d


def missing(tmp: Path) -> Path:
    return tmp / "no-such-recording.yaml"


def lines(n: float) -> str:
    ls = good_text().splitlines(keepends=True)
    return "".join(ls[: int(len(ls) * n)])


# (case id, file maker, host to ask for, words the one stderr line must contain)
CASES = [
    ("truncated-at-a-line", lambda t: text_file(lines(0.5))(t), HOST, "truncated"),
    ("truncated-near-the-end", lambda t: text_file(lines(0.98))(t), HOST, "truncated"),
    ("truncated-mid-line", lambda t: text_file(good_text()[:12345])(t), HOST, ""),
    ("corrupt-yaml", lambda t: text_file(good_text().replace("evidence:\n", "evidence: [unclosed\n  : {\n", 1))(t), HOST, "corrupt"),
    ("corrupt-bytes", lambda t: text_file(good_text().encode()[:4000] + b"\xff\xfe\x80" + good_text().encode()[4000:])(t), HOST, "UTF-8"),
    ("empty", text_file(""), HOST, "empty"),
    ("whitespace-only", text_file("\n  \n\t\n"), HOST, "empty"),
    ("future-schema", lambda t: text_file(with_doc(lambda d: d.__setitem__("edgedoctor_recording", 2)))(t), HOST, "newer"),
    ("schema-not-a-number", lambda t: text_file(with_doc(lambda d: d.__setitem__("edgedoctor_recording", "one")))(t), HOST, "schema"),
    ("directory", directory, HOST, "directory"),
    ("gzip-of-garbage", gz_file(gzip.compress(bytes(range(256)) * 40)), HOST, "binary"),
    ("gzip-truncated", gz_file(gzip.compress(good_text().encode())[:3000]), HOST, "gzip"),
    ("gzip-header-only", gz_file(b"\x1f\x8b\x08\x00"), HOST, "gzip"),
    ("another-host", lambda t: text_file(good_text())(t), "www.litware.example", "recording of status.litware.example"),
    ("kubectl-yaml-documents", lambda t: text_file((ROOT / "tests/snapshots/base/10-gateway.yaml").read_text())(t), HOST,
     "not an edgedoctor recording; Kubernetes objects (kubectl output) go to --snapshot"),
    ("kubectl-list", lambda t: text_file((ROOT / "tests/snapshots/base/00-namespaces.yaml").read_text())(t), HOST,
     "not an edgedoctor recording (no edgedoctor_recording key); Kubernetes objects"),
    ("no-evidence", lambda t: text_file(with_doc(lambda d: d.pop("evidence")))(t), HOST, "evidence"),
    ("evidence-without-host", lambda t: text_file(with_doc(lambda d: d["evidence"].pop("host")))(t), HOST, "host"),
    ("evidence-bad-time", lambda t: text_file(with_doc(lambda d: d["evidence"].__setitem__("now", "yesterday")))(t), HOST, "RFC 3339"),
    ("objects-not-a-list", lambda t: text_file(with_doc(lambda d: d["evidence"]["cluster"].__setitem__("objects", 5)))(t), HOST, "invalid evidence"),
    ("json-array", text_file("[1, 2, 3]\n"), HOST, "not an edgedoctor recording"),
    ("binary-file", text_file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)), HOST, "binary"),
    ("does-not-exist", missing, HOST, "cannot read"),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgedoctor", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})


@pytest.mark.parametrize(("cid", "make", "host", "words"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("output", ["text", "json"])
def test_bad_recording_is_one_line_and_exit_3(tmp_path, cid, make, host, words, output):
    path = make(tmp_path)
    p = run("check", host, "--replay", str(path), "-o", output)
    assert p.returncode == 3, (p.returncode, p.stdout[:300], p.stderr)
    assert "Traceback" not in p.stderr
    err = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(err) == 1, p.stderr
    line = err[0]
    assert line.startswith("edgedoctor: ") and words in line, line
    if cid != "another-host":
        assert path.name in line, line  # the user sees which file
    if output == "json":
        doc = json.loads(p.stdout)
        assert doc["verdict"] == "unknown" and doc["root_cause"] is None
        assert doc["unknown_reasons"] and words in doc["unknown_reasons"][0]
    else:
        assert p.stdout == ""


def test_the_good_recording_replays():
    """The cases above are bad because of their edits: the file they start from is fine."""
    p = run("check", HOST, "--replay", str(GOOD), "-o", "json")
    assert p.returncode in (0, 1, 2), p.stderr
    assert json.loads(p.stdout)["host"] == HOST


def test_record_to_an_unwritable_place_is_one_line(tmp_path):
    target = tmp_path / "missing-dir" / "out.yaml"
    p = run("check", HOST, "--replay", str(GOOD), "-o", "json", "--record", str(target))
    assert p.returncode == 3
    err = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "cannot write the recording" in err[0] and "Traceback" not in p.stderr
    # Checked before the work, and -o json still prints the document with the reason.
    doc = json.loads(p.stdout)
    assert doc["verdict"] == "unknown" and "cannot write the recording" in doc["unknown_reasons"][0]
    assert not list(tmp_path.rglob("*.part"))
