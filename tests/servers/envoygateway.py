"""The real Envoy Gateway controller (v1.9.1, built by .ci/kube/envoy-gateway.sh) against a
control plane of its own, writing the statuses edgedoctor reads.

    with EnvoyGatewayWorld.start(workdir) as world:
        world.cluster.load(objects)                 # a KubeCluster (tests/servers/kubeapi.py)
        world.play_infrastructure("gateway", "external", address="203.0.113.10", ready=1)

Why a control plane of its own: the controller acts on every GatewayClass naming its
controllerName (the standard one, which edgedoctor and the recordings use) and creates the
data plane's Deployments, Services and Secrets in its namespace; the session's shared API
server holds other tests' objects with recorded statuses, which it must not rewrite.

Loopback only: Envoy Gateway binds its xDS (18000), wasm (18002), metrics (19001), health
(8081) servers on every interface at fixed ports, with no setting to change that. It runs
in a network namespace of its own (tests/servers/nsrelay.py): only `lo`, nothing reachable
from outside, no port shared with another test session. The one thing it must reach, the
API server on the host's loopback, is relayed into the namespace at the same address and
port, so its kubeconfig is the admin's as is.

Certificates: `certgen --local` writes the xDS server's certificates under a config home in
this session's directory; the server (Kubernetes provider) reads them from the fixed path
/certs, so it runs in a private mount namespace where that directory is bind-mounted on
/certs. /certs on the host is only a mount point: created if absent (and removed at the
end if this session created it and it is still empty), never written.
`certgen` against the API server makes the Secrets the controller expects (HMAC, the data
plane's certificates) in ENVOY_GATEWAY_NAMESPACE.

Everything is stopped by PID; the namespaces go away with their last process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.servers.common import Process, require_binary, wait_until
from tests.servers.kubeapi import KUBE_DIR, KubeCluster, _missing, cache_root, require_build
from tests.servers.pki import TestCA

ENVOY_GATEWAY_VERSION = "v1.9.1"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
NAMESPACE = "envoy-gateway-system"
CERTS = Path("/certs")
RELAY = Path(__file__).with_name("nsrelay.py")
# Labels the controller puts on the data plane it makes for a Gateway.
OWNING_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNING_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"


def build_dir() -> Path:
    """The directory envoy-gateway.sh builds into: keyed on that script alone."""
    key = hashlib.sha256((KUBE_DIR / "envoy-gateway.sh").read_bytes()).hexdigest()[:16]
    return cache_root() / f"envoy-gateway-{ENVOY_GATEWAY_VERSION}-{key}"


def require_envoy_gateway() -> str:
    path = build_dir() / "bin" / "envoy-gateway"
    if not (build_dir() / ".complete").is_file() or not os.access(path, os.X_OK):
        _missing(f"{path} is missing: run `bash .ci/kube/build.sh` (it builds Envoy Gateway {ENVOY_GATEWAY_VERSION})")
    if os.geteuid() != 0:
        _missing("the Envoy Gateway tests need root (a network and a mount namespace of their own)")
    for tool in ("nsenter", "unshare", "mount"):
        require_binary(tool, "util-linux")
    return str(path)


def config(path: Path) -> Path:
    """The EnvoyGateway configuration: the Kubernetes provider, one controller (no leader
    election to wait for), no topology injector (a webhook no API server here calls)."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "EnvoyGateway",
        "gateway": {"controllerName": CONTROLLER_NAME},
        "logging": {"level": {"default": "info"}},
        "provider": {"type": "Kubernetes", "kubernetes": {
            "leaderElection": {"disable": True},
            "proxyTopologyInjector": {"disable": True},
        }},
    }))
    return path


