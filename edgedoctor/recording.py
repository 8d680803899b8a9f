"""Recordings: one YAML file (gzip when the name ends in .gz) with all a check saw.

```yaml
edgedoctor_recording: 1        # the recording schema; a newer one is refused
tool_version: 0.1.0
recorded_at: 2026-12-02T03:00:00Z
story: |                       # optional: what happened, what the engineer saw
expected:                      # optional: the verdict a replay must give
  verdict: critical
  root_cause: cert-cloudflare-7003-cleanup
evidence: {...}                # edgedoctor.evidence.Evidence.to_dict()
```
Secrets are redacted again on load, so a hand-edited recording cannot smuggle a
private key into the output either.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Any

from edgedoctor import __version__
from edgedoctor.evidence import Evidence
from edgedoctor.redact import redact_object

RECORDING_SCHEMA = 1


class RecordingError(Exception):
    """A recording that cannot be used; the message is one line for the user."""


def _yaml():
    import yaml

    return yaml


def dump_recording(ev: Evidence, *, story: str | None = None, expected: dict[str, Any] | None = None) -> str:
    yaml = _yaml()
    doc: dict[str, Any] = {
        "edgedoctor_recording": RECORDING_SCHEMA,
        "tool_version": __version__,
        "recorded_at": ev.now,
    }
    if story:
        doc["story"] = story
    if expected:
        doc["expected"] = expected
    doc["evidence"] = ev.to_dict()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def write_recording(path: str | os.PathLike[str], ev: Evidence, **kw: Any) -> None:
    text = dump_recording(ev, **kw)
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    try:
        if p.name.endswith(".gz"):
            with gzip.open(tmp, "wt", encoding="utf-8") as f:
                f.write(text)
        else:
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)  # never leave a half-written recording behind
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise RecordingError(f"{path}: cannot write the recording: {e.strerror or e}") from None


def read_recording_doc(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except IsADirectoryError:
        raise RecordingError(f"{path}: is a directory, not a recording (use --snapshot for kubectl dumps)") from None
    except OSError as e:
        raise RecordingError(f"{path}: cannot read: {e.strerror or e}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise RecordingError(f"{path}: truncated or corrupt gzip data") from None
    if not raw.strip():
        raise RecordingError(f"{path}: empty file, not a recording")
    if b"\x00" in raw[:8192]:
        raise RecordingError(f"{path}: binary data, not a recording")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordingError(f"{path}: not UTF-8 text, not a recording") from None
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RecordingError(f"{path}: corrupt or truncated recording (YAML error{where})") from None
    if not isinstance(doc, dict) or "edgedoctor_recording" not in doc:
        raise RecordingError(f"{path}: not an edgedoctor recording (no edgedoctor_recording key)")
    schema = doc.get("edgedoctor_recording")
    if not isinstance(schema, int) or schema < 1:
        raise RecordingError(f"{path}: invalid recording schema {schema!r}")
    if schema > RECORDING_SCHEMA:
        raise RecordingError(
            f"{path}: recording schema {schema} is newer than this edgedoctor understands "
            f"({RECORDING_SCHEMA}); upgrade edgedoctor (recorded by {doc.get('tool_version', '?')})"
        )
    if not isinstance(doc.get("evidence"), dict):
        raise RecordingError(f"{path}: the recording has no evidence section (truncated?)")
    return doc


def load_recording(path: str | os.PathLike[str]) -> tuple[Evidence, dict[str, Any]]:
    doc = read_recording_doc(path)
    try:
        ev = Evidence.from_dict(doc["evidence"])
    except (ValueError, TypeError, AttributeError) as e:
        raise RecordingError(f"{path}: invalid evidence: {e}") from None
    ev.cluster.objects = [redact_object(o) for o in ev.cluster.objects]
    # The source stays as recorded: a replay must give the original check's JSON.
    return ev, doc
