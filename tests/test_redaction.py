"""No secret value ever leaves edgedoctor: not into a recording, the text, the JSON or stderr.

Known values are planted in the cluster evidence, everywhere real clusters put them: a TLS
Secret's private key (a real key generated here), a Cloudflare token in a Secret's data and
stringData, a token in a Deployment's env and in a `--flag=value` argument, the
last-applied-configuration annotation holding a Secret, a kubeconfig's bearer token. Every
output of every way of running a check is searched for each value, raw and base64-encoded.
A credentials Secret is recorded as "exists, with keys [...]".
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests import casekit
from tests.fakeapi import FakeAPI

ROOT = Path(__file__).resolve().parents[1]
HOST = "app.example.com"

CF_TOKEN = "PLANTED-cf-token-3Jq9ZxV7"
STRINGDATA_TOKEN = "PLANTED-stringdata-token-Lm4t"
ENV_TOKEN = "PLANTED-env-token-Qp8w"
ENV_PASSWORD = "PLANTED-env-password-Rx2k"
ARG_TOKEN = "PLANTED-arg-token-Vb5n"
AES_KEY = "PLANTED-aes-key-Hs3d"
LAST_APPLIED_TOKEN = "PLANTED-last-applied-token-Wc6y"
LAST_APPLIED_PASSWORD = "PLANTED-last-applied-password-Ke1u"
KUBE_TOKEN = "PLANTED-kubeconfig-bearer-token-Gz0r"
PASSWORD = "PLANTED-secret-password-Ty7m"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


KEY_PEM = private_key_pem()  # generated per run, never stored
KEY_LINES = [ln for ln in KEY_PEM.splitlines() if ln and not ln.startswith("-----")]

PLANTED = [CF_TOKEN, STRINGDATA_TOKEN, ENV_TOKEN, ENV_PASSWORD, ARG_TOKEN, AES_KEY, LAST_APPLIED_TOKEN,
           LAST_APPLIED_PASSWORD, KUBE_TOKEN, PASSWORD]


def forbidden() -> list[str]:
    """Every planted value, raw and base64 (the form Secret data has), and the key's body."""
    out = []
    for v in PLANTED:
        out += [v, b64(v), b64(v)[:16]]
    out += KEY_LINES + [b64(KEY_PEM)[:40], "PRIVATE KEY"]
    return out


def assert_clean(where: str, text: str) -> None:
    leaks = [v for v in forbidden() if v in text]
    assert not leaks, f"{where} leaks {leaks[:3]}"


def planted_objects() -> list[dict[str, Any]]:
    objs = casekit.base_objects()
    by = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs}
    tls = by[("Secret", "gateway", "wildcard-example-com-tls")]
    cert_pem = base64.b64decode(tls["data"]["tls.crt"]).decode()
    tls["data"]["tls.key"] = b64(KEY_PEM)
    # A key pasted into tls.crt next to the certificate: only the CERTIFICATE block may stay.
    tls["data"]["tls.crt"] = b64(cert_pem + KEY_PEM)
    cf = by[("Secret", "cert-manager", "cloudflare-api-token")]
    cf["data"] = {"api-token": b64(CF_TOKEN)}
    cf["stringData"] = {"backup-token": STRINGDATA_TOKEN}
    cf["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cloudflare-api-token", "namespace": "cert-manager"},
        "data": {"api-token": b64(LAST_APPLIED_TOKEN)}, "stringData": {"password": LAST_APPLIED_PASSWORD}})}
    objs.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                 "metadata": {"name": "registry-login", "namespace": "shop"},
                 "data": {"password": b64(PASSWORD), ".dockerconfigjson": b64(json.dumps({"auths": {"r": {"auth": b64(PASSWORD)}}}))}})
    edns = by[("Deployment", "external-dns", "external-dns")]
    c = edns["spec"]["template"]["spec"]["containers"][0]
    c["env"] = c.get("env", []) + [{"name": "CF_API_TOKEN_FALLBACK", "value": ENV_TOKEN},
                                   {"name": "DATABASE_PASSWORD", "value": ENV_PASSWORD},
                                   {"name": "LOG_LEVEL", "value": "info"}]
    c["args"] = c["args"] + [f"--cloudflare-api-token={ARG_TOKEN}", f"--txt-encrypt-aes-key={AES_KEY}"]
    return objs


