"""Who owns an object besides the API server: Flux, Argo CD, Helm, or an operator.

A live patch to such an object lasts until the owner's next sync. The step then
says so and shows the change to commit (a YAML fragment of the object, or the
Helm values) next to, or instead of, the live patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_dict,
    as_list,
    labels,
    meta,
    name_of,
    ns_of,
)
from edgedoctor.textfmt import dump_yaml


@dataclass(frozen=True)
class Owner:
    tool: str  # flux-kustomization | flux-helmrelease | argocd | helm | operator
    name: str
    namespace: str | None
    text: str  # "Flux Kustomization flux-system/gateway-config"


def owners(obj: Obj) -> list[Owner]:
    lab, ann = labels(obj), annotations_of(obj)
    out: list[Owner] = []
    if lab.get("kustomize.toolkit.fluxcd.io/name"):
        n, ns = lab["kustomize.toolkit.fluxcd.io/name"], lab.get("kustomize.toolkit.fluxcd.io/namespace")
        out.append(Owner("flux-kustomization", n, ns, f"Flux Kustomization {ns + '/' if ns else ''}{n}"))
    if lab.get("helm.toolkit.fluxcd.io/name"):
        n, ns = lab["helm.toolkit.fluxcd.io/name"], lab.get("helm.toolkit.fluxcd.io/namespace")
        out.append(Owner("flux-helmrelease", n, ns, f"Flux HelmRelease {ns + '/' if ns else ''}{n}"))
    tracking = ann.get("argocd.argoproj.io/tracking-id")
    instance = lab.get("argocd.argoproj.io/instance") or (tracking.split(":", 1)[0] if tracking else None)
    if instance:
        out.append(Owner("argocd", instance, None, f"Argo CD Application {instance}"))
    if lab.get("app.kubernetes.io/managed-by") == "Helm" or ann.get("meta.helm.sh/release-name"):
        release = helm_release(obj)
        rns = ann.get("meta.helm.sh/release-namespace") or ns_of(obj) or None
        if not any(o.tool == "flux-helmrelease" for o in out):
            out.append(Owner("helm", release, rns, f"Helm release {release}" + (f" in {rns}" if rns else "")))
    for o in as_list(meta(obj).get("ownerReferences")):
        o = as_dict(o)
        if o.get("kind") in ("SealedSecret", "ExternalSecret", "SopsSecret") and o.get("controller"):
            out.append(Owner("operator", str(o.get("name")), ns_of(obj) or None, f"{o.get('kind')} {o.get('name')}"))
    return out


def helm_release(obj: Obj) -> str:
    ann, lab = annotations_of(obj), labels(obj)
    return (ann.get("meta.helm.sh/release-name") or lab.get("helm.toolkit.fluxcd.io/name")
            or lab.get("app.kubernetes.io/instance") or lab.get("app.kubernetes.io/name") or name_of(obj))


def to_yaml(doc: Any) -> str:
    return dump_yaml(doc).rstrip() + "\n"


def fragment(obj: Obj, body: dict[str, Any], api_version: str | None = None) -> str:
    """The part of the object's manifest to change in Git, with its identity."""
    head: dict[str, Any] = {
        "apiVersion": api_version or obj.get("apiVersion") or "v1",
        "kind": obj.get("kind"),
        "metadata": {"name": name_of(obj), **({"namespace": ns_of(obj)} if ns_of(obj) else {})},
    }
    doc = dict(head)
    for k, v in body.items():
        if k == "metadata" and isinstance(v, dict):
            doc["metadata"] = {**head["metadata"], **v}
        else:
            doc[k] = v
    return to_yaml(doc)


def note(obj: Obj | None, *, snippet: str | None, helm_values: dict[str, Any] | None = None,
         created: bool = False) -> tuple[str | None, str | None]:
    """(gitops message, snippet to commit) for a change to obj; (None, None) when no owner.

    created: the change creates a new object next to obj (obj is the GitOps-managed
    neighbour whose repository should hold it).
    """
    if obj is None:
        return None, None
    found = owners(obj)
    if not found:
        return None, None
    parts = []
    what = "this new object" if created else "the change"
    values_text = to_yaml(helm_values) if helm_values else None
    commit = snippet
    for o in found:
        if o.tool == "flux-kustomization":
            parts.append(
                f"{_ref(obj)} is managed by {o.text}: "
                + ("commit " + what + " to the Git path that Kustomization applies, or it exists only in the cluster"
                   if created else
                   "it reverts a live patch at its next reconciliation; commit the change to the Git path it applies")
            )
        elif o.tool == "flux-helmrelease":
            parts.append(
                f"{_ref(obj)} is installed by {o.text}: a live patch lasts until the next reconciliation; "
                "set the values in the HelmRelease's spec.values in Git"
            )
            if values_text:
                commit = "# HelmRelease " + (f"{o.namespace}/" if o.namespace else "") + o.name + ", spec.values:\n" + values_text
        elif o.tool == "argocd":
            parts.append(
                f"{_ref(obj)} is managed by {o.text}: with self-heal on, the next sync reverts a live patch; "
                f"commit {what} to the Application's source repository"
            )
        elif o.tool == "helm":
            parts.append(
                f"{_ref(obj)} is installed by {o.text}: the next `helm upgrade` overwrites a live patch; "
                "put it in the release's values"
            )
            if values_text:
                commit = "# values for helm release " + o.name + ":\n" + values_text
        elif o.tool == "operator":
            parts.append(
                f"{_ref(obj)} is written by {o.text}: the operator overwrites a live change; update the source "
                "it is generated from (your secret store, or re-seal it)"
            )
    return "; ".join(parts), commit


def _ref(obj: Obj) -> str:
    ns = ns_of(obj)
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{name_of(obj)}"
