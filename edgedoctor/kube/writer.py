"""Change cluster objects for a confirmed playbook step: access review, dry run, write.

Every call is one request with raw JSON bodies and plain-dict answers. A dry run is
the server's own (`dryRun=All`): admission webhooks and validation run, nothing is
stored. Request bodies are never logged (a Secret update carries key material), and
any Secret the server sends back is redacted before it is returned.
"""

from __future__ import annotations

import json
import time
from typing import Any

from edgedoctor.kinds import BY_KIND, Kind
from edgedoctor.redact import redact_object

FIELD_MANAGER = "edgedoctor"
IDLE_RECONNECT = 20.0  # seconds
PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


class WriteError(Exception):
    """A request the API server refused or never answered.

    status is the HTTP code (0 when there was no answer); reason is one line.
    """

    def __init__(self, status: int, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {reason}" if status else reason)
        self.status = status
        self.reason = reason
        # The Status details of the answer (name, group, kind of the object), if any.
        self.details = details or {}


def _kind(kind: str) -> Kind:
    try:
        return BY_KIND[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r} (not in edgedoctor.kinds)") from None


def _path(
    k: Kind, version: str, namespace: str | None, name: str | None = None, sub: str = ""
) -> str:
    base = f"/apis/{k.group}/{version}" if k.group else f"/api/{version}"
    if k.namespaced:
        if not namespace:
            raise ValueError(f"{k.kind} is namespaced: a namespace is required")
        base += f"/namespaces/{namespace}"
    path = f"{base}/{k.plural}"
    if name is not None:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path


def _resource_missing(e: WriteError) -> bool:
    """A 404 for the resource type (version not served), not for the object."""
    return e.status == 404 and not e.details.get("name")


class ClusterWriter:
    """Writes through one kubernetes ApiClient (see from_config)."""

    def __init__(self, api_client: Any, *, timeout: float = 10.0) -> None:
        self._api = api_client
        self.timeout = timeout
        self._server = getattr(getattr(api_client, "configuration", None), "host", "")
        # Version that answered for a kind; the first is tried first otherwise.
        self._versions: dict[str, str] = {}
        self._last_request = 0.0

    @classmethod
    def from_config(
        cls, kubeconfig: str | None = None, context: str | None = None, *, timeout: float = 10.0
    ) -> ClusterWriter:
        from edgedoctor.kube.config import load_api_client

        api_client, _target = load_api_client(kubeconfig, context)
        return cls(api_client, timeout=timeout)

    def close(self) -> None:
        try:
            self._api.rest_client.pool_manager.clear()
        finally:
            self._api.close()

    def __enter__(self) -> ClusterWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the wire

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        from edgedoctor.kube.failures import classify_error

        # A playbook waits on a person between requests; a load balancer in front of
        # the API server may have dropped the idle connection without a word, and a
        # write sent on it would only time out. Start afresh after a pause.
        now = time.monotonic()
        if now - self._last_request > IDLE_RECONNECT:
            self._api.rest_client.pool_manager.clear()
        self._last_request = now
        try:
            resp = self._api.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=self.timeout,
            )
            try:
                data = resp.data
            finally:
                resp.release_conn()
        except Exception as e:
            f = classify_error(e)
            if f.what == "internal":
                # Only the type: the message of an unexpected error might quote the body.
                raise WriteError(0, f"request failed: {type(e).__name__}") from None
            if f.what == "http":
                status_doc = _json_or_none(getattr(e, "body", None))
                details = status_doc.get("details") if isinstance(status_doc, dict) else None
                raise WriteError(
                    f.status,
                    f.message or f"HTTP {f.status}",
                    details if isinstance(details, dict) else None,
                ) from None
            if f.what == "timeout":
                raise WriteError(0, f"timed out after {self.timeout:g}s") from None
            raise WriteError(
                0, f"cannot reach the API server at {self._server}: {f.message}"
            ) from None
        doc = _json_or_none(data)
        if not isinstance(doc, dict):
            raise WriteError(0, "the API server answered with something other than a JSON object")
        return doc

    def _versioned(self, kind: str, call: Any) -> dict[str, Any]:
        """Run call(kind, version) on the served version, newest first."""
        k = _kind(kind)
        versions = [self._versions[kind]] if kind in self._versions else list(k.versions)
        last: WriteError | None = None
        for version in versions:
            try:
                out = call(k, version)
            except WriteError as e:
                if _resource_missing(e) and len(versions) > 1:
                    last = e
                    continue
                raise
            self._versions[kind] = version
            return redact_object(out) if out.get("kind") == "Secret" else out
        assert last is not None
        raise WriteError(
            404, f"the API server does not serve {k.plural}.{k.group or 'core'} ({last.reason})"
        )

    @staticmethod
    def _query(dry_run: bool) -> list[tuple[str, str]]:
        q = [("fieldManager", FIELD_MANAGER)]
        if dry_run:
            q.append(("dryRun", "All"))
        return q

    # -- public API

    def access_review(
        self,
        verb: str,
        group: str,
        resource: str,
        namespace: str | None,
        name: str | None = None,
        subresource: str = "",
    ) -> tuple[bool, str]:
        """SelfSubjectAccessReview: may the current user do this? (allowed, reason)."""
        attrs: dict[str, Any] = {"verb": verb, "group": group, "resource": resource}
        if namespace:
            attrs["namespace"] = namespace
        if name:
            attrs["name"] = name
        if subresource:
            attrs["subresource"] = subresource
        doc = self._request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs},
            },
        )
        status = doc.get("status") or {}
        allowed = bool(status.get("allowed")) and not status.get("denied")
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        if not reason:
            what = f"{resource}/{subresource}" if subresource else resource
            what = f"{what}.{group}" if group else what
            where = f" in namespace {namespace}" if namespace else " cluster-wide"
            target = f" {name!r}" if name else ""
            reason = (
                f"allowed to {verb} {what}{target}{where}"
                if allowed
                else f"not allowed to {verb} {what}{target}{where} (no RBAC rule grants it)"
            )
        return allowed, " ".join(reason.split())

    def whoami(self) -> str:
        """The user the API server authenticates these credentials as (SelfSubjectReview,
        authentication.k8s.io/v1, served since Kubernetes 1.28); raises WriteError."""
        doc = self._request(
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        info = (doc.get("status") or {}).get("userInfo") or {}
        name = info.get("username")
        if not isinstance(name, str) or not name:
            raise WriteError(0, "the SelfSubjectReview named no user")
        return name

    def secret_holds(self, namespace: str, name: str, key: str, value: str) -> bool:
        """Does Secret namespace/name hold VALUE under KEY? Only the answer leaves this
        method: the Secret's data is compared in memory and dropped (never returned,
        logged or kept), so a rotation can tell that the same token is already there."""
        import base64
        import hmac

        k = _kind("Secret")
        raw = self._versioned_raw(k, namespace, name)
        data = raw.get("data") if isinstance(raw, dict) else None
        held = data.get(key) if isinstance(data, dict) else None
        raw = data = None
        if not isinstance(held, str):
            return False
        try:
            have = base64.b64decode(held, validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(have, value.encode())

    def _versioned_raw(self, k: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", _path(k, k.versions[0], namespace, name))
        except WriteError as e:
            if e.status == 404:
                return None
            raise

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self._versioned(
                kind, lambda k, v: self._request("GET", _path(k, v, namespace, name))
            )
        except WriteError as e:
            if e.status == 404:
                return None
            raise

    def patch(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        patch: dict[str, Any] | list[Any],
        *,
        patch_type: str = "merge",
        subresource: str = "",
        dry_run: bool,
    ) -> dict[str, Any]:
        try:
            content_type = PATCH_CONTENT_TYPES[patch_type]
        except KeyError:
            raise ValueError(f"patch_type must be one of {sorted(PATCH_CONTENT_TYPES)}") from None
        if patch_type == "json" and not isinstance(patch, list):
            raise ValueError("a json patch is a list of operations")
        if patch_type != "json" and not isinstance(patch, dict):
            raise ValueError(f"a {patch_type} patch is an object")
        return self._versioned(
            kind,
            lambda k, v: self._request(
                "PATCH",
                _path(k, v, namespace, name, subresource),
                body=patch,
                query=self._query(dry_run),
                content_type=content_type,
            ),
        )

    def update_status(
        self, kind: str, namespace: str, name: str, obj: dict[str, Any], *, dry_run: bool
    ) -> dict[str, Any]:
        """PUT the whole object to .../status; only its status is taken."""
        return self._versioned(
            kind,
            lambda k, v: self._request(
                "PUT", _path(k, v, namespace, name, "status"), body=obj, query=self._query(dry_run)
            ),
        )

    def create(
        self, kind: str, namespace: str | None, obj: dict[str, Any], *, dry_run: bool
    ) -> dict[str, Any]:
        def call(k: Kind, v: str) -> dict[str, Any]:
            body = dict(obj)
            body.setdefault("apiVersion", f"{k.group}/{v}" if k.group else v)
            body.setdefault("kind", k.kind)
            return self._request(
                "POST", _path(k, v, namespace), body=body, query=self._query(dry_run)
            )

        return self._versioned(kind, call)

    def delete(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        dry_run: bool,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """DELETE with every option inside the DeleteOptions body.

        kube-apiserver decodes a DELETE's options from the body whenever one is sent
        and then ignores the query string, so `dryRun` in the query next to a body is
        silently dropped and the "dry run" deletes for real. The preconditions make the
        server refuse (409) when the object was re-created (uid) or changed
        (resourceVersion) since it was read, instead of deleting the wrong thing.
        """
        options: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        }
        if dry_run:
            options["dryRun"] = ["All"]
        preconditions = {
            key: value
            for key, value in (("uid", uid), ("resourceVersion", resource_version))
            if value
        }
        if preconditions:
            options["preconditions"] = preconditions
        return self._versioned(
            kind,
            lambda k, v: self._request("DELETE", _path(k, v, namespace, name), body=options),
        )


def _json_or_none(data: Any) -> Any:
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if not isinstance(data, str):
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None