def run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgedoctor", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})


def read_any(path: Path) -> str:
    raw = path.read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("redaction")
    return casekit.write_snapshot(planted_objects(), tmp / "planted.yaml")


# (id, argv builder, recording file name or None)
RUNS = [
    ("check-json-record", lambda s, r: ["check", HOST, "--snapshot", str(s), "--offline", "-o", "json", "--record", str(r)], "a.yaml"),
    ("check-text-record", lambda s, r: ["check", HOST, "--snapshot", str(s), "--offline", "-o", "text", "--record", str(r)], "b.yaml"),
    ("record-gzip", lambda s, r: ["record", HOST, "--snapshot", str(s), "--offline", "--file", str(r)], "c.yaml.gz"),
    ("other-host-json", lambda s, r: ["check", "cf.example.com", "--snapshot", str(s), "--offline", "-o", "json"], None),
]


@pytest.mark.parametrize(("rid", "argv", "rec"), RUNS, ids=[r[0] for r in RUNS])
def test_no_secret_in_any_output(snapshot, tmp_path, rid, argv, rec):
    path = tmp_path / rec if rec else None
    proc = run(argv(snapshot, path))
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert_clean(f"{rid} stdout", proc.stdout)
    assert_clean(f"{rid} stderr", proc.stderr)
    if path is None:
        return
    text = read_any(path)
    assert_clean(f"{rid} recording", text)
    # The replay of that recording, in both formats.
    for fmt in ("json", "text"):
        rp = run(["check", HOST, "--replay", str(path), "-o", fmt])
        assert rp.returncode == proc.returncode, rp.stderr
        assert_clean(f"{rid} replay {fmt}", rp.stdout + rp.stderr)


