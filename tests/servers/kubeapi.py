"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager.

The binaries come from `.ci/kube/build.sh` (kube-apiserver and kube-controller-manager
v1.34.4 built from the Go module proxy, the pinned CRDs), cached outside the checkout;
etcd is Debian's `etcd-server`. Missing pieces skip the tests locally and fail them in CI.

It is a pytest plugin (tests/conftest.py lists it in `pytest_plugins`) so the session
fixture exists once for the whole run, whichever modules use it:

    def test_x(kube_cluster):
        kube_cluster.reset()                          # only the baseline objects left
        kube_cluster.load(recording_objects(path))    # statuses, owners remapped, terminating kept
        kubeconfig = kube_cluster.kubeconfig("admin") # also "view", and one per deploy/ role
        obj = kube_cluster.api.get("Order", "ns", "name")

Users (static token file, tokens random per session, never printed):
  admin   in system:masters
  view    bound only to the built-in `view` ClusterRole (aggregated by the controller manager)
  <role>  for every ClusterRole named edgedoctor-<role> shipped in deploy/*.yaml, a user bound
          only to it ("reader"), except "fixer", bound to edgedoctor-reader and edgedoctor-fixer
          as deploy/rbac-fixer.yaml tells people to bind it

The controller manager runs only the clusterrole-aggregation controller (without it `view`
has no rules), the garbage collector (deleting an Order cascades to its Challenges as in a
cluster) and the namespace controller (reset() deletes namespaces).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import os
import secrets
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from tests.servers.common import Process, free_port, in_ci, require_binary, tcp_open, wait_until
from tests.servers.pki import TestCA, key_pem, new_key

ROOT = Path(__file__).resolve().parents[2]
KUBE_DIR = ROOT / ".ci" / "kube"
KUBE_VERSION = "v1.34.4"
# Which Gateway API channel to install: experimental is a superset of standard, so any
# object a recording holds (standard or experimental fields) is accepted and kept.
GATEWAY_API_CHANNEL = "experimental"
CRD_SETS = (f"gateway-api-{GATEWAY_API_CHANNEL}", "cert-manager", "envoy-gateway")
CONTROLLERS = "clusterrole-aggregation-controller,garbage-collector-controller,namespace-controller"
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# Metadata the server owns: never sent on create.
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                  "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
# A recorded Secret value we cannot know (the recording never holds it): a placeholder that
# is plainly not a key or a token. Tests that need real values pass secret_values to load().
PLACEHOLDER = b"redacted-in-the-recording"


# ---------------------------------------------------------------------------- the build

def cache_root() -> Path:
    return Path(os.environ.get("EDGEDOCTOR_KUBE_CACHE", "~/.cache/edgedoctor-kube")).expanduser()


def build_key() -> str:
    """The cache key control-plane.sh computes: every pin (go.mod/go.sum of both modules, the scripts)."""
    parts = [KUBE_DIR / "go.mod", KUBE_DIR / "go.sum", KUBE_DIR / "crds" / "go.mod",
             KUBE_DIR / "crds" / "go.sum", KUBE_DIR / "control-plane.sh", KUBE_DIR / "crds.py"]
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()[:16]


def build_dir() -> Path:
    return cache_root() / f"{KUBE_VERSION}-{build_key()}"


def _missing(message: str) -> None:
    """Fail in CI (install.sh builds everything), skip elsewhere, with the reason."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_build() -> Path:
    out = build_dir()
    if not (out / ".complete").is_file():
        _missing(f"the test control plane is not built for these pins ({out} is missing): "
                 "run `bash .ci/kube/build.sh` (.ci/install.sh runs it)")
    for name in ("kube-apiserver", "kube-controller-manager"):
        if not os.access(out / "bin" / name, os.X_OK):
            _missing(f"{out / 'bin' / name} is missing: run `bash .ci/kube/build.sh`")
    return out


# ---------------------------------------------------------------------------- the API

class KubeError(Exception):
    def __init__(self, status: int, body: Any, what: str) -> None:
        message = body.get("message", "") if isinstance(body, dict) else str(body)[:300]
        super().__init__(f"{what}: {status} {message}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    namespaced: bool
    subresources: frozenset[str]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


class KubeAPI:
    """A plain JSON client for the test server (the code under test uses its own)."""

    def __init__(self, server: str, token: str, ca_file: Path) -> None:
        self.server = server
        self._client = httpx.Client(base_url=server, verify=ssl.create_default_context(cafile=str(ca_file)),
                                    timeout=30,
                                    headers={"Authorization": f"Bearer {token}"})
        self._resources: dict[tuple[str, str], Resource] = {}

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None,
                content_type: str = "application/json", ok: Iterable[int] = ()) -> Any:
        headers = {"Content-Type": content_type} if body is not None else {}
        r = self._client.request(method, path, params=params, headers=headers,
                                 content=None if body is None else _json(body))
        data = r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
        if r.status_code >= 400 and r.status_code not in ok:
            raise KubeError(r.status_code, data, f"{method} {path}")
        return data

    # -- discovery

    def resource(self, kind: str, api_version: str | None = None) -> Resource:
        """Where the server serves KIND (in API_VERSION, else the group's preferred version)."""
        key = (kind, api_version or "")
        if key not in self._resources:
            self._discover()
        if key not in self._resources:
            self._resources.clear()  # a CRD installed since: look again once
            self._discover()
        try:
            return self._resources[key]
        except KeyError:
            raise KeyError(f"the server does not serve {kind} {api_version or ''}".strip()) from None

    def _discover(self) -> None:
        lists = [("", self.request("GET", "/api/v1"), True)]
        for group in self.request("GET", "/apis")["groups"]:
            preferred = group["preferredVersion"]["groupVersion"]
            for version in group["versions"]:
                gv = version["groupVersion"]
                lists.append((gv, self.request("GET", f"/apis/{gv}"), gv == preferred))
        for gv, doc, preferred in lists:
            group, _, version = gv.rpartition("/") if "/" in gv else ("", "", "v1")
            subs: dict[str, set[str]] = {}
            for res in doc["resources"]:
                if "/" in res["name"]:
                    main, sub = res["name"].split("/", 1)
                    subs.setdefault(main, set()).add(sub)
            for res in doc["resources"]:
                if "/" in res["name"]:
                    continue
                r = Resource(group, version, res["name"], res["namespaced"],
                             frozenset(subs.get(res["name"], ())))
                self._resources.setdefault((res["kind"], r.api_version), r)
                if preferred:
                    self._resources.setdefault((res["kind"], ""), r)

    # -- objects

    def get(self, kind: str, namespace: str | None, name: str, api_version: str | None = None) -> dict | None:
        res = self.resource(kind, api_version)
        got = self.request("GET", res.path(namespace, name), ok=(404,))
        return None if isinstance(got, dict) and got.get("kind") == "Status" else got

    def list(self, kind: str, namespace: str | None = None, api_version: str | None = None) -> list[dict]:
        res = self.resource(kind, api_version)
        items = self.request("GET", res.path(namespace))["items"]
        for item in items:  # a LIST leaves them out; keep objects comparable to a GET
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", kind)
        return items

    def create(self, obj: dict) -> dict:
        res = self.resource(obj["kind"], obj["apiVersion"])
        return self.request("POST", res.path(obj["metadata"].get("namespace")), body=obj)

    def replace(self, obj: dict, subresource: str = "") -> dict:
        meta = obj["metadata"]
        res = self.resource(obj["kind"], obj["apiVersion"])
        path = res.path(meta.get("namespace"), meta["name"]) + (f"/{subresource}" if subresource else "")
        return self.request("PUT", path, body=obj)

    def patch(self, kind: str, namespace: str | None, name: str, patch: dict,
              api_version: str | None = None) -> dict:
        res = self.resource(kind, api_version)
        return self.request("PATCH", res.path(namespace, name), body=patch,
                            content_type="application/merge-patch+json")

    def delete(self, kind: str, namespace: str | None, name: str, body: dict | None = None,
               api_version: str | None = None) -> Any:
        res = self.resource(kind, api_version)
        return self.request("DELETE", res.path(namespace, name), ok=(404,),
                            body=body or {"kind": "DeleteOptions", "apiVersion": "v1"})

    def apply_manifest(self, docs: Iterable[dict]) -> None:
        """Create or replace each object (for CRDs, roles: no status, no owners)."""
        for doc in docs:
            meta = doc["metadata"]
            current = self.get(doc["kind"], meta.get("namespace"), meta["name"], doc["apiVersion"])
            if current is None:
                self.create(doc)
            else:
                new = copy.deepcopy(doc)
                new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                self.replace(new)


def _json(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()


# ---------------------------------------------------------------------------- loading objects

def recording_objects(path: Path) -> list[dict]:
    """The cluster objects of a recording, as the API returned them (Secrets redacted)."""
    from edgedoctor.recording import load_recording

    return load_recording(str(path))[0].cluster.objects


def _order(objects: list[dict]) -> list[dict]:
    """Namespaces first, then every owner before what it owns (by recorded uid)."""
    by_uid = {o.get("metadata", {}).get("uid"): o for o in objects if o.get("metadata", {}).get("uid")}
    done: set[int] = set()
    out: list[dict] = []

    def visit(obj: dict, depth: int = 0) -> None:
        if id(obj) in done or depth > 50:
            return
        for ref in obj.get("metadata", {}).get("ownerReferences") or []:
            owner = by_uid.get(ref.get("uid"))
            if owner is not None and owner is not obj:
                visit(owner, depth + 1)
        done.add(id(obj))
        out.append(obj)

    for obj in sorted(objects, key=lambda o: o.get("kind") != "Namespace"):
        visit(obj)
    return out


def _secret_data(obj: dict, secret_values: Callable[[dict, str], bytes | None] | None) -> dict:
    """A recorded (redacted) Secret made whole: PEM certificates back to base64, the keys
    the recording only names get secret_values(obj, key) or a placeholder."""
    data: dict[str, str] = {}
    for key, value in (obj.get("data") or {}).items():
        if isinstance(value, str) and value.startswith("-----BEGIN"):
            data[key] = base64.b64encode(value.encode()).decode()
        elif isinstance(value, str):
            data[key] = value
    for key in obj.get("keys") or []:
        if key not in data:
            given = secret_values(obj, key) if secret_values else None
            data[key] = base64.b64encode(PLACEHOLDER if given is None else given).decode()
    return data


def prepare(obj: dict, uids: dict[str, str],
            secret_values: Callable[[dict, str], bytes | None] | None = None) -> dict:
    """The object as a client would create it: no server fields, no status, owners remapped."""
    new = copy.deepcopy(obj)
    meta = new.setdefault("metadata", {})
    for name in _SERVER_FIELDS:
        meta.pop(name, None)
    refs = []
    for ref in meta.get("ownerReferences") or []:
        if ref.get("uid") in uids:  # an owner the recording does not hold cannot be pointed at
            refs.append({**ref, "uid": uids[ref["uid"]]})
    if refs:
        meta["ownerReferences"] = refs
    else:
        meta.pop("ownerReferences", None)
    new.pop("status", None)
    if new.get("kind") == "Secret":
        new["data"] = _secret_data(obj, secret_values)
        new.pop("keys", None)
        new.pop("redacted", None)
    if new.get("kind") == "Service":
        spec = new.get("spec") or {}
        # The recorded cluster's addresses and node ports are not this server's to give.
        if spec.get("clusterIP") not in ("None",):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)
        spec.pop("healthCheckNodePort", None)
    return new


@dataclass
class Loaded:
    """What load() made: the new objects by (kind, namespace, name), the uid map."""

    objects: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    uids: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # load(strict=False): what the server refused


# ---------------------------------------------------------------------------- the cluster

@dataclass
class User:
    name: str
    token: str
    groups: tuple[str, ...] = ()
    cluster_roles: tuple[str, ...] = ()


class KubeCluster:
    def __init__(self, workdir: Path, build: Path, ca: TestCA) -> None:
        self.workdir = workdir
        self.build = build
        self.ca = ca
        self.etcd_binary = require_binary("etcd", "Debian package etcd-server")
        self.processes: list[Process] = []
        self.port = free_port(udp=False)
        self.server = f"https://127.0.0.1:{self.port}"
        self.users: dict[str, User] = {}
        self.roles: dict[str, list[dict]] = {}  # deploy/ file -> its ClusterRoles
        self.api: KubeAPI  # set by start()

    # -- files

    def _write_pki(self) -> None:
        serving = self.ca.leaf(["localhost"], ip_sans=["127.0.0.1"], days=30)
        self.cert_file, self.key_file = serving.write(self.workdir, "apiserver")
        self.ca_file = self.workdir / "ca.pem"
        self.ca_file.write_text(self.ca.root_pem)
        sa_key = new_key()
        (self.workdir / "sa.key").write_text(key_pem(sa_key))
        (self.workdir / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def _shipped_roles(self) -> dict[str, str]:
        """edgedoctor-<role> ClusterRoles in deploy/: role user name -> ClusterRole name."""
        out: dict[str, str] = {}
        for path in sorted((ROOT / "deploy").glob("*.yaml")):
            docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
            roles = [d for d in docs if d.get("kind") == "ClusterRole"]
            self.roles[path.name] = roles
            for role in roles:
                name = role["metadata"]["name"]
                if name.startswith("edgedoctor-"):
                    out[name.removeprefix("edgedoctor-")] = name
        return out

    def _write_tokens(self) -> None:
        self.users["admin"] = User("edgedoctor-test-admin", secrets.token_hex(24), ("system:masters",))
        self.users["view"] = User("edgedoctor-test-view", secrets.token_hex(24), (), ("view",))
        shipped = self._shipped_roles()
        for short, role in shipped.items():
            roles = (role,)
            if short == "fixer" and "reader" in shipped:
                roles = (shipped["reader"], role)  # as deploy/rbac-fixer.yaml says to bind it
            self.users.setdefault(short, User(f"edgedoctor-test-{short}", secrets.token_hex(24), (), roles))
        lines = [f'{u.token},{u.name},{u.name},"{",".join(u.groups)}"' for u in self.users.values()]
        self.token_file = self.workdir / "tokens.csv"
        self.token_file.write_text("\n".join(lines) + "\n")
        self.token_file.chmod(0o600)

    def kubeconfig(self, user: str = "admin", *, insecure: bool = False, path: Path | None = None) -> Path:
        """A kubeconfig for USER (context "edgedoctor-test"); insecure: no CA, skip TLS verify."""
        if user not in self.users:
            raise KeyError(f"no test user {user!r} (users: {', '.join(self.users)}; a role user "
                           "exists when deploy/ ships an edgedoctor-<role> ClusterRole)")
        cluster: dict[str, Any] = {"server": self.server}
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        else:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca.root_pem.encode()).decode()
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "edgedoctor-test",
            "clusters": [{"name": "edgedoctor-test", "cluster": cluster}],
            "users": [{"name": user, "user": {"token": self.users[user].token}}],
            "contexts": [{"name": "edgedoctor-test",
                          "context": {"cluster": "edgedoctor-test", "user": user}}],
        }
        path = path or self.workdir / f"{user}{'-insecure' if insecure else ''}.kubeconfig"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    # -- processes

    def start(self) -> KubeCluster:
        started = time.monotonic()
        self._write_pki()
        self._write_tokens()
        etcd_client, etcd_peer = free_port(udp=False), free_port(udp=False)
        etcd = Process([
            self.etcd_binary, "--name=edgedoctor-test", f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
            f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-cluster=edgedoctor-test=http://127.0.0.1:{etcd_peer}",
            "--log-level=warn",
        ], self.workdir / "etcd.log")
        self.processes.append(etcd)
        wait_until(lambda: tcp_open("127.0.0.1", etcd_client), 30, "etcd", etcd.log, etcd.proc)

        apiserver = Process([
            str(self.build / "bin" / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_client}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--tls-cert-file={self.cert_file}", f"--tls-private-key-file={self.key_file}",
            f"--token-auth-file={self.token_file}", "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.workdir / 'sa.pub'}",
            f"--service-account-signing-key-file={self.workdir / 'sa.key'}",
            "--service-cluster-ip-range=10.96.0.0/16", "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false", "--profiling=false",
            f"--cert-dir={self.workdir / 'certs'}",
        ], self.workdir / "kube-apiserver.log")
        self.processes.append(apiserver)
        self.api = KubeAPI(self.server, self.users["admin"].token, self.ca_file)

        def ready() -> bool:
            return self.api._client.get("/readyz").status_code == 200

        wait_until(ready, 90, "kube-apiserver", apiserver.log, apiserver.proc)
        self._install_crds()
        self._install_rbac()
        admin = self.kubeconfig("admin", path=self.workdir / "controller-manager.kubeconfig")
        kcm = Process([
            str(self.build / "bin" / "kube-controller-manager"), f"--kubeconfig={admin}",
            f"--controllers={CONTROLLERS}", "--leader-elect=false", "--secure-port=0",
        ], self.workdir / "kube-controller-manager.log")
        self.processes.append(kcm)
        # The built-in view role is an aggregated role with no rules until the controller runs.
        wait_until(lambda: bool(self.api.get("ClusterRole", None, "view")["rules"]), 60,
                   "the view ClusterRole's aggregation", kcm.log, kcm.proc)
        self.baseline_namespaces = self.namespaces()
        self.baseline_uids = {o["metadata"]["uid"] for o in self._edge_objects()}
        self.start_seconds = time.monotonic() - started
        return self

    def _install_crds(self) -> None:
        names = []
        for name in CRD_SETS:
            docs = [d for d in yaml.load_all((self.build / "crds" / f"{name}.yaml").read_text(),
                                             Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]
            for doc in docs:
                self.api.create(doc)
                names.append(doc["metadata"]["name"])

        def established() -> bool:
            for crd in self.api.list("CustomResourceDefinition"):
                conds = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
                if crd["metadata"]["name"] in names and conds.get("Established") != "True":
                    return False
            return True

        wait_until(established, 60, "the CRDs")

    def _install_rbac(self) -> None:
        for roles in self.roles.values():
            self.api.apply_manifest(roles)
        for short, user in self.users.items():
            for role in user.cluster_roles:
                self.api.apply_manifest([{
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": f"edgedoctor-test-{short}-{role}"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                "name": role},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                  "name": user.name}],
                }])

    def stop(self) -> None:
        if hasattr(self, "api"):
            self.api.close()
        for process in reversed(self.processes):
            process.stop()

    def log_tail(self) -> str:
        return "\n\n".join(f"== {p.log.name}\n{p.log_tail(15)}" for p in self.processes)

    # -- state

    def namespaces(self) -> set[str]:
        return {n["metadata"]["name"] for n in self.api.list("Namespace")}

    def _edge_objects(self) -> list[dict]:
        """Every object of the kinds edgedoctor reads (Namespaces aside)."""
        from edgedoctor.kinds import KINDS

        items: list[dict] = []
        for kind in KINDS:
            if kind.kind != "Namespace":
                items += self.api.list(kind.kind, api_version=f"{kind.group}/{kind.versions[0]}"
                                       if kind.group else kind.versions[0])
        return items

    def reset(self) -> None:
        """Back to the state right after start(): every object a test made of the kinds
        edgedoctor reads is deleted (finalizers dropped first: no controller would).

        The namespaces a test made stay, emptied and with no labels or annotations but
        the server's own: deleting them costs about 5 s each time (the namespace controller
        re-discovers every resource), and a load re-labels the namespaces it records.
        """
        for item in self._edge_objects():
            meta = item["metadata"]
            if meta["uid"] in self.baseline_uids:
                continue
            if meta.get("finalizers"):
                self.api.patch(item["kind"], meta.get("namespace"), meta["name"],
                               {"metadata": {"finalizers": None}}, item["apiVersion"])
            self.api.delete(item["kind"], meta.get("namespace"), meta["name"],
                            api_version=item["apiVersion"])
        for ns in self.api.list("Namespace"):
            meta = ns["metadata"]
            if meta["name"] in self.baseline_namespaces:
                continue
            bare = {"kubernetes.io/metadata.name": meta["name"]}
            if meta.get("labels") != bare or meta.get("annotations"):
                meta["labels"], meta["annotations"] = bare, {}
                self.api.replace(ns)

    def load(self, objects: list[dict], *,
             secret_values: Callable[[dict, str], bytes | None] | None = None,
             strict: bool = True) -> Loaded:
        """Create OBJECTS as a cluster would hold them.

        Owners first, ownerReferences pointing at the owners' new uids; a status is written
        through the status subresource (a create drops it); an object recorded with a
        deletionTimestamp is created and then deleted, its finalizers keeping it terminating.
        Namespaces named by objects but not recorded are created bare. A refusal raises
        KubeError naming the object; with strict=False every refusal is collected in
        Loaded.errors instead and the rest is loaded.
        """
        loaded = Loaded()
        wanted = {o["metadata"].get("namespace") for o in objects if o.get("metadata", {}).get("namespace")}
        recorded_ns = {o["metadata"]["name"] for o in objects if o.get("kind") == "Namespace"}
        existing = self.namespaces()
        for ns in sorted(wanted - recorded_ns - existing):
            self.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for obj in _order(objects):
            meta = obj.get("metadata") or {}
            what = f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name')}".replace(" /", " ")
            try:
                made = self._load_one(obj, prepare(obj, loaded.uids, secret_values), existing)
            except KubeError as e:
                if strict:
                    raise KubeError(e.status, e.body, f"loading {what}") from None
                loaded.errors.append(f"{what}: {e}")
                continue
            if meta.get("uid"):
                loaded.uids[meta["uid"]] = made["metadata"]["uid"]
            loaded.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = made
        return loaded

    def _load_one(self, obj: dict, new: dict, existing: set[str]) -> dict:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "Namespace" and meta["name"] in existing:
            current = self.api.get("Namespace", None, meta["name"])
            current["metadata"]["labels"] = new["metadata"].get("labels") or {}
            current["metadata"]["annotations"] = new["metadata"].get("annotations") or {}
            made = self.api.replace(current)
        else:
            made = self.api.create(new)
        if obj.get("status") and "status" in self.api.resource(obj["kind"], obj["apiVersion"]).subresources:
            made["status"] = copy.deepcopy(obj["status"])
            made = self.api.replace(made, "status")
        if meta.get("deletionTimestamp") and meta.get("finalizers"):
            self.api.delete(obj["kind"], meta.get("namespace"), meta["name"])
            made = self.api.get(obj["kind"], meta.get("namespace"), meta["name"], obj["apiVersion"])
        return made

    def snapshot(self, kinds: Iterable[str]) -> dict[tuple[str, str, str], dict]:
        """Every object of KINDS outside the baseline, by (kind, namespace, name)."""
        out = {}
        for kind in kinds:
            for item in self.api.list(kind):
                meta = item["metadata"]
                out[(kind, meta.get("namespace", ""), meta["name"])] = item
        return out


_PREFIX = "edgedoctor-kube-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _workdir() -> Path:
    """A directory for this session's etcd data, certificates and logs.

    etcd fsyncs every write: on tmpfs the whole suite's writes cost nothing. tmpfs is memory,
    so a session that was killed before its teardown must not leave its data there: the
    name carries the pytest process id, and directories of processes that are gone are
    removed (sessions running in parallel keep theirs).
    """
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    for old in base.glob(f"{_PREFIX}*"):
        pid = old.name[len(_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=base))


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[KubeCluster]:
    """The session's control plane (started on first use, stopped at the end)."""
    build = require_build()
    require_binary("etcd", "Debian package etcd-server")
    workdir = _workdir()
    cluster = KubeCluster(workdir, build, TestCA(now=dt.datetime.now(dt.timezone.utc)))
    try:
        cluster.start()
    except Exception as e:
        tail = cluster.log_tail()
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"the test control plane did not start: {e}\n{tail}") from None
    yield cluster
    cluster.stop()
    shutil.rmtree(workdir, ignore_errors=True)
