"""Bad input: one clear line on stderr and exit 3 (or a node error while the rest goes on),
never a traceback."""

from __future__ import annotations

import json
import socket

import pytest

from tests.test_cli import BASE, NOW, run

HOSTS = [
    ("", "empty"),
    ("   ", "empty"),
    ("192.0.2.10", "IP literal"),
    ("[2001:db8::1]:443", "IP literal"),
    ("2001:db8::1", "IP literal"),
    ("a" * 64 + ".example.com", "63"),
    (".".join(["abcdefghij"] * 23) + ".com", "253"),
    ("app_1.example.com", "cannot be in a hostname"),
    ("app example.com", "cannot be in a hostname"),
    ("app-.example.com", "hyphen"),
    ("localhost", "single label"),
    ("app..example.com", "empty label"),
    ("*.example.com", "wildcard"),
    # IDNA 2008 (UTS 46): a label may not start with a combining mark; symbols are not letters.
    ("\u0301abc.example.com", "IDNA 2008"),
    ("\u2603.example.com", "IDNA 2008"),
    ("xn--abc.example.com", "not a valid A-label"),
    # A control character anywhere means the argument was cut wrongly: refuse, never trim.
    ("app.example\n.com", "control character"),
    ("app.example.com\n", "control character"),
    ("app.exa\x7fmple.com", "control character"),
    # A port the probes do not use would be dropped silently and another endpoint diagnosed.
    ("https://app.example.com:8443/", "port 8443"),
]


@pytest.mark.parametrize(("host", "words"), HOSTS)
def test_bad_hostnames(host, words):
    p = run("check", host, "--snapshot", BASE, "--offline")
    assert p.returncode == 3
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], p.stderr


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("https://App.Example.com:443/path?q=1", "app.example.com"), ("app.example.com.", "app.example.com"),
     ("bücher.example.com", "xn--bcher-kva.example.com"), ("HTTP://user@Shop.Example.COM", "shop.example.com"),
     # Non-transitional UTS 46: ß stays ß (IDNA 2003 would send strasse), full-width letters map.
     ("straße.example.test", "xn--strae-oqa.example.test"), ("ａｐｐ.Example.com", "app.example.com"),
     ("http://app.example.com:80/", "app.example.com")],
)
def test_pasted_hostnames_are_normalised(raw, expected):
    p = run("check", raw, "--snapshot", BASE, "--offline", "--now", NOW, "-o", "json")
    assert json.loads(p.stdout)["host"] == expected


def _write(tmp_path, name, data: bytes):
    f = tmp_path / name
    f.write_bytes(data)
    return str(f)


SNAPSHOTS = [
    ("missing", None, "no such file"),
    ("empty.yaml", b"", "empty file"),
    ("blank.yaml", b"\n  \n", "empty file"),
    ("binary.yaml", b"\x00\x01\x02\xff" * 100, "binary"),
    ("latin1.yaml", "kind: Gateway # caf\xe9".encode("latin-1"), "not UTF-8"),
    ("broken.yaml", b"kind: Gateway\nmetadata: {name: [unclosed\n", "not valid YAML"),
    ("broken.json", b'{"kind": "List", "items": [', "not valid YAML or JSON"),
    ("scalar.yaml", b"just a string\n", "no usable Kubernetes objects"),
    ("nokind.yaml", b"metadata: {name: x}\n", "no usable Kubernetes objects"),
    ("dir", "dir", "holds no .yaml"),
]


@pytest.mark.parametrize(("name", "data", "words"), SNAPSHOTS, ids=[s[0] for s in SNAPSHOTS])
def test_bad_snapshots(name, data, words, tmp_path):
    if data is None:
        path = str(tmp_path / "does-not-exist.yaml")
    elif data == "dir":
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "notes.txt").write_text("hello")
        path = str(tmp_path / "d")
    else:
        path = _write(tmp_path, name, data)
    p = run("check", "app.example.com", "--snapshot", path, "--offline", "-o", "json")
    assert p.returncode == 3, p.stderr
    assert "Traceback" not in p.stderr
    assert words in p.stderr
    assert json.loads(p.stdout)["verdict"] == "unknown"


def test_objects_with_wrong_types_give_node_errors_not_tracebacks(tmp_path):
    weird = b"""
apiVersion: v1
kind: List
items:
- {apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: {name: g, namespace: n},
   spec: {gatewayClassName: 7, listeners: "not-a-list"}, status: [1, 2]}
- {apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: {name: r, namespace: n},
   spec: {hostnames: app.example.com, parentRefs: {name: g}, rules: 5}}
- {apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {name: c, namespace: n},
   spec: {secretName: [x], dnsNames: 3}, status: {conditions: "Ready"}}
- {kind: Secret, metadata: {name: s, namespace: n}, data: {tls.crt: "!!!not base64"}}
- {kind: Deployment, metadata: {name: d, namespace: n}, spec: {template: {spec: {containers: [7, {image: 9}]}}}}
- {kind: Gateway, metadata: "no"}
"""
    path = _write(tmp_path, "weird.yaml", weird)
    p = run("check", "app.example.com", "--snapshot", path, "--offline", "--now", NOW, "-o", "json")
    assert "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    assert p.returncode in (2, 3)
    assert [n["node"] for n in doc["tree"]][0] == "dns"


def test_unknown_context_and_unreachable_api_server(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more
    kc = tmp_path / "config"
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: dead
  cluster: {{server: "http://127.0.0.1:{port}"}}
users:
- name: u
  user: {{token: not-a-real-token}}
contexts:
- name: dead
  context: {{cluster: dead, user: u}}
current-context: dead
""")
    p = run("check", "app.example.com", "--kubeconfig", str(kc), "--context", "nope", "--offline")
    assert p.returncode == 3 and "nope" in p.stderr and "Traceback" not in p.stderr
    p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--timeout", "5", "-o", "json")
    assert p.returncode == 3, p.stderr
    assert "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    assert doc["verdict"] == "unknown"
    assert "not-a-real-token" not in p.stdout + p.stderr


@pytest.mark.parametrize(
    "args",
    [["--nameserver", "not an address"], ["--resolve", "app.example.com:443"], ["--resolve", "app.example.com:x:1.2.3.4"],
     ["--now", "yesterday"], ["--timeout", "-1"], ["--ca-bundle", "/nonexistent/ca.pem"], ["--bogus-flag"]],
)
def test_bad_options(args):
    p = run("check", "app.example.com", "--snapshot", BASE, *args)
    assert p.returncode == 3
    assert "Traceback" not in p.stderr
    assert len([ln for ln in p.stderr.splitlines() if ln.startswith("edgedoctor:")]) == 1, p.stderr