def test_credentials_secret_is_recorded_as_keys_only(snapshot, tmp_path):
    rec = tmp_path / "keys.yaml"
    proc = run(["check", HOST, "--snapshot", str(snapshot), "--offline", "-o", "json", "--record", str(rec)])
    assert proc.returncode in (0, 1, 2), proc.stderr
    objs = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load(rec.read_text())["evidence"]["cluster"]["objects"]}
    cf = objs[("Secret", "cloudflare-api-token")]
    assert cf["redacted"] is True and cf["data"] == {} and "stringData" not in cf
    assert cf["keys"] == ["api-token", "backup-token"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in (cf["metadata"].get("annotations") or {})
    tls = objs[("Secret", "wildcard-example-com-tls")]
    assert tls["keys"] == ["tls.crt", "tls.key"] and list(tls["data"]) == ["tls.crt"]
    assert tls["data"]["tls.crt"].count("BEGIN CERTIFICATE") == 2  # the chain stays, the pasted key does not
    env = {e["name"]: e for e in objs[("Deployment", "external-dns")]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LOG_LEVEL"]["value"] == "info"  # harmless values stay readable
    assert env["CF_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "cloudflare-api-token", "key": "api-token"}


def test_live_check_with_kubeconfig_token(tmp_path):
    """The live path: the API serves the planted objects; the kubeconfig holds a bearer token."""
    with FakeAPI(planted_objects(), token=KUBE_TOKEN) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kube" / "config")
        assert KUBE_TOKEN in kubeconfig.read_text()
        rec = tmp_path / "live.yaml"
        proc = run(["check", HOST, "--kubeconfig", str(kubeconfig), "--offline", "-o", "json", "--record", str(rec)])
        assert proc.returncode in (0, 1, 2), proc.stderr
        assert json.loads(proc.stdout)["source"]["kind"] == "live"
        assert_clean("live stdout", proc.stdout)
        assert_clean("live stderr", proc.stderr)
        assert_clean("live recording", rec.read_text())
        # A failing context (wrong token) must not echo the token either.
        bad = run(["check", HOST, "--kubeconfig", str(kubeconfig), "--context", "badtoken", "--offline", "-o", "json"])
        assert_clean("badtoken output", bad.stdout + bad.stderr)


def test_hand_edited_recording_cannot_smuggle_secrets(snapshot, tmp_path):
    """A recording whose objects were pasted in unredacted: the replay redacts them on load."""
    rec = tmp_path / "clean.yaml"
    assert run(["record", HOST, "--snapshot", str(snapshot), "--offline", "--file", str(rec)]).returncode in (0, 1, 2)
    doc = yaml.safe_load(rec.read_text())
    doc["evidence"]["cluster"]["objects"] = copy.deepcopy(planted_objects())
    smuggled = tmp_path / "smuggled.yaml"
    smuggled.write_text(yaml.safe_dump(doc))
    assert CF_TOKEN not in smuggled.read_text() and b64(CF_TOKEN) in smuggled.read_text()
    for fmt in ("json", "text"):
        rp = run(["check", HOST, "--replay", str(smuggled), "-o", fmt])
        assert rp.returncode in (0, 1, 2), rp.stderr
        assert_clean(f"smuggled replay {fmt}", rp.stdout + rp.stderr)
    # Re-recording a replay writes the redacted objects only.
    again = tmp_path / "again.yaml"
    assert run(["check", HOST, "--replay", str(smuggled), "-o", "json", "--record", str(again)]).returncode in (0, 1, 2)
    assert_clean("re-recorded replay", again.read_text())


def test_the_search_would_find_a_leak():
    """The searched forms match what a leak looks like (the test is not blind)."""
    with pytest.raises(AssertionError):
        assert_clean("probe", f"data: {{api-token: {b64(CF_TOKEN)}}}")
    with pytest.raises(AssertionError):
        assert_clean("probe", KEY_LINES[1])


# Arguments that once slipped past edgedoctor.redact: each must stay closed.
GAPS = [
    ("separate-arg", lambda c: c.__setitem__("args", c["args"] + ["--cloudflare-api-token", ARG_TOKEN]),
     "a `--flag VALUE` argument (two list items) is not redacted, only `--flag=VALUE`"),
    ("shell-command", lambda c: c.__setitem__("command", ["/bin/sh", "-c", f"exec external-dns --cloudflare-api-token={ARG_TOKEN}"]),
     "a token inside a `sh -c` command line is not redacted"),
]


@pytest.mark.parametrize(("gid", "edit"), [pytest.param(g, e, id=g) for g, e, _why in GAPS])
def test_known_redaction_gaps(tmp_path, gid, edit):
    objs = planted_objects()
    dep = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "external-dns")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container["args"] = [a for a in container["args"] if ARG_TOKEN not in a]
    edit(container)
    snap = casekit.write_snapshot(objs, tmp_path / "gap.yaml")
    rec = tmp_path / "gap-rec.yaml"
    proc = run(["check", HOST, "--snapshot", str(snap), "--offline", "-o", "json", "--record", str(rec)])
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert_clean(f"{gid} recording and JSON", rec.read_text() + proc.stdout)


def test_workload_last_applied_configuration_is_not_a_side_door(tmp_path):
    """kubectl apply keeps the whole manifest, env values included, in an annotation."""
    objs = planted_objects()
    dep = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "external-dns")
    manifest = copy.deepcopy(dep)
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "CF_API_TOKEN", "value": LAST_APPLIED_TOKEN}]
    dep["metadata"].setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(manifest)
    snap = casekit.write_snapshot(objs, tmp_path / "applied.yaml")
    rec = tmp_path / "applied-rec.yaml"
    proc = run(["check", HOST, "--snapshot", str(snap), "--offline", "-o", "json", "--record", str(rec)])
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert_clean("applied recording", rec.read_text())


# ---------------------------------------------------------------- tls.key: checked, never kept

