"""Read the cluster evidence from a live API server, reading only what the chain names.

The kinds a host's chain can start from (Gateway API, Envoy Gateway and cert-manager
objects, Namespaces) are LISTed across all namespaces, concurrently: which Gateway, route
or Certificate serves a host can only be found by looking at all of them. The rest is read
where the chain points:

- Deployments and Services by label selector: the Envoy data plane (Envoy Gateway's owner
  labels) and the controllers (their charts' name labels); a controller role the objects
  need but no label found is looked for once across all Deployments (hand-made installs);
- Services by name: the backends of the routes that may serve the host, and a Service
  named as its Gateway (Envoy Gateway's GatewayNamespace mode); their EndpointSlices by
  the `kubernetes.io/service-name` label, in the Service's namespace;
- Secrets by name: only the ones the edge points at, each reduced by `edgedoctor.redact`
  the moment it arrives (no key or token is kept);
- ConfigMaps by name: the Corefile a k8s_gateway/CoreDNS Deployment mounts.

A kind that cannot be read becomes an entry of ClusterEvidence.errors and the rest
goes on; a server that cannot be reached at all is reported once, quickly.
Objects are plain dicts as `kubectl get -o json` shows them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from edgedoctor.evidence import ClusterEvidence
from edgedoctor.kinds import BY_KIND, KINDS, Kind
from edgedoctor.kube.config import LiveConfigError, Target, load_api_client
from edgedoctor.redact import redact_object

__all__ = [
    "LiveConfigError",
    "read_live",
    "default_secret_names",
    "default_service_names",
    "dns_server_namespaces",
    "dns_server_configmaps",
]

SecretNames = Callable[[list[dict[str, Any]]], Iterable[tuple[str, str]]]
ServiceNames = Callable[[list[dict[str, Any]]], Iterable[tuple[str, str]]]
GatewayNames = Callable[[list[dict[str, Any]]], Iterable[tuple[str, str]]]

WORKERS = 8
PAGE_SIZE = 500
# Images of the DNS servers whose Corefile the diagnosis reads.
DNS_SERVER_IMAGES = ("k8s_gateway", "k8s-gateway", "coredns")
# Kinds read where the chain points (selectors, names), not listed cluster-wide.
_NARROW = ("Secret", "ConfigMap", "Service", "EndpointSlice", "Deployment")
# Label selectors for the Deployments and Services the diagnosis looks at: the Envoy data
# plane (Envoy Gateway's own labels) and the controllers (the names their charts give).
CONTROLLER_NAMES = "cert-manager,external-dns,gateway-helm,envoy-gateway,k8s-gateway,k8s_gateway,coredns"
CONTROLLERS: tuple[tuple[str, str], ...] = (
    ("Deployment", f"app.kubernetes.io/name in ({CONTROLLER_NAMES})"),
    ("Deployment", f"app in ({CONTROLLER_NAMES})"),
    ("Deployment", "control-plane=envoy-gateway"),
)
# Every Gateway's data plane at once (when no host narrows it to its Gateways).
DATA_PLANE_ALL: tuple[tuple[str, str], ...] = (
    ("Deployment", "app.kubernetes.io/managed-by=envoy-gateway"),
    ("Service", "gateway.envoyproxy.io/owning-gateway-name"),
    ("Service", "gateway.envoyproxy.io/owning-gatewayclass"),
)
OWNING_GATEWAY = "gateway.envoyproxy.io/owning-gateway-name={name},gateway.envoyproxy.io/owning-gateway-namespace={ns}"
OWNING_CLASS = "gateway.envoyproxy.io/owning-gatewayclass={cls}"


# ---------------------------------------------------------------- failures


@dataclass
class ApiFailure(Exception):
    """One request that did not give an answer, classified for the user."""

    what: str  # "http" | "timeout" | "connect" | "internal"
    message: str
    status: int = 0


def _status_message(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return ""
    try:
        doc = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:300]
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return " ".join(doc["message"].split())[:300]
    return ""


_OBJECT_REPR = re.compile(r"<[^<>]* object at 0x[0-9a-f]+>:?\s*|HTTPS?Connection\([^)]*\):\s*")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def _why(e: BaseException) -> str:
    text = _OBJECT_REPR.sub("", str(e))
    text = text.replace("Failed to establish a new connection: ", "")
    text = _ERRNO.sub("", text)
    text = " ".join(text.split())
    return text[:300] or type(e).__name__


def classify_error(e: BaseException) -> ApiFailure:
    """Map whatever the client raised to http / timeout / connect."""
    if isinstance(e, ApiFailure):
        return e
    import urllib3.exceptions as u3
    from kubernetes.client.exceptions import ApiException

    if isinstance(e, ApiException):
        if e.status:
            message = _status_message(e.body) or str(e.reason or "")
            return ApiFailure("http", message, int(e.status))
        # rest.py wraps TLS failures as status 0 "SSLError\n<detail>".
        return ApiFailure("connect", "TLS error: " + " ".join(str(e.reason).split()[1:])[:300])
    if isinstance(e, u3.MaxRetryError) and e.reason is not None:
        e = e.reason
    # Order matters: in urllib3, NameResolutionError < NewConnectionError < ConnectTimeoutError.
    if isinstance(e, u3.NameResolutionError):
        return ApiFailure("connect", "cannot resolve the server name: " + _why(e))
    if isinstance(e, u3.NewConnectionError):
        return ApiFailure("connect", _why(e))
    if isinstance(e, u3.ConnectTimeoutError):
        return ApiFailure("connect", "connection timed out")
    if isinstance(e, (u3.ReadTimeoutError, TimeoutError)):
        return ApiFailure("timeout", "timed out")
    if isinstance(e, u3.SSLError):
        return ApiFailure("connect", "TLS error: " + _why(e))
    if isinstance(e, ConnectionError):
        return ApiFailure("connect", _why(e))
    if isinstance(e, u3.ProtocolError):
        inner = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], BaseException) else None
        if isinstance(inner, TimeoutError):
            return ApiFailure("timeout", "timed out")
        return ApiFailure("connect", "connection broken: " + _why(inner or e))
    if isinstance(e, u3.HTTPError):
        return ApiFailure("connect", _why(e))
    # Not a cluster condition but a bug or a credential plugin failing mid-read:
    # shown as an error result rather than a traceback that hides the rest.
    return ApiFailure("internal", f"internal error: {type(e).__name__}: {_why(e)}"[:300])


# ---------------------------------------------------------------- choosing what to read


def default_secret_names(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Listener certificateRefs of every Gateway and every Certificate's spec.secretName."""
    out: set[tuple[str, str]] = set()
    for obj in objects:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        spec = obj.get("spec") or {}
        if kind == "Gateway":
            for listener in spec.get("listeners") or []:
                tls = (listener or {}).get("tls") or {}
                for ref in tls.get("certificateRefs") or []:
                    if not isinstance(ref, dict) or not ref.get("name"):
                        continue
                    if ref.get("kind", "Secret") != "Secret" or ref.get("group", "") not in (
                        "",
                        None,
                    ):
                        continue
                    out.add((ref.get("namespace") or ns, ref["name"]))
        elif (
            kind == "Certificate" and isinstance(spec.get("secretName"), str) and spec["secretName"]
        ):
            out.add((ns, spec["secretName"]))
    return sorted(out)