class EnvoyGatewayWorld:
    """A control plane and the controller; start() makes both, stop() ends every process."""

    def __init__(self, workdir: Path, binary: str) -> None:
        self.workdir = workdir
        self.binary = binary
        self.cluster = KubeCluster(workdir / "kube", require_build(), TestCA(now=dt.datetime.now(dt.timezone.utc)))
        self.processes: list[Process] = []
        self.made_certs_dir = False
        self.ready_seconds = 0.0
        self.starts = 0

    @classmethod
    def start(cls, workdir: Path) -> EnvoyGatewayWorld:
        world = cls(workdir, require_envoy_gateway())
        try:
            world._start()
        except Exception as e:
            tail = world.log_tail()
            world.stop()
            raise RuntimeError(f"Envoy Gateway did not start: {e}\n{tail}") from None
        return world

    def __enter__(self) -> EnvoyGatewayWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, argv: list[str], env: dict[str, str], what: str) -> None:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}")

    def _start(self) -> None:
        (self.workdir / "kube").mkdir(parents=True, exist_ok=True)
        self.cluster.start()
        started = time.monotonic()
        api = self.cluster.api
        if api.get("Namespace", None, NAMESPACE) is None:
            api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        kubeconfig = self.cluster.kubeconfig("admin", path=self.workdir / "envoy-gateway.kubeconfig")
        env = {"KUBECONFIG": str(kubeconfig), "ENVOY_GATEWAY_NAMESPACE": NAMESPACE}
        home = self.workdir / "envoy-gateway-home"
        self._run([self.binary, "certgen", "--local", "--config-home", str(home)], env, "envoy-gateway certgen --local")
        certs = home / "certs" / "envoy-gateway"
        if not (certs / "tls.crt").is_file():
            raise RuntimeError(f"certgen --local wrote no {certs / 'tls.crt'}")
        # Only talks to the API server (no listener): runs on the host side.
        self._run([self.binary, "certgen", "--disable-topology-injector"], env, "envoy-gateway certgen")

        relay = Process([sys.executable, str(RELAY), str(self.cluster.port)], self.workdir / "nsrelay.log")
        self.processes.append(relay)
        wait_until(lambda: "ready" in relay.log.read_text(), 30, "the network namespace relay", relay.log, relay.proc)
        if not CERTS.exists():
            CERTS.mkdir(mode=0o755)
            self.made_certs_dir = True
        self._certs, self._env, self._relay = certs, env, relay
        self._config = config(self.workdir / "envoy-gateway.yaml")
        self._start_controller()
        self.ready_seconds = time.monotonic() - started
        self.cluster.baseline_namespaces = self.cluster.namespaces()
        self.cluster.baseline_uids = {o["metadata"]["uid"] for o in self.cluster._edge_objects()}

    def _start_controller(self) -> None:
        server = Process([
            "nsenter", f"--net=/proc/{self._relay.proc.pid}/ns/net", "--",
            "unshare", "--mount", "--propagation", "private", "--",
            # mkdir again at every start: another test session that made /certs removes it at
            # its end (its own bind mount is private, so ours is not affected once made).
            "sh", "-c", 'mkdir -p /certs && mount --bind "$1" /certs && exec "$2" server -c "$3"', "sh",
            str(self._certs), self.binary, str(self._config),
        ], self.workdir / f"envoy-gateway-{self.starts}.log", env=self._env)
        self.starts += 1
        self.processes.append(server)
        self.server = server
        self._wait_ready(server)

    def _wait_ready(self, server: Process, timeout: float = 90) -> None:
        """Until its /readyz (health port 8081, reachable only inside its namespace) says its
        caches are synced. Asked from inside the namespace. No object is made for it: a
        probe GatewayClass created and deleted just before a test's own class was seen to
        leave that class at "Waiting for controller" on v1.9.1."""
        poll = (
            "import sys, time, urllib.request\n"
            f"end = time.monotonic() + {timeout}\n"
            "while time.monotonic() < end:\n"
            "    try:\n"
            "        if urllib.request.urlopen('http://127.0.0.1:8081/readyz', timeout=1).status == 200:\n"
            "            sys.exit(0)\n"
            "    except OSError:\n"
            "        pass\n"
            "    time.sleep(0.1)\n"
            "sys.exit(1)\n"
        )
        proc = subprocess.run(["nsenter", f"--net=/proc/{self._relay.proc.pid}/ns/net", "--", sys.executable, "-c", poll],
                              capture_output=True, text=True, timeout=timeout + 30,
                              env={**os.environ, "no_proxy": "*", "NO_PROXY": "*"})
        if proc.returncode != 0 or server.proc.poll() is not None:
            raise RuntimeError(f"Envoy Gateway was not ready (/readyz) within {timeout:.0f} s\n{server.log_tail(40)}")

    def restart_controller(self) -> float:
        """A new controller process (same namespaces, certificates, configuration): nothing
        it computed before is remembered. Returns the seconds until it was ready.

        Seen on v1.9.1: an object deleted and created again moments later with the same
        name (as tests do between scenarios) can keep the CRD's default "Waiting for
        controller" status, or none at all (its status maps are keyed by name and it
        coalesces updates, so the re-created object's status looks unchanged to it). A
        fresh process computes everything anew."""
        started = time.monotonic()
        self.server.stop()
        self.processes.remove(self.server)
        self._start_controller()
        return time.monotonic() - started

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        self.cluster.stop()
        if self.made_certs_dir:
            with contextlib.suppress(OSError):
                CERTS.rmdir()  # only if still empty: never anything this session did not make
            self.made_certs_dir = False

    def log_tail(self) -> str:
        parts = [self.cluster.log_tail()]
        parts += [f"== {p.log.name}\n{p.log_tail(25)}" for p in self.processes]
        return "\n\n".join(parts)

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- what the controller writes

    def data_plane(self, namespace: str, name: str) -> tuple[dict | None, dict | None]:
        """The Service and Deployment the controller made for Gateway NAMESPACE/NAME."""
        def owned(items: list[dict]) -> dict | None:
            for item in items:
                labels = item["metadata"].get("labels") or {}
                if labels.get(OWNING_NAME) == name and labels.get(OWNING_NAMESPACE) == namespace:
                    return item
            return None

        api = self.cluster.api
        return owned(api.list("Service", NAMESPACE)), owned(api.list("Deployment", NAMESPACE))

    def play_infrastructure(self, namespace: str, name: str, *, address: str | None, ready: int,
                            timeout: float = 60) -> None:
        """Play the parts that do not run here for Gateway NAMESPACE/NAME, on the data plane
        the controller made for it: the cloud load balancer (ADDRESS as the LoadBalancer
        Service's ingress; None: it never assigns one) and the deployment controller with
        its kubelets (READY of the Deployment's replicas available, as it reports them).
        The Gateway's status stays the Envoy Gateway controller's to write from them."""
        api = self.cluster.api

        def made() -> bool:
            svc, dep = self.data_plane(namespace, name)
            return svc is not None and dep is not None

        wait_until(made, timeout, f"the data plane of Gateway {namespace}/{name}", self.server.log, self.server.proc)
        svc, dep = self.data_plane(namespace, name)
        assert svc is not None and dep is not None
        if address is not None:
            svc["status"] = {"loadBalancer": {"ingress": [{"ip": address}]}}
            api.replace(svc, "status")
        wanted = int(dep["spec"].get("replicas", 1))
        available = min(ready, wanted)
        status: dict[str, Any] = {
            "observedGeneration": dep["metadata"].get("generation", 1), "replicas": wanted,
            "updatedReplicas": wanted,
            "conditions": [{"type": "Available", "status": "True" if available else "False",
                            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                            "message": "Deployment has minimum availability." if available
                            else "Deployment does not have minimum availability."}],
        }
        if available:
            status["readyReplicas"] = status["availableReplicas"] = available
        if wanted - available:
            status["unavailableReplicas"] = wanted - available
        dep["status"] = status
        api.replace(dep, "status")

    def settle(self, ready: Callable[[KubeCluster], bool], what: str, timeout: float = 60, quiet: float = 1.5) -> float:
        """Wait (at most TIMEOUT s) until READY holds and no object of the Gateway API kinds
        changed for QUIET s (the controller writes statuses in several passes); returns
        how long it took."""
        started = time.monotonic()
        end = started + timeout
        last: tuple[str, ...] = ()
        since = time.monotonic()
        while time.monotonic() < end:
            if self.server.proc.poll() is not None:
                break
            versions = tuple(sorted(
                f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}@{o['metadata']['resourceVersion']}"
                for kind in ("GatewayClass", "Gateway", "HTTPRoute") for o in self.cluster.api.list(kind)))
            if versions != last:
                last, since = versions, time.monotonic()
            elif time.monotonic() - since >= quiet and ready(self.cluster):
                return time.monotonic() - started
            time.sleep(0.25)
        state = [f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}: {o.get('status')}"
                 for kind in ("GatewayClass", "Gateway", "HTTPRoute") for o in self.cluster.api.list(kind)]
        raise AssertionError(f"the controller did not write {what} within {timeout:.0f} s\n"
                             + "\n".join(state) + f"\n== {self.server.log.name}\n{self.server.log_tail(40)}")


def condition(obj: dict | None, type_: str) -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c
    return {}
