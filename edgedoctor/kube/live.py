"""Read the cluster evidence from a live API server.

Every kind of edgedoctor.kinds is LISTed across all namespaces, concurrently,
except two that are read narrowly because they are sensitive or large:

- Secrets: only the ones the edge points at, GET by name, each reduced by
  `edgedoctor.redact` the moment it arrives (no key or token is kept);
- ConfigMaps: only in namespaces running a k8s_gateway/CoreDNS Deployment, and
  only those holding a Corefile.

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
    "dns_server_namespaces",
]

SecretNames = Callable[[list[dict[str, Any]]], Iterable[tuple[str, str]]]

WORKERS = 8
PAGE_SIZE = 500
# Images of the DNS servers whose Corefile the diagnosis reads.
DNS_SERVER_IMAGES = ("k8s_gateway", "k8s-gateway", "coredns")
# Kinds read narrowly, after the cluster-wide LISTs.
_NARROW = ("Secret", "ConfigMap")


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
        self, kind: Kind, until: float, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        """All objects of a kind (newest served version), pages followed, items completed."""
        last_404: ApiFailure | None = None
        for version in kind.versions:
            items: list[dict[str, Any]] = []
            cont: str | None = None
            try:
                while True:
                    if kind.is_core or namespace is not None:
                        query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
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

    def get_secret(self, namespace: str, name: str, until: float) -> dict[str, Any] | None:
        kind = BY_KIND["Secret"]
        path = f"{_collection_path(kind, 'v1', namespace)}/{name}"
        try:
            raw = self._raw_get(path, [], until)
        except ApiFailure as f:
            if f.what == "http" and f.status == 404:
                return None
            raise
        raw.setdefault("apiVersion", "v1")
        raw["kind"] = "Secret"
        redacted = redact_object(raw)
        raw.clear()  # drop the key material now, not whenever the GC gets to it
        return redacted

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

    def unreachable(self, why: str, reason: str | None = None) -> ClusterEvidence:
        return ClusterEvidence(
            reachable=False,
            context=self.target.context,
            cluster=self.target.cluster,
            errors=[
                {
                    "kind": "*",
                    "status": "unknown",
                    "reason": reason
                    or f"cannot reach the API server at {self.target.server}: {why}",
                }
            ],
        )

    # -- the whole read

    def probe(self) -> ClusterEvidence | None:
        """One cheap request first, so a dead server costs one timeout, not one per kind."""
        budget = min(self.left(), max(1.0, self.timeout * 0.3))
        try:
            self._raw_get("/version", [], time.monotonic() + budget)
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
                    f"context '{self.target.context}' (401 Unauthorized)",
                )
            # Any other HTTP answer: the server is there; the LISTs will tell the rest.
        return None

    def read(self, secret_names: SecretNames) -> ClusterEvidence:
        dead = self.probe()
        if dead is not None:
            return dead

        wide = [k for k in KINDS if k.kind not in _NARROW]
        # The LISTs get most of what is left; the narrow reads that depend on them the rest.
        list_budget = max(0.1, self.left() * 0.6)
        list_until = time.monotonic() + list_budget
        results: dict[str, list[dict[str, Any]] | ApiFailure] = {}
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="edgedoctor-kube")
        try:
            futures = {pool.submit(self.list_kind, k, list_until): k.kind for k in wide}
            self._collect(futures, results, list_until)

            if all(isinstance(r, ApiFailure) and r.what == "connect" for r in results.values()):
                first = next(iter(results.values()))
                assert isinstance(first, ApiFailure)
                return self.unreachable(first.message)

            objects: list[dict[str, Any]] = []
            for k in wide:
                r = results[k.kind]
                if isinstance(r, list):
                    objects.extend(r)
            errors: list[dict[str, Any]] = []
            kinds_read: list[str] = []
            for k in wide:
                r = results[k.kind]
                if isinstance(r, ApiFailure):
                    errors.append(self.error_entry(k, r, list_budget))
                else:
                    kinds_read.append(k.kind)

            narrow_objects, narrow_errors, narrow_read = self._read_narrow(
                pool, objects, secret_names, "Deployment" in kinds_read
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

    def _read_narrow(
        self,
        pool: ThreadPoolExecutor,
        objects: list[dict[str, Any]],
        secret_names: SecretNames,
        deployments_read: bool,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        errors: list[dict[str, Any]] = []
        read: list[str] = []
        budget = max(0.1, self.left())
        until = time.monotonic() + budget

        try:
            wanted = sorted({(str(ns), str(n)) for ns, n in secret_names(objects) if ns and n})
        except Exception as e:  # the chooser is diagnosis code: a bug there must not end the read
            wanted = None
            errors.append(
                {
                    "kind": "Secret",
                    "status": "error",
                    "reason": f"choosing Secrets failed: {e!r}"[:300],
                }
            )
        dns_namespaces = dns_server_namespaces(objects) if deployments_read else []

        futures: dict[Any, Any] = {}
        for ns, name in wanted or []:
            futures[pool.submit(self.get_secret, ns, name, until)] = ("Secret", ns, name)
        for ns in dns_namespaces:
            futures[pool.submit(self.list_kind, BY_KIND["ConfigMap"], until, ns)] = (
                "ConfigMap",
                ns,
                None,
            )
        results: dict[Any, Any] = {}
        if futures:
            self._collect(futures, results, until)

        out: list[dict[str, Any]] = []
        secret_ok = wanted is not None
        configmap_ok = deployments_read
        for key in sorted(results, key=lambda t: (t[0], t[1], t[2] or "")):
            kind, ns, name = key
            r = results[key]
            if isinstance(r, ApiFailure):
                entry = self.error_entry(kind, r, budget, "get" if kind == "Secret" else "list")
                where = f"{ns}/{name}" if name else f"namespace {ns}"
                entry["reason"] = f"{where}: {entry['reason']}"
                errors.append(entry)
                if kind == "Secret":
                    secret_ok = False
                else:
                    configmap_ok = False
                continue
            if kind == "Secret":
                if r is not None:
                    out.append(r)
            else:
                out.extend(cm for cm in r if "Corefile" in (cm.get("data") or {}))
        if not deployments_read:
            errors.append(
                {
                    "kind": "ConfigMap",
                    "status": "unknown",
                    "reason": "not read: Deployments could not be listed to find the DNS servers' namespaces",
                }
            )
        if secret_ok:
            read.append("Secret")
        if configmap_ok:
            read.append("ConfigMap")
        return out, errors, read


def read_live(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    timeout: float = 10.0,
    secret_names: SecretNames | None = None,
) -> ClusterEvidence:
    """Read the cluster of `context` (kubectl's rules) within `timeout` seconds.

    Raises LiveConfigError when no usable credentials are found; everything that
    happens on the wire is reported inside the returned ClusterEvidence.
    """
    api_client, target = load_api_client(kubeconfig, context)
    try:
        return _Reader(api_client, target, timeout).read(secret_names or default_secret_names)
    finally:
        _close(api_client)


def _close(api_client: Any) -> None:
    try:
        api_client.rest_client.pool_manager.clear()
    finally:
        api_client.close()
