"""Steps of upgrade-cert-manager (also used by cert-manager-cloudflare-cleanup-bug): the running
version, the release with the fix, the Helm/Git change that upgrades it.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.acme_errors import cloudflare_cleanup_bug_affected
from edgedoctor.diagnosis.controllers import Controller, fmt_version, image_tag
from edgedoctor.diagnosis.index import (
    Obj,
    as_dict,
    as_list,
    spec,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.errors import NotApplicable
from edgedoctor.remedy.playbooks.common import cert_manager, read_of


def read_cert_manager_version(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cm = cert_manager(pc)
    if cm is None:
        pc.notes.append("no cert-manager controller Deployment was found in the cluster")
        return [Expansion(target=None, reads=[], explain="No cert-manager controller Deployment was read.")]
    return [Expansion(target=obj_ref(cm.deployment),
                      reads=[read_of(cm.deployment, ["spec.template.spec.containers[*].image", "status.availableReplicas"])],
                      values={"cert_manager_namespace": cm.namespace, "cert_manager_deployment": cm.name})]


# ---------------------------------------------------------------- controller upgrade (shown, never made live)


FIXED = {
    (1, 12): (1, 12, 16),
    (1, 16): (1, 16, 4),
    (1, 17): (1, 17, 1),
}


def cloudflare_fix_target(version: tuple[int, int, int] | None) -> tuple[int, int, int]:
    if version is not None and version[:2] in FIXED:
        return FIXED[version[:2]]
    return (1, 18, 0)


def v1160_fix_target(version: tuple[int, int, int] | None) -> tuple[int, int, int]:
    # v1.16.1 fixes the Secret namespace; v1.16.4 also has the Cloudflare cleanup fix,
    # which every Cloudflare user needs since January 2025.
    return (1, 16, 4)


def fixed_for(issue: str, version: tuple[int, int, int] | None) -> bool | None:
    if version is None:
        return None
    if issue == "v1160":
        return version != (1, 16, 0)
    affected = cloudflare_cleanup_bug_affected(version)
    return None if affected is None else not affected


def upgrade_cert_manager(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    issue = str(params.get("issue") or "cloudflare")
    cm = cert_manager(pc)
    if cm is None:
        raise NotApplicable("no cert-manager controller Deployment was found: nothing to upgrade")
    target = cloudflare_fix_target(cm.version) if issue == "cloudflare" else v1160_fix_target(cm.version)
    tv = fmt_version(target)
    fixed = fixed_for(issue, cm.version)
    dep = cm.deployment
    container = next((c for c in as_list(as_dict(as_dict(spec(dep).get("template")).get("spec")).get("containers"))
                      if isinstance(c, dict) and c.get("image") == cm.image), {})
    new_image = cm.image.rsplit(":", 1)[0] + ":" + tv if image_tag(cm.image) else cm.image + ":" + tv
    change = C.manual(dep, [f"spec.template.spec.containers[name={container.get('name', 'cert-manager-controller')}].image"],
                      {"image": new_image, "chart_version": tv})
    values = {"target_version": tv, "current_version": fmt_version(cm.version), "cert_manager_namespace": cm.namespace}
    msg, snippet, command = _upgrade_instructions(dep, cm, tv)
    x = Expansion(target=obj_ref(dep), change=change, values=values, command=command,
                  gitops=msg, git_snippet=snippet,
                  explain=f"cert-manager runs {fmt_version(cm.version)} ({cm.image}); the fix is in {tv}"
                          + (" and later." if issue == "cloudflare" else " (v1.16.1 fixes the Secret namespace; v1.16.4 also the Cloudflare cleanup).")
                          + " Read the upgrade notes of every minor release in between before upgrading.")
    if fixed:
        x.satisfied = f"cert-manager {fmt_version(cm.version)} already has the fix"
    elif fixed is None:
        x.blocked = f"the controller version is unknown ({cm.image}): check it by hand, then upgrade to {tv} or later"
    else:
        x.blocked = ("a controller upgrade is a Helm/GitOps change: edgedoctor shows it and does not make it live "
                     "(the chart also updates CRDs and RBAC, and the owner would revert a patched image)")
    return [x]


def _upgrade_instructions(dep: Obj, cm: Controller, tv: str) -> tuple[str, str, str]:
    found = gitops.owners(dep)
    flux = next((o for o in found if o.tool == "flux-helmrelease"), None)
    argo = next((o for o in found if o.tool == "argocd"), None)
    helm = next((o for o in found if o.tool == "helm"), None)
    if flux is not None:
        snippet = gitops.to_yaml({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": flux.name, **({"namespace": flux.namespace} if flux.namespace else {})},
            "spec": {"chart": {"spec": {"version": tv}}},
        })
        return (f"cert-manager is installed by {flux.text}: set spec.chart.spec.version to {tv} in Git and let Flux upgrade it",
                snippet, f"flux reconcile helmrelease {flux.name} -n {flux.namespace or 'flux-system'} --with-source   # after the commit")
    if argo is not None:
        snippet = gitops.to_yaml({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": argo.name, "namespace": "argocd"},
            "spec": {"source": {"chart": "cert-manager", "repoURL": "https://charts.jetstack.io", "targetRevision": tv}},
        })
        return (f"cert-manager is managed by {argo.text}: set the Application's spec.source.targetRevision to {tv} in Git",
                snippet, f"argocd app sync {argo.name}   # after the commit")
    if helm is not None:
        cmd = f"helm upgrade {helm.name} jetstack/cert-manager -n {cm.namespace} --version {tv} --reuse-values"
        return (f"cert-manager is installed by {helm.text}: upgrade the release (CRDs as your install does them)",
                "", "helm repo update jetstack\n" + cmd)
    cmd = f"kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/{tv}/cert-manager.yaml"
    return ("cert-manager was installed from static manifests: apply the manifests of the fixed release",
            "", cmd)
