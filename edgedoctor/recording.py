"""Recordings: one YAML file (gzip when the name ends in .gz) with all a check saw.

```yaml
edgedoctor_recording: 1        # the recording schema; a newer one is refused
tool_version: 0.1.0
recorded_at: '2026-12-02T03:00:00Z'
story: |                       # optional: what happened, what the engineer saw
expected:                      # optional: the verdict a replay must give
  verdict: critical
  root_cause: cert-cloudflare-7003-cleanup
  category: cert-issuance
evidence: {...}                # edgedoctor.evidence.Evidence.to_dict()
complete: true                 # written last: a file cut short lacks it and is refused
```

Written for people as well as for replays: multi-line text (PEM chains, Challenge
reasons) is written as YAML block scalars, and a Secret's public certificate is written
as PEM text instead of base64 (`data: {tls.crt: "-----BEGIN CERTIFICATE-----..."}`);
loading accepts both forms. Timestamps stay strings when read, as the API returns them,
even where a hand edit left them unquoted.

Secrets are redacted again on load, so a hand-edited recording cannot smuggle a
private key into the output either.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import io
import os
import zlib
from pathlib import Path
from typing import Any

from edgedoctor import __version__
from edgedoctor.evidence import Evidence
from edgedoctor.redact import redact_object
from edgedoctor.shape import MAX_DEPTH, too_deep
from edgedoctor.textfmt import dump_yaml
from edgedoctor.timefmt import parse_rfc3339

RECORDING_SCHEMA = 1
_PEM_KEYS = ("tls.crt", "ca.crt")


class RecordingError(Exception):
    """A recording that cannot be used; the message is one line for the user."""


def _yaml():
    import yaml

    return yaml


_LOADER: Any = None


def _loader() -> Any:
    """A safe loader that leaves timestamps as strings (the API's RFC 3339 text)."""
    global _LOADER
    if _LOADER is None:
        yaml = _yaml()
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        loader = type("RecordingLoader", (base,), {})
        loader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
        _LOADER = loader
    return _LOADER


def _redact(obj: dict[str, Any]) -> dict[str, Any]:
    """redact_object, keeping the key names of a Secret that was already redacted.

    redact_secret lists the keys it sees; run on its own output it would see only the
    public certificate and forget that a tls.key (or a token) existed.
    """
    out = redact_object(obj)
    before = obj.get("keys") if obj.get("kind") == "Secret" and obj.get("redacted") else None
    if isinstance(before, list) and isinstance(out.get("keys"), list):
        out["keys"] = sorted(set(out["keys"]) | {str(k) for k in before})
    return out


def _readable_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A redacted Secret with its public certificates as PEM text, for people."""
    data = obj.get("data")
    if obj.get("kind") != "Secret" or not isinstance(data, dict):
        return obj
    out = dict(obj)
    shown: dict[str, Any] = {}
    for key, value in data.items():
        if key in _PEM_KEYS and isinstance(value, str):
            try:
                text = base64.b64decode(value, validate=True).decode("ascii")
            except (binascii.Error, ValueError):
                text = ""
            if text.startswith("-----BEGIN CERTIFICATE-----"):
                shown[key] = text if text.endswith("\n") else text + "\n"
                continue
        shown[key] = value
    out["data"] = shown
    return out


def _kubernetes_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """Back to the API's form: PEM text in data becomes base64 again."""
    data = obj.get("data")
    if obj.get("kind") != "Secret" or not isinstance(data, dict):
        return obj
    out = dict(obj)
    out["data"] = {
        k: base64.b64encode(v.encode("utf-8")).decode("ascii")
        if isinstance(v, str) and v.lstrip().startswith("-----BEGIN")
        else v
        for k, v in data.items()
    }
    return out


def recording_doc(
    ev: Evidence,
    *,
    story: str | None = None,
    expected: dict[str, Any] | None = None,
    recorded_at: str | None = None,
) -> dict[str, Any]:
    """The document a recording file holds (plain data, before YAML)."""
    doc: dict[str, Any] = {
        "edgedoctor_recording": RECORDING_SCHEMA,
        "tool_version": ev.tool_version or __version__,
        "recorded_at": recorded_at or ev.now,
    }
    if story:
        doc["story"] = story.strip() + "\n"
    if expected:
        doc["expected"] = dict(expected)
    evidence = ev.to_dict()
    cluster = copy.copy(evidence["cluster"])
    # Redact on the way out too: evidence built by hand never reaches a file unredacted.
    cluster["objects"] = [_readable_secret(_redact(o)) for o in cluster.get("objects") or []]
    evidence["cluster"] = cluster
    doc["evidence"] = evidence
    doc["complete"] = True
    return doc


def dump_recording(ev: Evidence, **kw: Any) -> str:
    return dump_yaml(recording_doc(ev, **kw), block_text=True)


def dump_doc(doc: dict[str, Any]) -> str:
    """YAML text of an already built recording document (the library's build uses it)."""
    doc = {k: v for k, v in doc.items() if k != "complete"}
    doc["complete"] = True  # always the last key
    return dump_yaml(doc, block_text=True)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write recording text atomically; gzip (reproducible: no mtime) when the name ends in .gz."""
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    try:
        if p.name.endswith(".gz"):
            buf = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
                gz.write(text.encode("utf-8"))
            tmp.write_bytes(buf.getvalue())
        else:
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)  # never leave a half-written recording behind
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise RecordingError(f"{path}: cannot write the recording: {e.strerror or e}") from None


def write_recording(path: str | os.PathLike[str], ev: Evidence, **kw: Any) -> None:
    write_text(path, dump_recording(ev, **kw))


def objects_to_file(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cluster objects as a recording stores them: redacted, certificates as PEM text."""
    return [_readable_secret(_redact(o)) for o in objects]


def objects_from_file(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cluster objects read from a recording, back in the API's form and redacted again."""
    return [_redact(_kubernetes_secret(o)) for o in objects]


def read_recording_doc(path: str | os.PathLike[str], section: str | tuple[str, ...] = "evidence") -> dict[str, Any]:
    """The checked document of a recording; `section` is the body it must have
    ("evidence" for a check, "sweep" for a sweep), or a tuple of the bodies it may have
    (the first one names what is missing in the error)."""
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
    try:
        doc = yaml.load(text, Loader=_loader())
    except yaml.composer.ComposerError as e:
        if "single document" in str(e):
            raise RecordingError(f"{path}: several YAML documents, not an edgedoctor recording{_kubectl_hint(text)}") from None
        raise RecordingError(f"{path}: corrupt or truncated recording (YAML error)") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RecordingError(f"{path}: corrupt or truncated recording (YAML error{where})") from None
    except RecursionError:
        raise RecordingError(f"{path}: corrupt recording (nested too deeply)") from None
    if too_deep(doc):
        raise RecordingError(f"{path}: corrupt recording (nested more than {MAX_DEPTH} levels deep)")
    if not isinstance(doc, dict) or "edgedoctor_recording" not in doc:
        hint = _kubectl_hint(text) if isinstance(doc, dict) and "kind" in doc else ""
        raise RecordingError(f"{path}: not an edgedoctor recording (no edgedoctor_recording key){hint}")
    schema = doc.get("edgedoctor_recording")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise RecordingError(f"{path}: invalid recording schema {schema!r}")
    if schema > RECORDING_SCHEMA:
        raise RecordingError(
            f"{path}: recording schema {schema} is newer than this edgedoctor understands "
            f"({RECORDING_SCHEMA}); upgrade edgedoctor (recorded by {doc.get('tool_version', '?')})"
        )
    sections = (section,) if isinstance(section, str) else section
    if not any(isinstance(doc.get(s), dict) for s in sections):
        section = sections[0]
        if section == "evidence" and isinstance(doc.get("sweep"), dict):
            raise RecordingError(f"{path}: a recording of a sweep; replay it with `edgedoctor sweep --replay {path}`")
        if section == "sweep" and isinstance(doc.get("evidence"), dict):
            raise RecordingError(f"{path}: a recording of one check; replay it with `edgedoctor check HOST --replay {path}`")
        raise RecordingError(f"{path}: the recording has no {section} section (truncated?)")
    if doc.get("complete") is not True:
        # YAML cut between two lines still parses; only the end marker tells it was cut.
        raise RecordingError(f"{path}: truncated recording (no 'complete: true' at its end)")
    return doc


def _kubectl_hint(text: str) -> str:
    return "; Kubernetes objects (kubectl output) go to --snapshot" if "apiVersion:" in text and "kind:" in text else ""


def load_recording(path: str | os.PathLike[str], doc: dict[str, Any] | None = None) -> tuple[Evidence, dict[str, Any]]:
    """The evidence of a check's recording and its document; `doc` is the document
    read_recording_doc already returned for `path` (it is then not read again)."""
    if doc is None:
        doc = read_recording_doc(path)
    try:
        ev = Evidence.from_dict(doc["evidence"])
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        raise RecordingError(f"{path}: invalid evidence: {e}") from None
    from edgedoctor.hostname import HostnameError, normalize_host

    try:
        normalize_host(ev.host)
    except HostnameError as e:
        raise RecordingError(f"{path}: invalid evidence: the recorded host is not a hostname: {e}") from None
    if parse_rfc3339(ev.now, assume_utc=False) is None:
        raise RecordingError(f"{path}: invalid evidence: 'now' is {ev.now!r}, not an RFC 3339 time")
    try:
        ev.cluster.objects = [_redact(_kubernetes_secret(o)) for o in ev.cluster.objects]
    except (ValueError, TypeError, AttributeError) as e:
        raise RecordingError(f"{path}: invalid cluster object: {e}") from None
    # The source stays as recorded: a replay must give the original check's JSON.
    return ev, doc
