"""A small fake kube-apiserver for tests: real HTTP(S) on 127.0.0.1, real client.

It serves the kinds of edgedoctor.kinds (LIST with paging, GET, discovery), takes
writes (POST, PUT incl. /status, PATCH merge/json/strategic, DELETE) honouring
`dryRun=All` (for DELETE from the DeleteOptions body when one is sent, as kube-apiserver
does), answers SelfSubjectAccessReviews from a configurable policy, and can
be told to fail: 403, 404 (CRD not installed), 500, or hang until shutdown.

    with FakeAPI(objects) as api:
        kubeconfig = api.kubeconfig(tmp_path / "config")   # contexts fake, dead, badtoken
        api.fail(kind="Certificate", status=403)
        ev = read_live(kubeconfig=str(kubeconfig), timeout=5)
        assert api.writes == []

It is the server, so it stores Secrets as given: tests must only use fake values.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import http.server
import json
import socket
import ssl
import tempfile
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from edgedoctor.kinds import KINDS, Kind

FAKE_TOKEN = "fake-token-for-tests-only"
AUTHZ_GROUP = "authorization.k8s.io"
SSAR_PATH = f"/apis/{AUTHZ_GROUP}/v1/selfsubjectaccessreviews"
SSR_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
# Who the fake server says its token is (SelfSubjectReview), as a real one names a user.
FAKE_USER = "fake-user"
# Kinds whose items a real apiserver LISTs without apiVersion/kind.
_BUILTIN_GROUPS = ("", "apps", "discovery.k8s.io")
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class _Error(Exception):
    def __init__(
        self, code: int, message: str, details: dict[str, Any] | None = None, reason: str = ""
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.reason = reason or _REASONS.get(code, "Unknown")


class _Hang(Exception):
    pass


def status_body(
    code: int, message: str, reason: str = "", details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
        "details": details or {},
        "code": code,
    }


# ---------------------------------------------------------------- patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _Error(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    for p in parts:
        if isinstance(doc, dict) and p in doc:
            doc = doc[p]
        elif isinstance(doc, list) and p.isdigit() and int(p) < len(doc):
            doc = doc[int(p)]
        else:
            raise _Error(422, f"jsonpatch: doc is missing path: {path}")
    return doc


def _json_patch_op(doc: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    path = op.get("path")
    if not isinstance(path, str):
        raise _Error(422, "jsonpatch: operation without a path")
    parts = _pointer(path)
    if kind in ("move", "copy"):
        src = op.get("from")
        if not isinstance(src, str):
            raise _Error(422, f"jsonpatch {kind}: missing from")
        value = copy.deepcopy(_walk(doc, _pointer(src), src))
        if kind == "move":
            doc = _json_patch_op(doc, {"op": "remove", "path": src})
        return _json_patch_op(doc, {"op": "add", "path": path, "value": value})
    if kind == "test":
        if _walk(doc, parts, path) != op.get("value"):
            raise _Error(422, f"jsonpatch test operation does not apply: {path}")
        return doc
    if not parts:
        if kind in ("add", "replace"):
            return copy.deepcopy(op.get("value"))
        raise _Error(422, "jsonpatch: cannot remove the whole document")
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if kind == "add":
        if isinstance(parent, dict):
            parent[last] = copy.deepcopy(op.get("value"))
        elif isinstance(parent, list):
            if last == "-":
                parent.append(copy.deepcopy(op.get("value")))
            elif last.isdigit() and int(last) <= len(parent):
                parent.insert(int(last), copy.deepcopy(op.get("value")))
            else:
                raise _Error(422, f"jsonpatch add operation does not apply: {path}")
        else:
            raise _Error(422, f"jsonpatch add operation does not apply: {path}")
        return doc
    if kind in ("remove", "replace"):
        if isinstance(parent, dict) and last in parent:
            if kind == "remove":
                del parent[last]
            else:
                parent[last] = copy.deepcopy(op.get("value"))
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            if kind == "remove":
                del parent[int(last)]
            else:
                parent[int(last)] = copy.deepcopy(op.get("value"))
        else:
            raise _Error(
                422, f"jsonpatch {kind} operation does not apply: doc is missing key: {path}"
            )
        return doc
    raise _Error(422, f"jsonpatch: unknown operation {kind!r}")


def json_patch(doc: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch."""
    if not isinstance(ops, list):
        raise _Error(400, "json patch body must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise _Error(422, "jsonpatch: operation must be an object")
        doc = _json_patch_op(doc, op)
    return doc


# ---------------------------------------------------------------- faults and policy


@dataclass
class _Fault:
    kind: str | None = None
    path: str | None = None
    verb: str | None = None
    status: int | None = None
    message: str | None = None
    hang: bool = False
    dry_run_only: bool = False
    everything: bool = False


@dataclass
class _Route:
    kind: Kind | None  # None for discovery and access reviews
    version: str = ""
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""
    special: str = ""  # "version", "discovery", "ssar", "ssr"


@dataclass
class _Deny:
    verb: str
    resource: str
    group: str | None = None
    namespace: str | None = None
    name: str | None = None


@dataclass
class ContextSpec:
    """One kubeconfig context for write_kubeconfig."""

    name: str
    server: str
    token: str = FAKE_TOKEN
    ca_pem: bytes | None = None
    cluster: str | None = None
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def write_kubeconfig(path: str | Path, contexts: list[ContextSpec], current: str | None) -> Path:
    """A kubeconfig file with one cluster and one token user per context."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    if current is not None:
        doc["current-context"] = current
    for c in contexts:
        cluster_name = c.cluster or f"{c.name}-cluster"
        user_name = c.user or f"{c.name}-user"
        cluster: dict[str, Any] = {"server": c.server}
        if c.ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(c.ca_pem).decode()
        cluster.update(c.extra)
        doc["clusters"].append({"name": cluster_name, "cluster": cluster})
        doc["users"].append({"name": user_name, "user": {"token": c.token}})
        doc["contexts"].append(
            {"name": c.name, "context": {"cluster": cluster_name, "user": user_name}}
        )
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca_and_cert(
    directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> tuple[bytes, Path, Path]:
    """A throwaway CA and a server certificate for `hosts`; returns (ca_pem, cert_file, key_file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-apiserver-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file = directory / "apiserver.crt"
    key_file = directory / "apiserver.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file


def load_objects(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Objects of kubectl -o yaml/json files, Lists flattened, NOT redacted (this is the server)."""
    from edgedoctor.snapshot import _files, _parse, _read_file

    out: list[dict[str, Any]] = []

    def flatten(doc: Any, item_kind: str | None = None) -> None:
        if isinstance(doc, list):
            for d in doc:
                flatten(d)
            return
        if not isinstance(doc, dict):
            return
        kind = doc.get("kind") or item_kind
        if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                flatten(item, kind[: -len("List")] if kind != "List" else None)
            return
        if kind and (doc.get("metadata") or {}).get("name"):
            out.append({**doc, "kind": kind})

    for p in paths:
        for f in _files(Path(p)):
            for doc in _parse(f, _read_file(f)):
                flatten(doc)
    return out


# ---------------------------------------------------------------- the server


class FakeAPI:
    """A kube-apiserver stand-in; use as a context manager (start/stop)."""

    def __init__(
        self,
        objects: Iterable[dict[str, Any]] = (),
        *,
        token: str | None = FAKE_TOKEN,
        tls: bool = False,
        extra_kinds: Iterable[Kind] = (),
    ) -> None:
        self.token = token
        self.tls = tls
        self.kinds: dict[str, Kind] = {k.kind: k for k in (*KINDS, *extra_kinds)}
        self._by_resource: dict[tuple[str, str], Kind] = {
            (k.group, k.plural): k for k in self.kinds.values()
        }
        self.served: dict[str, tuple[str, ...]] = {k.kind: k.versions for k in self.kinds.values()}
        self._lock = threading.RLock()
        self._store: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._rv = 1000
        self._faults: list[_Fault] = []
        self._denies: list[_Deny] = []
        self.writes: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.access_reviews: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_pem: bytes | None = None
        for obj in objects:
            self.add(obj)

    @classmethod
    def from_snapshot(cls, paths: Iterable[str | Path], **kwargs: Any) -> FakeAPI:
        return cls(load_objects(paths), **kwargs)

    # -- lifecycle

    def __enter__(self) -> FakeAPI:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.api = self
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="fakeapi-")
            self.ca_pem, cert_file, key_file = make_ca_and_cert(Path(self._tmp.name))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert_file, key_file)
            # Handshake in the handler thread, so a client that fails it blocks nobody.
            self._httpd.socket = ctx.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fakeapi",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()  # joins the handler threads
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "FakeAPI not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # -- kubeconfig

    def context_spec(
        self, name: str = "fake", token: str | None = None, **kwargs: Any
    ) -> ContextSpec:
        return ContextSpec(
            name=name,
            server=self.url,
            token=token if token is not None else (self.token or "none"),
            ca_pem=self.ca_pem,
            **kwargs,
        )

    def kubeconfig(
        self, path: str | Path, *, current: str | None = "fake", extra: Iterable[ContextSpec] = ()
    ) -> Path:
        """Contexts: fake (this server), dead (a closed port), badtoken (this server, wrong token)."""
        return write_kubeconfig(
            path,
            [
                self.context_spec("fake"),
                ContextSpec("dead", f"http://127.0.0.1:{dead_port()}"),
                self.context_spec("badtoken", token="wrong-token"),
                *extra,
            ],
            current,
        )

    # -- objects

    def _kind_of(self, obj: dict[str, Any]) -> Kind:
        kind = self.kinds.get(str(obj.get("kind")))
        if kind is None:
            raise ValueError(f"FakeAPI does not serve kind {obj.get('kind')!r} (pass extra_kinds=)")
        return kind

    def _key(self, kind: Kind, namespace: str | None, name: str) -> tuple[str, str, str]:
        return (kind.kind, (namespace or "") if kind.namespaced else "", name)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as is (plus the metadata the server fills in)."""
        kind = self._kind_of(obj)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError("object without metadata.name")
        if kind.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        obj.setdefault(
            "apiVersion", f"{kind.group}/{kind.versions[0]}" if kind.group else kind.versions[0]
        )
        with self._lock:
            self._stamp(obj)
            self._store[self._key(kind, meta.get("namespace"), meta["name"])] = obj
        return copy.deepcopy(obj)

    def _stamp(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        meta["resourceVersion"] = self._next_rv()

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        k = self.kinds[kind]
        with self._lock:
            obj = self._store.get(self._key(k, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(o)
                for (k, _, _), o in sorted(self._store.items())
                if kind in (None, k)
            ]

    # -- faults and policy

    def fail(
        self,
        kind: str | None = None,
        *,
        path: str | None = None,
        verb: str | None = None,
        status: int | None = None,
        hang: bool = False,
        message: str | None = None,
    ) -> None:
        """Requests for `kind` (or under `path`; optionally only `verb`) answer `status` or hang.

        status=404 on a kind is "CRD not installed": every version is gone, discovery too.
        """
        if kind is None and path is None:
            raise ValueError("fail() needs kind= or path=; use fail_all() for everything")
        if kind is not None and kind not in self.kinds:
            raise ValueError(f"unknown kind {kind!r}")
        if status is None and not hang:
            raise ValueError("fail() needs status= or hang=True")
        with self._lock:
            self._faults.append(
                _Fault(kind=kind, path=path, verb=verb, status=status, message=message, hang=hang)
            )

    def fail_all(
        self, *, status: int | None = None, hang: bool = False, message: str | None = None
    ) -> None:
        if status is None and not hang:
            raise ValueError("fail_all() needs status= or hang=True")
        with self._lock:
            self._faults.append(_Fault(status=status, message=message, hang=hang, everything=True))

    def fail_dry_run(
        self, kind: str, status: int = 422, message: str | None = None, verb: str | None = None
    ) -> None:
        """Dry-run writes of `kind` are refused (as an admission webhook or validation would)."""
        with self._lock:
            self._faults.append(
                _Fault(kind=kind, verb=verb, status=status, message=message, dry_run_only=True)
            )

    def serve_versions(self, kind: str, versions: Iterable[str]) -> None:
        """Serve `kind` under these versions only (an older CRD, say)."""
        self.served[kind] = tuple(versions)

    def deny(
        self,
        verb: str,
        resource: str,
        *,
        group: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
    ) -> None:
        """SelfSubjectAccessReviews for this verb on this resource (plural) answer allowed: false."""
        with self._lock:
            self._denies.append(_Deny(verb, resource, group, namespace, name))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._denies.clear()

    def _fault_for(
        self, path: str, route: _Route | None, verb: str, dry_run: bool
    ) -> _Fault | None:
        with self._lock:
            faults = list(self._faults)
        for f in faults:
            if f.dry_run_only and not dry_run:
                continue
            if f.verb is not None and f.verb != verb:
                continue
            if f.everything:
                return f
            if f.path is not None and path.startswith(f.path):
                return f
            if (
                f.kind is not None
                and route is not None
                and route.kind is not None
                and route.kind.kind == f.kind
            ):
                return f
        return None

    # -- request handling

    def _route(self, path: str) -> _Route:
        parts = [p for p in path.split("/") if p]
        if path.rstrip("/") == "/version":
            return _Route(None, special="version")
        if (
            parts in (["api"], ["apis"])
            or (parts[:1] == ["api"] and len(parts) == 2)
            or (parts[:1] == ["apis"] and len(parts) in (2, 3))
        ):
            return _Route(None, special="discovery")
        if path.rstrip("/") == SSAR_PATH:
            return _Route(None, special="ssar")
        if path.rstrip("/") == SSR_PATH:
            return _Route(None, special="ssr")
        if parts[:1] == ["api"]:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"]:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _Error(404, "the server could not find the requested resource")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and (group, rest[2]) in self._by_resource:
            namespace, rest = rest[1], rest[2:]
        if not rest or (group, rest[0]) not in self._by_resource:
            raise _Error(404, "the server could not find the requested resource")
        kind = self._by_resource[(group, rest[0])]
        if kind.namespaced is False and namespace is not None:
            raise _Error(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3 or sub not in ("", "status"):
            raise _Error(404, "the server could not find the requested resource")
        return _Route(kind, version, namespace, name, sub)

    def _not_served(self, route: _Route) -> bool:
        assert route.kind is not None
        return route.version not in self.served.get(route.kind.kind, ())

    def handle(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        split = urlsplit(raw_path)
        path = split.path
        query = parse_qs(split.query)
        dry_run = "All" in query.get("dryRun", [])
        delete_options: dict[str, Any] = {}
        if method == "DELETE" and body:
            # As kube-apiserver (apiserver/pkg/endpoints/handlers/delete.go): a DELETE that
            # sends a body takes its DeleteOptions from the body alone; the query is ignored.
            parsed_options = _json_body(body)
            if not isinstance(parsed_options, dict):
                raise _Error(400, "the DeleteOptions body is not an object")
            delete_options = parsed_options
            dry_run = "All" in (delete_options.get("dryRun") or [])
        with self._lock:
            self.requests.append(
                {"method": method, "path": path, "query": {k: v[-1] for k, v in query.items()}}
            )
        if self.token is not None:
            auth = headers.get("Authorization") or ""
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "bearer" or value.strip() != self.token:
                raise _Error(401, "Unauthorized")
        route: _Route | None
        try:
            route = self._route(path)
        except _Error:
            route = None
        verb = _verb(method, route)
        fault = self._fault_for(path, route, verb, dry_run)
        if fault is not None:
            if fault.hang:
                raise _Hang()
            assert fault.status is not None
            raise _Error(
                fault.status, fault.message or self._default_message(fault.status, route, verb)
            )
        if route is None:
            raise _Error(404, "the server could not find the requested resource")
        if route.special == "version":
            return 200, {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-fake",
                "platform": "linux/amd64",
            }
        if route.special == "discovery":
            return 200, self._discovery(path)
        if route.special == "ssar":
            if method != "POST":
                raise _Error(405, "method not allowed")
            return 201, self._access_review(_json_body(body))
        if route.special == "ssr":
            if method != "POST":
                raise _Error(405, "method not allowed")
            return 201, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                         "status": {"userInfo": {"username": FAKE_USER, "groups": ["system:authenticated"]}}}
        assert route.kind is not None
        if self._not_served(route):
            raise _Error(404, "the server could not find the requested resource")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            parsed = _json_body(body) if body else None
            with self._lock:
                self.writes.append(
                    {
                        "method": method,
                        "path": path,
                        "query": {k: v[-1] for k, v in query.items()},
                        "content_type": headers.get("Content-Type", ""),
                        "body": parsed,
                        "dry_run": dry_run,
                    }
                )
            return self._write(
                method, route, parsed, headers.get("Content-Type", ""), dry_run, delete_options
            )
        if method != "GET":
            raise _Error(405, "method not allowed")
        if route.name is None:
            return 200, self._list(route, query)
        return 200, self._served_copy(route, self._existing(route))

    def _default_message(self, status: int, route: _Route | None, verb: str) -> str:
        if status == 404:
            return "the server could not find the requested resource"
        if status == 403 and route is not None and route.kind is not None:
            k = route.kind
            resource = f"{k.plural}.{k.group}" if k.group else k.plural
            scope = (
                f'in the namespace "{route.namespace}"'
                if route.namespace
                else "at the cluster scope"
            )
            return (
                f'{resource} is forbidden: User "system:serviceaccount:edge:edgedoctor" cannot {verb} '
                f'resource "{k.plural}" in API group "{k.group}" {scope}'
            )
        if status == 403:
            return 'forbidden: User "system:serviceaccount:edge:edgedoctor" cannot get path'
        if status >= 500:
            return "Internal error occurred: fake failure injected by the test"
        return f"fake failure {status} injected by the test"

    def _discovery(self, path: str) -> dict[str, Any]:
        parts = [p for p in path.split("/") if p]
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        groups: dict[str, list[str]] = {}
        for k in self.kinds.values():
            if k.group:
                for v in self.served.get(k.kind, ()):
                    if v not in groups.setdefault(k.group, []):
                        groups[k.group].append(v)
        groups.setdefault(AUTHZ_GROUP, ["v1"])
        if parts == ["apis"]:
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                        "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                    }
                    for g, vs in sorted(groups.items())
                    if vs
                ],
            }
        group, version = (
            ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2] if len(parts) > 2 else "")
        )
        if parts[0] == "apis" and len(parts) == 2:
            vs = groups.get(group)
            if not vs:
                raise _Error(404, "the server could not find the requested resource")
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in vs],
                "preferredVersion": {"groupVersion": f"{group}/{vs[0]}", "version": vs[0]},
            }
        resources = [
            {
                "name": k.plural,
                "singularName": k.kind.lower(),
                "namespaced": k.namespaced,
                "kind": k.kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
            for k in self.kinds.values()
            if k.group == group and version in self.served.get(k.kind, ())
        ]
        if not resources and not (group == AUTHZ_GROUP and version == "v1"):
            raise _Error(404, "the server could not find the requested resource")
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    def _access_review(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("kind") != "SelfSubjectAccessReview":
            raise _Error(400, "expected a SelfSubjectAccessReview")
        attrs = ((body.get("spec") or {}).get("resourceAttributes")) or {}
        with self._lock:
            self.access_reviews.append(dict(attrs))
            denies = list(self._denies)
        allowed = True
        for d in denies:
            resource = attrs.get("resource", "")
            if attrs.get("subresource"):
                resource = f"{resource}/{attrs['subresource']}"
            if d.verb not in ("*", attrs.get("verb")) or d.resource not in (
                "*",
                resource,
                attrs.get("resource"),
            ):
                continue
            if d.group is not None and d.group != attrs.get("group", ""):
                continue
            if d.namespace is not None and d.namespace != attrs.get("namespace"):
                continue
            if d.name is not None and d.name != attrs.get("name"):
                continue
            allowed = False
            break
        out = copy.deepcopy(body)
        out["apiVersion"] = f"{AUTHZ_GROUP}/v1"
        out.setdefault("metadata", {})["creationTimestamp"] = None
        # RBAC never explains a denial: reason is empty, as from a real apiserver.
        out["status"] = (
            {
                "allowed": True,
                "reason": 'RBAC: allowed by ClusterRoleBinding "fake" of ClusterRole "fake"',
            }
            if allowed
            else {"allowed": False}
        )
        return out

    def _served_copy(self, route: _Route, obj: dict[str, Any]) -> dict[str, Any]:
        k = route.kind
        assert k is not None
        out = copy.deepcopy(obj)
        out["apiVersion"] = f"{k.group}/{route.version}" if k.group else route.version
        out["kind"] = k.kind
        return out

    def _existing(self, route: _Route) -> dict[str, Any]:
        k = route.kind
        assert k is not None and route.name is not None
        with self._lock:
            obj = self._store.get(self._key(k, route.namespace, route.name))
        if obj is None or (k.namespaced and route.namespace is None):
            resource = f"{k.plural}.{k.group}" if k.group else k.plural
            raise _Error(
                404,
                f'{resource} "{route.name}" not found',
                {"name": route.name, "group": k.group, "kind": k.plural},
            )
        return obj

    def _list(self, route: _Route, query: dict[str, list[str]]) -> dict[str, Any]:
        k = route.kind
        assert k is not None
        with self._lock:
            items = [
                self._served_copy(route, o)
                for (kind, ns, _), o in sorted(self._store.items())
                if kind == k.kind and (route.namespace is None or ns == route.namespace)
            ]
            rv = str(self._rv)
        selector = query.get("labelSelector", [""])[-1]
        if selector:
            items = [o for o in items if _selects(selector, (o.get("metadata") or {}).get("labels") or {})]
        if k.group in _BUILTIN_GROUPS:
            for item in items:
                item.pop("apiVersion", None)
                item.pop("kind", None)
        start = int(query.get("continue", ["0"])[-1] or 0)
        limit = int(query.get("limit", ["0"])[-1] or 0)
        meta: dict[str, Any] = {"resourceVersion": rv}
        if limit > 0:
            page = items[start : start + limit]
            if start + limit < len(items):
                meta["continue"] = str(start + limit)
            items = page
        return {
            "apiVersion": f"{k.group}/{route.version}" if k.group else route.version,
            "kind": f"{k.kind}List",
            "metadata": meta,
            "items": items,
        }

    def _write(
        self,
        method: str,
        route: _Route,
        body: Any,
        content_type: str,
        dry_run: bool,
        delete_options: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        k = route.kind
        assert k is not None
        if k.namespaced and route.namespace is None:
            raise _Error(404, "the server could not find the requested resource")
        if method == "POST":
            if route.name is not None:
                raise _Error(405, "POST to a named object is not allowed")
            return self._create(route, body, dry_run)
        if route.name is None:
            raise _Error(405, f"{method} needs an object name")
        with self._lock:
            old = copy.deepcopy(self._existing(route))
            if method == "DELETE":
                _check_preconditions(k, route.name, old, (delete_options or {}).get("preconditions"))
                if not dry_run:
                    del self._store[self._key(k, route.namespace, route.name)]
                return 200, self._served_copy(route, old)
            if method == "PUT":
                if not isinstance(body, dict):
                    raise _Error(400, "PUT body must be an object")
                want_rv = (body.get("metadata") or {}).get("resourceVersion")
                if want_rv and want_rv != old["metadata"].get("resourceVersion"):
                    resource = f"{k.plural}.{k.group}" if k.group else k.plural
                    raise _Error(
                        409,
                        f'Operation cannot be fulfilled on {resource} "{route.name}": the object has '
                        "been modified; please apply your changes to the latest version and try again",
                        reason="Conflict",
                    )
                new = copy.deepcopy(body)
            else:  # PATCH
                ctype = content_type.split(";")[0].strip().lower()
                if ctype == "application/json-patch+json":
                    new = json_patch(old, body)
                elif ctype == "application/merge-patch+json":
                    new = merge_patch(old, body)
                elif ctype == "application/strategic-merge-patch+json":
                    if k.group not in _BUILTIN_GROUPS:
                        raise _Error(
                            415,
                            "the body of the request was in an unknown format - accepted media types "
                            "include: application/json-patch+json, application/merge-patch+json, "
                            "application/apply-patch+yaml",
                        )
                    new = merge_patch(old, body)  # close enough for tests: no list merge keys
                else:
                    raise _Error(415, f"unsupported patch type {ctype!r}")
            if not isinstance(new, dict):
                raise _Error(422, "the result is not an object")
            new = self._subresource_view(route, old, new)
            self._validate(route, new)
            meta = new.setdefault("metadata", {})
            meta["uid"] = old["metadata"].get("uid")
            meta["creationTimestamp"] = old["metadata"].get("creationTimestamp")
            if "generation" in old["metadata"] and new.get("spec") != old.get("spec"):
                meta["generation"] = int(old["metadata"]["generation"]) + 1
            meta["resourceVersion"] = (
                old["metadata"].get("resourceVersion") if dry_run else self._next_rv()
            )
            if not dry_run:
                self._store[self._key(k, route.namespace, route.name)] = new
            return 200, self._served_copy(route, new)

    def _subresource_view(
        self, route: _Route, old: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        # /status changes only status; the main resource never changes status.
        if route.subresource == "status":
            out = copy.deepcopy(old)
            if "status" in new:
                out["status"] = new["status"]
            else:
                out.pop("status", None)
            return out
        out = copy.deepcopy(new)
        if "status" in old:
            out["status"] = copy.deepcopy(old["status"])
        else:
            out.pop("status", None)
        return out

    def _validate(self, route: _Route, obj: dict[str, Any]) -> None:
        k = route.kind
        assert k is not None
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise _Error(
                422, f"{k.kind} is invalid: metadata.name: Required value: name is required"
            )
        if route.name is not None and meta["name"] != route.name:
            raise _Error(400, "the name of the object does not match the name on the URL")
        if obj.get("kind") not in (None, k.kind):
            raise _Error(
                400, f"the object kind {obj.get('kind')!r} does not match the URL ({k.kind})"
            )
        if k.namespaced:
            if meta.get("namespace") not in (None, route.namespace):
                raise _Error(
                    400,
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = route.namespace

    def _create(self, route: _Route, body: Any, dry_run: bool) -> tuple[int, dict[str, Any]]:
        k = route.kind
        assert k is not None
        if not isinstance(body, dict):
            raise _Error(400, "POST body must be an object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
        self._validate(route, obj)
        obj["kind"] = k.kind
        obj["apiVersion"] = f"{k.group}/{route.version}" if k.group else route.version
        key = self._key(k, route.namespace, meta["name"])
        with self._lock:
            if key in self._store:
                resource = f"{k.plural}.{k.group}" if k.group else k.plural
                raise _Error(
                    409,
                    f'{resource} "{meta["name"]}" already exists',
                    {"name": meta["name"], "group": k.group, "kind": k.plural},
                    reason="AlreadyExists",
                )
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            if dry_run:
                meta["resourceVersion"] = ""
            else:
                meta["resourceVersion"] = self._next_rv()
                self._store[key] = obj
        return 201, self._served_copy(route, obj)


def _selects(selector: str, labels: dict[str, str]) -> bool:
    """kube-apiserver's label selector: `k=v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`,
    comma-separated requirements all holding."""
    import re

    for req in re.findall(r"[^,(]+(?:\([^)]*\))?", selector):
        req = req.strip()
        if not req:
            continue
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s+\(([^)]*)\)", req)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            inside = m.group(1) in labels and labels[m.group(1)] in values
            if inside != (m.group(2) == "in"):
                return False
        elif "!=" in req:
            key, value = req.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in req:
            key, value = req.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif req.startswith("!"):
            if req[1:].strip() in labels:
                return False
        elif req not in labels:
            return False
    return True


def _verb(method: str, route: _Route | None) -> str:
    if method == "GET":
        return (
            "list" if route is not None and route.kind is not None and route.name is None else "get"
        )
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, method.lower()
    )


def _check_preconditions(k: Kind, name: str, obj: dict[str, Any], pre: Any) -> None:
    """DeleteOptions.preconditions, answered with kube-apiserver's 409 and wording."""
    if not isinstance(pre, dict):
        return
    meta = obj.get("metadata") or {}
    for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        want = pre.get(key)
        if want and want != meta.get(key):
            resource = f"{k.plural}.{k.group}" if k.group else k.plural
            raise _Error(
                409,
                f'Operation cannot be fulfilled on {resource} "{name}": Precondition failed: '
                f"{label} in precondition: {want}, {label} in object meta: {meta.get(key)}",
                reason="Conflict",
            )


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Error(400, "the request body is not JSON") from None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins them: nothing outlives the test
    block_on_close = True
    allow_reuse_address = True
    api: FakeAPI

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        with self._conns_lock:
            self._conns.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handlers blocked reading an idle keep-alive connection."""
        with self._conns_lock:
            conns = list(self._conns)
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts, failed TLS handshakes) are expected here.
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer would wait
    # for the client's delayed ACK (~40 ms). Go's net/http (the real apiserver) sets this too.
    disable_nagle_algorithm = True
    timeout = 10  # idle keep-alive connections are dropped
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not access logs

    def _serve(self) -> None:
        api = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            code, doc = api.handle(self.command, self.path, self.headers, body)
        except _Hang:
            api._stopping.wait()
            self.close_connection = True
            return
        except _Error as e:
            code, doc = e.code, status_body(e.code, e.message, e.reason, e.details)
        payload = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
