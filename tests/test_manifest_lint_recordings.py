"""Predictions from the specs agree with what the controllers wrote in the recordings.

Every recording in recordings/ holds objects with the statuses Envoy Gateway and
cert-manager wrote. Stripped of those statuses, the objects go through lint's prediction;
where the outcome is decided by the specs (route attachment, ReferenceGrants, listener
conflicts, whether anything writes a listener's Secret), the prediction must be what the
controller wrote. Outcomes that depend on the running cluster (a certificate not issued
yet, a listener Envoy Gateway marks not ready) are counted, not compared.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from edgedoctor.diagnosis.index import (
    ClusterIndex,
    as_dict,
    as_list,
    condition,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.evidence import ClusterEvidence
from edgedoctor.lint.predict import predict_statuses, route_parent_verdicts, secret_writers
from edgedoctor.recording import load_recording

RECORDINGS = sorted((Path(__file__).resolve().parent.parent / "recordings").glob("*.yaml"))


def _stripped(objects):
    out = []
    for o in objects:
        c = copy.deepcopy(o)
        c.pop("status", None)
        out.append(c)
    return out


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_predictions_agree_with_recorded_statuses(path):
    ev, _doc = load_recording(path)
    recorded = {(o.get("kind"), ns_of(o), name_of(o)): o for o in ev.cluster.objects}
    objects = _stripped(ev.cluster.objects)
    predict_statuses(objects)
    idx = ClusterIndex(ClusterEvidence(objects=objects, kinds_read=sorted({str(o.get("kind")) for o in objects})))
    writers = secret_writers(objects)
    compared = 0
    for o in objects:
        rec = recorded[(o.get("kind"), ns_of(o), name_of(o))]
        if o.get("kind") == "Gateway":
            got = {str(ls.get("name")): ls for ls in as_list(status(o).get("listeners"))}
            for ls in as_list(status(rec).get("listeners")):
                want = condition(as_dict(ls).get("conditions"), "ResolvedRefs")
                mine = condition(got[str(ls.get("name"))]["conditions"], "ResolvedRefs")
                if want is None:
                    continue
                compared += 1
                if want["status"] == "True" or want.get("reason") == "RefNotPermitted":
                    assert (mine["status"], mine["reason"]) == (want["status"], want["reason"]), (name_of(o), ls.get("name"), mine)
                elif mine["status"] == "True":
                    # Recorded unusable, predicted resolvable: only when something writes or
                    # holds the Secret (issuance pending, or an expired certificate: run time).
                    spec_ls = next(x for x in as_list(spec(o).get("listeners")) if x.get("name") == ls.get("name"))
                    ref = as_list(as_dict(spec_ls.get("tls")).get("certificateRefs"))[0]
                    key = (str(ref.get("namespace") or ns_of(o)), str(ref.get("name")))
                    assert want["reason"] == "InvalidCertificateRef" and writers.get(key), (name_of(o), key)
                else:
                    assert mine["reason"] == want["reason"]
                wc = condition(as_dict(ls).get("conditions"), "Conflicted")
                if wc is not None:
                    mc = condition(got[str(ls.get("name"))]["conditions"], "Conflicted")
                    assert mc["status"] == wc["status"]
        elif o.get("kind") in ("HTTPRoute", "GRPCRoute"):
            verdicts = route_parent_verdicts(idx, o)
            for entry in as_list(status(rec).get("parents")):
                acc = condition(as_dict(entry).get("conditions"), "Accepted")
                if acc is None or acc.get("reason") == "NoReadyListeners":
                    continue  # Envoy Gateway's own verdict on a listener whose Secret is missing
                pref = as_dict(entry.get("parentRef"))
                match = [v for v in verdicts if v[0].get("name") == pref.get("name")
                         and (v[0].get("sectionName") or None) == (pref.get("sectionName") or None)]
                assert match, (name_of(o), pref)
                compared += 1
                _p, accepted, reason = match[0]
                assert accepted == (acc["status"] == "True"), (name_of(o), pref, reason, acc)
                if not accepted:
                    assert reason == acc["reason"]
        elif o.get("kind") == "GatewayClass":
            want = condition(status(rec).get("conditions"), "Accepted")
            mine = condition(status(o).get("conditions"), "Accepted")
            if want is not None and want["status"] != "True":
                # A class nobody accepts is predicted only when the controllers are visible.
                compared += 1
                assert mine["status"] == "False", name_of(o)
    assert compared > 0, "a recording with no comparable status"


# Kinds the controllers create at run time: never in Git.
RUNTIME_KINDS = {"Secret", "CertificateRequest", "Order", "Challenge", "EndpointSlice", "Endpoints", "Event", "Pod",
                 "ReplicaSet"}
# Root causes decided by the specs alone; the others need the running cluster (DNS answers,
# served certificates, ACME errors, ready Pods, the load balancer's address).
FROM_SPECS = {
    "gatewayclass-not-accepted", "route-not-accepted", "route-shadowed-by-wildcard", "route-conflict",
    "route-backend-unresolved", "redirect-missing", "proxy-protocol-mismatch", "dns-no-record",
    "dns-internal-split-horizon", "cert-refgrant-missing", "cert-secret-name-mismatch", "cert-san-mismatch",
    "cert-solver-no-match", "cert-staging-issuer", "cert-cloudflare-7003-cleanup", "cert-manager-v1160-issuer-namespace",
}
# Same code, cause at run time: the Service exists, its Pods are scaled to zero.
RUN_TIME_CAUSE = {"route-backend-no-endpoints-offline"}


def _as_manifests(objects, tmp_path):
    """The recording's objects as they would be in Git: no status, no server fields, none
    of the objects controllers create (Envoy Gateway's own Services and Deployments)."""
    import yaml

    out = []
    for o in objects:
        labels = (o.get("metadata") or {}).get("labels") or {}
        if o.get("kind") in RUNTIME_KINDS or any(k.startswith("gateway.envoyproxy.io/owning") for k in labels):
            continue
        c = copy.deepcopy(o)
        c.pop("status", None)
        for k in ("uid", "resourceVersion", "managedFields", "ownerReferences", "generation"):
            c.get("metadata", {}).pop(k, None)
        out.append(c)
    p = tmp_path / "rendered.yaml"
    p.write_text(yaml.safe_dump_all(out, sort_keys=False))
    return str(p)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_incidents_visible_in_git_are_caught_by_lint(path, tmp_path):
    """The library's incidents whose cause is in the specs are caught from the manifests
    alone; healthy edges lint clean."""
    from edgedoctor.lint.load import load_manifests
    from edgedoctor.lint.run import lint_manifests

    ev, doc = load_recording(path)
    expected = doc.get("expected") or {}
    code = expected.get("root_cause")
    results = {r.host: r for r in lint_manifests(load_manifests([_as_manifests(ev.cluster.objects, tmp_path)]))}
    if expected.get("verdict") == "ok":
        r = results[ev.host]
        assert (r.verdict, r.findings) == ("ok", []), [f.to_dict() for f in r.findings]
    elif code in FROM_SPECS and path.stem not in RUN_TIME_CAUSE:
        r = results[ev.host]
        assert code in [f.code for f in r.findings], (code, [f.to_dict() for f in r.findings])
        f = next(f for f in r.findings if f.code == code)
        assert f.location is not None and f.location.line >= 1
    else:
        pytest.skip(f"{code}: decided by the running cluster, not by the specs")
