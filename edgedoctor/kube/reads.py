"""One kind of request to the API server each: GET a path as JSON, LIST a kind (pages
followed, by label selector or namespace when given), GET one object by name.

Every answer is parsed from the raw bytes (no model classes of the kubernetes client) and
every object is redacted (`edgedoctor.redact`) the moment it arrives.
"""

from __future__ import annotations

import json
import time
from typing import Any

from edgedoctor.kinds import BY_KIND, Kind
from edgedoctor.kube.failures import ApiFailure, classify_error
from edgedoctor.redact import redact_object

PAGE_SIZE = 500


def api_version(kind: Kind, version: str) -> str:
    return f"{kind.group}/{version}" if kind.group else version


def collection_path(kind: Kind, version: str, namespace: str | None = None) -> str:
    base = f"/apis/{kind.group}/{version}" if kind.group else f"/api/{version}"
    if namespace is not None:
        base += f"/namespaces/{namespace}"
    return f"{base}/{kind.plural}"


class Requests:
    """The requests of one read, each bounded by the `until` (time.monotonic()) it is given."""

    def __init__(self, api_client: Any) -> None:
        self.api = api_client

    def get_json(self, path: str, query: list[tuple[str, Any]], until: float) -> dict[str, Any]:
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
            raise ApiFailure("http", "the API server answered with something other than JSON", 200) from None
        if not isinstance(doc, dict):
            raise ApiFailure("http", "the API server answered with something other than an object", 200)
        return doc

    def list_kind(
        self, kind: Kind, until: float, namespace: str | None = None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        """All objects of a kind (newest served version, matching `selector`), pages followed,
        items completed."""
        last_404: ApiFailure | None = None
        for version in kind.versions:
            try:
                items = self._pages(collection_path(kind, version, namespace), selector, until)
            except ApiFailure as f:
                if f.what == "http" and f.status == 404:
                    last_404 = f
                    continue
                raise
            full = api_version(kind, version)
            out = []
            for item in items:
                # The items are this read's own: their managedFields (often a third of the
                # bytes, never read) go now, in place, rather than in a copy by redact_object.
                meta = item.get("metadata")
                if isinstance(meta, dict):
                    meta.pop("managedFields", None)
                # Core LISTs leave apiVersion/kind off the items; kubectl puts them back.
                if "apiVersion" not in item or "kind" not in item:
                    item = {"apiVersion": full, "kind": kind.kind, **item}
                out.append(redact_object(item))
            return out
        assert last_404 is not None
        raise last_404

    def _pages(self, path: str, selector: str | None, until: float) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cont: str | None = None
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if selector:
                query.append(("labelSelector", selector))
            if cont:
                query.append(("continue", cont))
            doc = self.get_json(path, query, until)
            items.extend(i for i in doc.get("items") or [] if isinstance(i, dict))
            cont = (doc.get("metadata") or {}).get("continue") or None
            if not cont:
                return items

    def get_named(self, kind_name: str, namespace: str, name: str, until: float) -> dict[str, Any] | None:
        """One core object by name (None when it does not exist), redacted on arrival."""
        kind = BY_KIND[kind_name]
        path = f"{collection_path(kind, kind.versions[0], namespace)}/{name}"
        try:
            raw = self.get_json(path, [], until)
        except ApiFailure as f:
            if f.what == "http" and f.status == 404:
                return None
            raise
        raw.setdefault("apiVersion", api_version(kind, kind.versions[0]))
        raw["kind"] = kind.kind
        redacted = redact_object(raw)
        if kind.kind == "Secret":
            raw.clear()  # drop the key material now, not whenever the GC gets to it
        return redacted
