"""A sweep as one recording file: each context's cluster once, each host's probes.

```yaml
edgedoctor_recording: 1
kind: sweep
tool_version: 0.1.0
recorded_at: '2026-12-02T03:00:00Z'
sweep:
  contexts:
  - context: prod-01
    source: {kind: live, context: prod-01, cluster: prod-01}
    now: '2026-12-02T03:00:00Z'
    options: {offline: false, ...}
    unknown_reasons: []
    cluster: {...}               # as in a check's recording, read once for all hosts
    hosts:
    - {host: app.example.com, dns: {...}, tls: [...], http: [...]}
complete: true
```

Same rules as a check's recording (edgedoctor.recording): YAML a person can read, Secrets
reduced to their public certificate on the way out and again on the way in.
"""

from __future__ import annotations

import os
from typing import Any

from edgedoctor import __version__
from edgedoctor.evidence import ClusterEvidence
from edgedoctor.recording import (
    RECORDING_SCHEMA,
    RecordingError,
    dump_doc,
    objects_from_file,
    objects_to_file,
    read_recording_doc,
    write_text,
)


def sweep_doc(result: Any) -> dict[str, Any]:
    """The recording document of a SweepResult collected with keep_probes=True."""
    by_context: dict[Any, list[Any]] = {}
    for h in result.hosts:
        by_context.setdefault(h.context, []).append(h)
    contexts = []
    for c in result.contexts:
        cluster = c.cluster.to_dict() if c.cluster is not None else None
        if cluster is not None:
            cluster["objects"] = objects_to_file(cluster.get("objects") or [])
        contexts.append({
            "context": c.context,
            "source": c.source,
            "now": c.now,
            "options": c.options,
            "unknown_reasons": c.unknown_reasons,
            "cluster": cluster,
            **({"zones": c.zones} if c.zones is not None else {}),
            "hosts": [{"host": h.host, **(h.probes or {"dns": None, "tls": None, "http": None})}
                      for h in by_context.get(c.context, [])],
        })
    recorded_at = result.contexts[0].now if result.contexts else result.generated_at
    return {
        "edgedoctor_recording": RECORDING_SCHEMA,
        "kind": "sweep",
        "tool_version": __version__,
        "recorded_at": recorded_at,
        "sweep": {"contexts": contexts},
        "complete": True,
    }


def write_sweep_recording(path: str | os.PathLike[str], result: Any) -> None:
    write_text(path, dump_doc(sweep_doc(result)))


def load_sweep_recording(path: str | os.PathLike[str], now: str | None = None) -> list[Any]:
    """The sources (edgedoctor.fleet.source.Source) a sweep recording holds."""
    from edgedoctor.collect import EvidenceError, parse_now
    from edgedoctor.fleet.source import Source, SweepError

    override = None
    if now:
        try:
            override = parse_now(now)
        except EvidenceError as e:
            raise SweepError(str(e)) from None
    try:
        doc = read_recording_doc(path, section="sweep")
    except RecordingError as e:
        if "a recording of one check" not in str(e):
            raise SweepError(str(e)) from None
        return [_check_source(path, override)]
    contexts = doc["sweep"].get("contexts")
    if not isinstance(contexts, list):
        raise SweepError(f"{path}: invalid sweep recording: sweep.contexts must be a list")
    out = []
    for i, c in enumerate(contexts):
        if not isinstance(c, dict):
            raise SweepError(f"{path}: invalid sweep recording: context #{i + 1} is not a mapping")
        try:
            cluster = None
            if c.get("cluster") is not None:
                cluster = ClusterEvidence.from_dict(c["cluster"])
                cluster.objects = objects_from_file(cluster.objects)
            hosts: dict[str, dict[str, Any]] = {}
            for h in c.get("hosts") or []:
                if not isinstance(h, dict) or not isinstance(h.get("host"), str):
                    raise ValueError("a host entry without a host name")
                for key, typ in (("dns", dict), ("tls", list), ("http", list)):
                    if h.get(key) is not None and not isinstance(h[key], typ):
                        raise ValueError(f"{h['host']}: {key} must be a {typ.__name__}")
                hosts[h["host"]] = h
        except (ValueError, TypeError, AttributeError) as e:
            raise SweepError(f"{path}: invalid sweep recording: {e}") from None
        when = override or c.get("now")
        if not isinstance(when, str) or not when:
            raise SweepError(f"{path}: invalid sweep recording: context #{i + 1} has no time ('now')")
        out.append(Source(
            context=c.get("context"),
            source=_as_replay(dict(c.get("source") or {})),
            cluster=cluster,
            now=when,
            unknown_reasons=[str(r) for r in c.get("unknown_reasons") or []],
            recorded=hosts,
            options=dict(c.get("options") or {}),
            zones=[z for z in c["zones"] if isinstance(z, dict)] if isinstance(c.get("zones"), list) else None,
        ))
    return out


def _check_source(path: str | os.PathLike[str], now: str | None) -> Any:
    """A check's recording as a sweep of its one recorded host."""
    from edgedoctor.fleet.source import Source, SweepError
    from edgedoctor.recording import load_recording

    try:
        ev, _doc = load_recording(path)
    except RecordingError as e:
        raise SweepError(str(e)) from None
    return Source(context=ev.source.get("context") or ev.cluster.context, source=_as_replay(dict(ev.source)),
                   cluster=ev.cluster, now=now or ev.now, recorded={ev.host: {"dns": ev.dns, "tls": ev.tls, "http": ev.http}},
                   options=dict(ev.options))


def _as_replay(recorded: dict[str, Any]) -> dict[str, Any]:
    """As `check --replay` says it (collect.as_replay): a replay, the recorded source inside."""
    if recorded.get("kind") == "replay" and "recorded" in recorded:
        return recorded
    out: dict[str, Any] = {"kind": "replay", "recorded": recorded}
    if recorded.get("context") is not None:
        out["context"] = recorded["context"]
    return out