def _pair_objects(key_text: str | None) -> tuple[list[dict[str, Any]], str, str]:
    """The base cluster whose listener Secret holds a fresh certificate and `key_text` as
    tls.key (None: the certificate's own key). Returns the objects, the certificate's key
    and the key placed (both generated per run, never stored)."""
    import datetime as dt

    from tests.servers.pki import TestCA

    ca = TestCA(now=dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
    leaf = ca.leaf(["*.example.com", "example.com"])
    placed = leaf.key_pem if key_text is None else key_text
    objs = casekit.base_objects()
    tls = next(o for o in objs if o["kind"] == "Secret" and o["metadata"]["name"] == "wildcard-example-com-tls")
    tls["type"] = "kubernetes.io/tls"
    tls["data"] = {"tls.crt": b64(leaf.fullchain_pem), "tls.key": b64(placed)}
    return objs, leaf.key_pem, placed


def _key_forms(pem: str) -> list[str]:
    body = [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")]
    return body + ([b64(pem)[:40]] if pem else [])


@pytest.mark.parametrize(("case", "key_text", "verdict"), [
    ("matching", None, {"present": True, "pem": True, "matches_certificate": True}),
    ("another-key", private_key_pem(), {"present": True, "pem": True, "matches_certificate": False,
                                        "problem": "tls.key is not the key of the certificate in tls.crt"}),
    ("empty", "", {"present": False, "problem": "tls.key is empty"}),
])
def test_tls_key_is_checked_at_read_time_and_only_the_verdict_kept(tmp_path, case, key_text, verdict):
    objs, own_key, placed = _pair_objects(key_text)
    snap = casekit.write_snapshot(objs, tmp_path / "pair.yaml")
    rec = tmp_path / "pair-rec.yaml"
    proc = run(["check", HOST, "--snapshot", str(snap), "--offline", "--now", casekit.NOW, "-o", "json",
                "--record", str(rec)])
    out = json.loads(proc.stdout)
    recorded = {(o["kind"], o["metadata"]["name"]): o
                for o in yaml.safe_load(rec.read_text())["evidence"]["cluster"]["objects"]}
    secret = recorded[("Secret", "wildcard-example-com-tls")]
    assert secret["tls_key"] == verdict
    assert list(secret["data"]) == ["tls.crt"] and "tls.key" in secret["keys"]
    codes = [f["code"] for f in out["findings"]]
    if "problem" in verdict:
        assert out["verdict"] == "critical" and out["root_cause"]["code"] == "cert-secret-invalid", out["root_cause"]
        assert next(n for n in out["tree"] if n["node"] == "secret")["status"] == "fail"
    else:
        assert "cert-secret-invalid" not in codes
    # Neither the certificate's key nor the one placed appears anywhere, in any form.
    for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("recording", rec.read_text())):
        leaks = [v for v in _key_forms(own_key) + _key_forms(placed) + ["PRIVATE KEY"] if v in text]
        assert not leaks, f"{case} {where} leaks {leaks[:2]}"
    # The replay gives the same answer from the verdict alone.
    rp = run(["check", HOST, "--replay", str(rec), "-o", "json"])
    assert json.loads(rp.stdout)["verdict"] == out["verdict"]


def test_key_check_returns_no_key_material():
    from edgedoctor.redact import key_check, redact_object

    objs, own_key, _ = _pair_objects(None)
    tls = next(o for o in objs if o["kind"] == "Secret" and o["metadata"]["name"] == "wildcard-example-com-tls")
    check = key_check(tls["data"], {}, tls["type"])
    assert check == {"present": True, "pem": True, "matches_certificate": True}
    text = json.dumps(redact_object(copy.deepcopy(tls)))
    assert not [v for v in _key_forms(own_key) if v in text]
    # stringData (hand-written manifests) is checked the same way.
    assert key_check({}, {"tls.crt": base64.b64decode(tls["data"]["tls.crt"]).decode(), "tls.key": own_key},
                     "kubernetes.io/tls")["matches_certificate"] is True
    # Not a certificate Secret: nothing to pair, nothing parsed.
    assert key_check({"api-token": b64(CF_TOKEN)}, {}, "Opaque") is None