def dns_server_namespaces(objects: list[dict[str, Any]]) -> list[str]:
    """Namespaces where a k8s_gateway or CoreDNS Deployment runs."""
    found: set[str] = set()
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in pod.get("containers") or []:
            image = str((c or {}).get("image") or "").lower()
            if any(mark in image for mark in DNS_SERVER_IMAGES):
                found.add((obj.get("metadata") or {}).get("namespace") or "default")
    return sorted(found)


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec")
    return spec if isinstance(spec, dict) else {}


def dns_server_configmaps(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The ConfigMaps a k8s_gateway or CoreDNS Deployment mounts (its Corefile)."""
    out: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        pod = _pod_spec(obj)
        images = " ".join(str((c or {}).get("image") or "").lower() for c in pod.get("containers") or [])
        if not any(mark in images for mark in DNS_SERVER_IMAGES):
            continue
        ns = (obj.get("metadata") or {}).get("namespace") or "default"
        for vol in pod.get("volumes") or []:
            if not isinstance(vol, dict):
                continue
            sources = [vol] + [s for s in (vol.get("projected") or {}).get("sources") or [] if isinstance(s, dict)]
            for src in sources:
                name = (src.get("configMap") or {}).get("name")
                if isinstance(name, str) and name:
                    out.add((ns, name))
    return sorted(out)


def default_service_names(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every route's backend Services and a Service named as each Gateway (any host)."""
    out: set[tuple[str, str]] = set()
    for obj in objects:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        if kind == "Gateway" and meta.get("name"):
            out.add((ns, str(meta["name"])))
        elif kind in ("HTTPRoute", "GRPCRoute"):
            out.update(route_backends(obj))
    return sorted(out)


def route_backends(route: dict[str, Any]) -> list[tuple[str, str]]:
    ns = (route.get("metadata") or {}).get("namespace") or "default"
    out = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") if isinstance(rule, dict) else None
        for ref in refs if isinstance(refs, list) else []:
            if not isinstance(ref, dict) or not ref.get("name"):
                continue
            if ref.get("kind", "Service") != "Service" or ref.get("group", "") not in ("", "core", None):
                continue
            out.append((str(ref.get("namespace") or ns), str(ref["name"])))
    return out


# ---------------------------------------------------------------- the reader


def _api_version(kind: Kind, version: str) -> str:
    return f"{kind.group}/{version}" if kind.group else version


def _collection_path(kind: Kind, version: str, namespace: str | None = None) -> str:
    base = f"/apis/{kind.group}/{version}" if kind.group else f"/api/{version}"
    if namespace is not None:
        base += f"/namespaces/{namespace}"
    return f"{base}/{kind.plural}"


class _Reader:
    def __init__(self, api_client: Any, target: Target, timeout: float) -> None:
        self.api = api_client
        self.target = target
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        from kubernetes import client as k8s_client

        self.custom = k8s_client.CustomObjectsApi(api_client)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    # -- one request

    def _raw_get(self, path: str, query: list[tuple[str, Any]], until: float) -> dict[str, Any]:
        budget = until - time.monotonic()
        if budget <= 0:
            raise ApiFailure("timeout", "timed out")
        try:
            resp = self.api.call_api(
                path,
                "GET",
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=budget,
            )
            try:
                data = resp.data
            finally:
                resp.release_conn()
        except Exception as e:
            raise classify_error(e) from None
        try:
            doc = json.loads(data)
        except ValueError:
            raise ApiFailure(
                "http", "the API server answered with something other than JSON", 200
            ) from None
        if not isinstance(doc, dict):
            raise ApiFailure(
                "http", "the API server answered with something other than an object", 200
            )
        return doc

    def _custom_list(
        self, kind: Kind, version: str, cont: str | None, until: float
    ) -> dict[str, Any]:
        budget = until - time.monotonic()
        if budget <= 0:
            raise ApiFailure("timeout", "timed out")
        kwargs: dict[str, Any] = {"limit": PAGE_SIZE, "_request_timeout": budget}
        if cont:
            kwargs["_continue"] = cont
        try:
            doc = self.custom.list_cluster_custom_object(kind.group, version, kind.plural, **kwargs)
        except Exception as e:
            raise classify_error(e) from None
        if not isinstance(doc, dict):
            raise ApiFailure(
                "http", "the API server answered with something other than an object", 200
            )
        return doc

    def list_kind(
        self, kind: Kind, until: float, namespace: str | None = None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        """All objects of a kind (newest served version, matching `selector`), pages followed,
        items completed."""
        last_404: ApiFailure | None = None
        for version in kind.versions:
            items: list[dict[str, Any]] = []
            cont: str | None = None
            try:
                while True:
                    if kind.is_core or namespace is not None or selector:
                        query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
                        if selector:
                            query.append(("labelSelector", selector))
                        if cont:
                            query.append(("continue", cont))
                        doc = self._raw_get(
                            _collection_path(kind, version, namespace), query, until
                        )
                    else:
                        doc = self._custom_list(kind, version, cont, until)
                    items.extend(i for i in doc.get("items") or [] if isinstance(i, dict))
                    cont = (doc.get("metadata") or {}).get("continue") or None
                    if not cont:
                        break
            except ApiFailure as f:
                if f.what == "http" and f.status == 404:
                    last_404 = f
                    continue
                raise
            api_version = _api_version(kind, version)
            out = []
            for item in items:
                # Core LISTs leave apiVersion/kind off the items; kubectl puts them back.
                if "apiVersion" not in item or "kind" not in item:
                    item = {"apiVersion": api_version, "kind": kind.kind, **item}
                out.append(redact_object(item))
            return out
        assert last_404 is not None
        raise last_404

    def get_named(self, kind_name: str, namespace: str, name: str, until: float) -> dict[str, Any] | None:
        """One core object by name (None when it does not exist), redacted on arrival."""
        kind = BY_KIND[kind_name]
        path = f"{_collection_path(kind, kind.versions[0], namespace)}/{name}"
        try:
            raw = self._raw_get(path, [], until)
        except ApiFailure as f:
            if f.what == "http" and f.status == 404:
                return None
            raise
        raw.setdefault("apiVersion", _api_version(kind, kind.versions[0]))
        raw["kind"] = kind.kind
        redacted = redact_object(raw)
        if kind.kind == "Secret":
            raw.clear()  # drop the key material now, not whenever the GC gets to it
        return redacted

    def get_secret(self, namespace: str, name: str, until: float) -> dict[str, Any] | None:
        return self.get_named("Secret", namespace, name, until)

    # -- error entries

    def error_entry(
        self, kind: Kind | str, f: ApiFailure, budget: float, verb: str = "list"
    ) -> dict[str, Any]:
        k = kind if isinstance(kind, Kind) else BY_KIND.get(kind)
        name = k.kind if k else str(kind)
        plural = k.plural if k else str(kind)
        if f.what == "timeout":
            return {"kind": name, "status": "error", "reason": f"timed out after {budget:.1f}s"}
        if f.what == "internal":
            return {"kind": name, "status": "error", "reason": f.message}
        if f.what == "connect":
            return {
                "kind": name,
                "status": "error",
                "reason": f"cannot reach the API server at {self.target.server}: {f.message}",
            }
        if f.status == 404 and k is not None and verb == "list":
            if k.is_core:
                return {
                    "kind": name,
                    "status": "error",
                    "reason": f"the API server does not serve {plural} ({', '.join(k.versions)})",
                }
            return {
                "kind": name,
                "status": "unknown",
                "reason": f"CRD for {name} ({k.group}) is not installed ({k.provided_by} missing?)",
            }
        if f.status == 403:
            # verb and resource let the diagnosis name every refused read in one line.
            return {
                "kind": name,
                "status": "unknown",
                "reason": f"forbidden: cannot {verb} {plural} ({f.message})",
                "http_status": 403,
                "verb": verb,
                "resource": f"{plural}.{k.group}" if k is not None and k.group else plural,
            }
        if f.status == 401:
            return {
                "kind": name,
                "status": "unknown",
                "reason": f"unauthorized: the API server rejected the credentials ({f.message or '401'})",
            }
        return {
            "kind": name,
            "status": "error",
            "reason": f"API error {f.status}: {f.message or 'no message'}",
        }

    def _unreachable_reason(self, why: str) -> str:
        """Where it tried, why it failed, and what to check, in one line."""
        t = self.target
        ctx = f" (context '{t.context}')" if t.context else ""
        hint = f"kubectl cluster-info --context {t.context}" if t.context else "kubectl cluster-info"
        return (f"cannot reach the API server at {t.server}{ctx}: {why}{self._credential_note()}; "
                f"check the VPN or `{hint}`")

    def unreachable(self, why: str, reason: str | None = None) -> ClusterEvidence:
        return ClusterEvidence(
            reachable=False,
            context=self.target.context,
            cluster=self.target.cluster,
            errors=[
                {
                    "kind": "*",
                    "status": "unknown",
                    "reason": reason or self._unreachable_reason(why),
                }
            ],
        )

    # -- the whole read

    def probe(self) -> ClusterEvidence | None:
        """One cheap request first, so a dead server costs one timeout, not one per kind."""
        budget = min(self.left(), max(1.0, self.timeout * 0.3))
        try:
            version = self._raw_get("/version", [], time.monotonic() + budget)
        except ApiFailure as f:
            if f.what == "timeout":
                return self.unreachable(f"no answer within {budget:.1f}s")
            if f.what == "connect":
                return self.unreachable(f.message)
            if f.what == "internal":
                return self.unreachable(f.message)
            if f.status == 401:
                return self.unreachable(
                    "",
                    f"the API server at {self.target.server} rejected the credentials of "
                    f"context '{self.target.context}' (401 Unauthorized)" + self._credential_note(),
                )
            if f.status == 404 or (f.status == 200 and "other than" in f.message):
                # Every API server answers /version; a web server that 404s everything would
                # otherwise read as "no CRDs installed" and every node below as skipped.
                return self.not_kubernetes(f"/version answers {f.status}: {f.message or 'not found'}")
            # Any other HTTP answer: the server is there; the LISTs will tell the rest.
            return None
        if not isinstance(version.get("gitVersion"), str):
            return self.not_kubernetes("/version carries no gitVersion")
        return None

    def not_kubernetes(self, why: str) -> ClusterEvidence:
        t = self.target
        where = f" (context '{t.context}')" if t.context else ""
        return self.unreachable("", f"the server at {t.server}{where} is not a Kubernetes API server ({why}); "
                                    "check the kubeconfig's server URL")

    def _credential_note(self) -> str:
        notes = getattr(self.target, "notes", ())
        return f"; the credential plugin failed: {notes[0]}" if notes else ""

    def read(self, secret_names: SecretNames, service_names: ServiceNames,
             gateway_names: GatewayNames | None = None) -> ClusterEvidence:
        dead = self.probe()
        if dead is not None:
            return dead

        wide = [k for k in KINDS if k.kind not in _NARROW]
        # The LISTs get most of what is left; the narrow reads that depend on them the rest.
        list_budget = max(0.1, self.left() * 0.6)
        list_until = time.monotonic() + list_budget
        results: dict[Any, list[dict[str, Any]] | ApiFailure] = {}
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="edgedoctor-kube")
        try:
            futures: dict[Any, Any] = {pool.submit(self.list_kind, k, list_until): k.kind for k in wide}
            # Without a host to narrow them, every Gateway's data plane is read at once.
            selected = CONTROLLERS + (DATA_PLANE_ALL if gateway_names is None else ())
            for kind, selector in selected:
                futures[pool.submit(self.list_kind, BY_KIND[kind], list_until, None, selector)] = (kind, selector)
            self._collect(futures, results, list_until)

            if all(isinstance(r, ApiFailure) and r.what == "connect" for r in results.values()):
                first = next(iter(results.values()))
                assert isinstance(first, ApiFailure)
                return self.unreachable(first.message)

            objects: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            kinds_read: list[str] = []
            for k in wide:
                r = results[k.kind]
                if isinstance(r, ApiFailure):
                    errors.append(self.error_entry(k, r, list_budget))
                else:
                    objects.extend(r)
                    kinds_read.append(k.kind)
            chosen, failed = self._merge_selected(results, selected, set())
            for kind, f in failed.items():
                errors.append(self.error_entry(BY_KIND[kind], f, list_budget))
            objects.extend(chosen)

            narrow_objects, narrow_errors, narrow_read = self._read_narrow(
                pool, objects, secret_names, service_names, gateway_names, failed
            )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

        return ClusterEvidence(
            objects=objects + narrow_objects,
            errors=errors + narrow_errors,
            reachable=True,
            context=self.target.context,
            cluster=self.target.cluster,
            kinds_read=kinds_read + narrow_read,
        )

    @staticmethod
    def _merge_selected(results: dict[Any, Any], selected: tuple[tuple[str, str], ...],
                        seen: set[tuple[str, str, str]]) -> tuple[list[dict[str, Any]], dict[str, ApiFailure]]:
        """The label-selected lists, one object once; the first failure of each kind."""
        out: list[dict[str, Any]] = []
        failed: dict[str, ApiFailure] = {}
        for kind, selector in selected:
            r = results.get((kind, selector))
            if r is None:
                continue
            if isinstance(r, ApiFailure):
                failed.setdefault(kind, r)
                continue
            for obj in r:
                meta = obj.get("metadata") or {}
                key = (kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
                if key not in seen:
                    seen.add(key)
                    out.append(obj)
        return out, failed

    def _collect(self, futures: dict[Any, Any], results: dict[Any, Any], until: float) -> None:
        # Each request carries its own timeout; the grace covers a request that
        # started just before `until`.
        done, not_done = wait(futures, timeout=max(0.0, until - time.monotonic()) + 1.0)
        for fut in done:
            exc = fut.exception()
            if exc is not None and not isinstance(exc, ApiFailure):
                # A bug in the reader: shown as this kind's error, the others go on.
                exc = ApiFailure("internal", f"internal error: {exc!r}"[:300])
            results[futures[fut]] = exc if exc is not None else fut.result()
        for fut in not_done:
            fut.cancel()
            results[futures[fut]] = ApiFailure("timeout", "timed out")

    def _choose(self, chooser: Callable[[list[dict[str, Any]]], Iterable[tuple[str, str]]],
                objects: list[dict[str, Any]], kind: str, errors: list[dict[str, Any]]) -> list[tuple[str, str]] | None:
        try:
            return sorted({(str(ns), str(n)) for ns, n in chooser(objects) if ns and n})
        except Exception as e:  # the chooser is diagnosis code: a bug there must not end the read
            errors.append({"kind": kind, "status": "error", "reason": f"choosing {kind}s failed: {e!r}"[:300]})
            return None

    def _data_plane(self, pool: ThreadPoolExecutor, objects: list[dict[str, Any]], gateway_names: GatewayNames,
                    failed: dict[str, ApiFailure], errors: list[dict[str, Any]], until: float,
                    budget: float) -> list[dict[str, Any]]:
        """The Envoy Deployments and Services of the chosen Gateways, by Envoy Gateway's owner
        labels (per Gateway, and per GatewayClass for a merged-gateways data plane)."""
        chosen = self._choose(gateway_names, objects, "Gateway", errors) or []
        classes = {str((o.get("spec") or {}).get("gatewayClassName") or "") for o in objects
                   if o.get("kind") == "Gateway"
                   and ((o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name")) in set(chosen)}
        selectors = [OWNING_GATEWAY.format(name=name, ns=ns) for ns, name in chosen]
        selectors += [OWNING_CLASS.format(cls=c) for c in sorted(classes) if c]
        selected = tuple((kind, sel) for sel in selectors for kind in ("Deployment", "Service"))
        futures = {pool.submit(self.list_kind, BY_KIND[kind], until, None, sel): (kind, sel) for kind, sel in selected}
        results: dict[Any, Any] = {}
        if futures:
            self._collect(futures, results, until)
        have = {(str(o.get("kind")), str((o.get("metadata") or {}).get("namespace") or ""),
                 str((o.get("metadata") or {}).get("name") or "")) for o in objects}
        out, bad = self._merge_selected(results, selected, have)
        for kind, f in bad.items():
            if kind not in failed:
                failed[kind] = f
                errors.append(self.error_entry(BY_KIND[kind], f, budget))
        return out

    def _read_narrow(
        self,
        pool: ThreadPoolExecutor,
        objects: list[dict[str, Any]],
        secret_names: SecretNames,
        service_names: ServiceNames,
        gateway_names: GatewayNames | None,
        failed: dict[str, ApiFailure],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        errors: list[dict[str, Any]] = []
        budget = max(0.1, self.left())
        until = time.monotonic() + budget
        n_given = len(objects)
        if gateway_names is not None:
            objects = objects + self._data_plane(pool, objects, gateway_names, failed, errors, until, budget)
        deployments_read = "Deployment" not in failed

        # A controller role the objects need but no label found: one look across all
        # Deployments (a hand-made install without the charts' labels).
        fallback: list[dict[str, Any]] = []
        if deployments_read and _controller_missing(objects):
            try:
                fallback = self.list_kind(BY_KIND["Deployment"], until)
            except ApiFailure as f:
                failed["Deployment"] = f
                errors.append(self.error_entry("Deployment", f, budget))
                deployments_read = False
            have = {(o.get("kind"), (o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name"))
                    for o in objects}
            fallback = [o for o in fallback if ("Deployment", (o.get("metadata") or {}).get("namespace"),
                                                (o.get("metadata") or {}).get("name")) not in have]
        every = objects + fallback

        secrets = self._choose(secret_names, every, "Secret", errors)
        services = self._choose(service_names, every, "Service", errors)
        configmaps = dns_server_configmaps(every) if deployments_read else []
        have_services = {((o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name"))
                         for o in every if o.get("kind") == "Service"}

        futures: dict[Any, Any] = {}
        for ns, name in secrets or []:
            futures[pool.submit(self.get_named, "Secret", ns, name, until)] = ("Secret", ns, name)
        # A kind whose selected list already failed is unknown: its narrow reads would fail
        # the same way and repeat the cause.
        for ns, name in services if services is not None and "Service" not in failed else []:
            if (ns, name) not in have_services:
                futures[pool.submit(self.get_named, "Service", ns, name, until)] = ("Service", ns, name)
            futures[pool.submit(self.list_kind, BY_KIND["EndpointSlice"], until, ns,
                                f"kubernetes.io/service-name={name}")] = ("EndpointSlice", ns, name)
        for ns, name in configmaps:
            futures[pool.submit(self.get_named, "ConfigMap", ns, name, until)] = ("ConfigMap", ns, name)
        results: dict[Any, Any] = {}
        if futures:
            self._collect(futures, results, until)

        out: list[dict[str, Any]] = list(fallback) + objects[n_given:]
        ok = {"Secret": secrets is not None, "Service": services is not None and "Service" not in failed,
              "EndpointSlice": services is not None, "ConfigMap": deployments_read,
              "Deployment": deployments_read}
        for key in sorted(results, key=lambda t: (t[0], t[1], t[2] or "")):
            kind, ns, name = key
            r = results[key]
            if isinstance(r, ApiFailure):
                verb = "list" if kind == "EndpointSlice" else "get"
                entry = self.error_entry(kind, r, budget, verb)
                entry["reason"] = f"{ns}/{name}: {entry['reason']}"
                errors.append(entry)
                ok[kind] = False
                continue
            if isinstance(r, list):
                out.extend(r)
            elif r is not None and (kind != "ConfigMap" or "Corefile" in (r.get("data") or {})):
                out.append(r)
        if not deployments_read:
            errors.append(
                {
                    "kind": "ConfigMap",
                    "status": "unknown",
                    "reason": "not read: Deployments could not be listed to find the DNS servers' Corefiles",
                }
            )
        return out, errors, [k for k in ("Deployment", "Service", "EndpointSlice", "Secret", "ConfigMap") if ok[k]]


_ROLE_IMAGES = {"cert-manager": "cert-manager-controller", "envoy-gateway": "envoyproxy/gateway",
                "external-dns": "external-dns"}
_ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"


def _controller_missing(objects: list[dict[str, Any]]) -> bool:
    """True when the objects need a controller (cert-manager for Certificates, Envoy Gateway
    for its GatewayClasses) that no label-selected Deployment runs."""
    images = " ".join(
        str((c or {}).get("image") or "")
        for o in objects if o.get("kind") == "Deployment"
        for c in _pod_spec(o).get("containers") or []
    )
    kinds = {o.get("kind") for o in objects}
    if "Certificate" in kinds and _ROLE_IMAGES["cert-manager"] not in images:
        return True
    envoy_classes = any(o.get("kind") == "GatewayClass"
                        and (o.get("spec") or {}).get("controllerName") == _ENVOY_CONTROLLER for o in objects)
    return envoy_classes and _ROLE_IMAGES["envoy-gateway"] not in images


def read_live(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    timeout: float = 10.0,
    secret_names: SecretNames | None = None,
    service_names: ServiceNames | None = None,
    gateway_names: GatewayNames | None = None,
) -> ClusterEvidence:
    """Read the cluster of `context` (kubectl's rules) within `timeout` seconds.

    Raises LiveConfigError when no usable credentials are found; everything that
    happens on the wire is reported inside the returned ClusterEvidence.
    """
    api_client, target = load_api_client(kubeconfig, context)
    try:
        return _Reader(api_client, target, timeout).read(secret_names or default_secret_names,
                                                          service_names or default_service_names, gateway_names)
    finally:
        _close(api_client)


def _close(api_client: Any) -> None:
    try:
        api_client.rest_client.pool_manager.clear()
    finally:
        api_client.close()
