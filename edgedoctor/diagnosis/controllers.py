"""The controllers of the edge: which run, at what version, with which flags.

Found by image name (what people deploy under any Deployment name), with the
standard Helm labels as a second signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from edgedoctor.diagnosis.index import (
    ClusterIndex,
    Obj,
    as_dict,
    as_list,
    cond_status,
    labels,
    name_of,
    ns_of,
    spec,
    status,
)

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass
class Controller:
    role: str  # envoy-gateway | cert-manager | external-dns | k8s-gateway
    deployment: Obj
    image: str
    version: tuple[int, int, int] | None
    version_text: str | None
    args: list[str] = field(default_factory=list)
    # Answers read many times per diagnosis (and across hosts by lint): computed once.
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return name_of(self.deployment)

    @property
    def namespace(self) -> str:
        return ns_of(self.deployment)

    @property
    def available(self) -> bool:
        if "available" not in self._memo:
            self._memo["available"] = deployment_available(self.deployment)
        return bool(self._memo["available"])

    def _flag(self, flag: str) -> list[str]:
        key = ("flag", flag)
        vals = self._memo.get(key)
        if vals is None:
            vals = self._memo[key] = flag_values(self.args, flag)
        return vals

    def flag_values(self, flag: str) -> list[str]:
        return list(self._flag(flag))

    def flag(self, flag: str) -> str | None:
        vals = self._flag(flag)
        return vals[-1] if vals else None


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    if not text:
        return None
    m = _VERSION.search(text)
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def image_tag(image: str) -> str | None:
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return None


def flag_values(args: list[str], flag: str) -> list[str]:
    """Values of `--flag=value` and `--flag value` in a container's args."""
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith(flag + "="):
            out.append(a[len(flag) + 1 :])
        elif a == flag and i + 1 < len(args) and not args[i + 1].startswith("--"):
            out.append(args[i + 1])
            i += 1
        i += 1
    return out


def deployment_available(dep: Obj) -> bool:
    replicas = spec(dep).get("replicas")
    if isinstance(replicas, int) and replicas == 0:
        return False
    st = status(dep)
    avail = cond_status(st.get("conditions"), "Available")
    if avail is not None:
        return avail == "True" and _int(st.get("availableReplicas"), 1) > 0
    return _int(st.get("availableReplicas"), 0) > 0 or _int(st.get("readyReplicas"), 0) > 0


def _int(v: Any, default: int) -> int:
    return v if isinstance(v, int) else default


def _containers(dep: Obj) -> list[dict[str, Any]]:
    pod = as_dict(as_dict(spec(dep).get("template")).get("spec"))
    return [c for c in as_list(pod.get("containers")) if isinstance(c, dict)]


_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cert-manager", re.compile(r"(^|/)cert-manager-controller(:|@|$)")),
    ("envoy-gateway", re.compile(r"(^|/)envoyproxy/gateway(:|@|$)")),
    ("external-dns", re.compile(r"(^|/)external-dns(:|@|$)")),
    ("k8s-gateway", re.compile(r"(^|/)k8s[_-]gateway(:|@|$)")),
)


def _role_by_labels(dep: Obj) -> str | None:
    lab = labels(dep)
    name = lab.get("app.kubernetes.io/name") or lab.get("app") or ""
    component = lab.get("app.kubernetes.io/component", "")
    if name == "cert-manager" and component in ("controller", ""):
        return "cert-manager"
    if name in ("external-dns",):
        return "external-dns"
    if name in ("k8s-gateway", "k8s_gateway"):
        return "k8s-gateway"
    if name == "gateway-helm" or (name == "envoy-gateway"):
        return "envoy-gateway"
    return None


def find_controllers(idx: ClusterIndex) -> dict[str, list[Controller]]:
    found: dict[str, list[Controller]] = {}
    for dep in idx.all("Deployment"):
        containers = _containers(dep)
        role = None
        chosen: dict[str, Any] | None = None
        for c in containers:
            image = str(c.get("image") or "")
            for r, pat in _ROLES:
                if pat.search(image):
                    role, chosen = r, c
                    break
            if role:
                break
        if role is None:
            role = _role_by_labels(dep)
            # cert-manager's webhook and cainjector carry the same name label.
            if role == "cert-manager" and containers and not any(
                "controller" in str(c.get("image", "")) for c in containers
            ):
                role = None
            chosen = containers[0] if containers else {}
        if role is None or chosen is None:
            continue
        image = str(chosen.get("image") or "")
        tag = image_tag(image)
        vtext = tag or labels(dep).get("app.kubernetes.io/version")
        version = parse_version(vtext)
        if version is None:
            vtext = labels(dep).get("app.kubernetes.io/version")
            version = parse_version(vtext)
        args = [str(a) for a in as_list(chosen.get("args")) + as_list(chosen.get("command"))]
        found.setdefault(role, []).append(
            Controller(role, dep, image, version, vtext if version else None, args)
        )
    return found


def fmt_version(v: tuple[int, int, int] | None) -> str:
    return "unknown" if v is None else f"v{v[0]}.{v[1]}.{v[2]}"
