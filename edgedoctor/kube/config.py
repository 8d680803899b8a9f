"""Find and load cluster credentials the way kubectl does, without ever writing them.

Order: an explicit kubeconfig path; else every path of KUBECONFIG (':'-separated,
merged: the first file to define a context, cluster or user wins, and the first
file to set current-context wins); else ~/.kube/config; else the in-cluster service
account (KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA).

The kubernetes client is imported inside the functions only.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where a Pod's service account is mounted; a module constant so tests can move it.
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IN_CLUSTER = "in-cluster"


class LiveConfigError(Exception):
    """Credentials cannot be found or used; the message is one line for the user."""


class NoKubeconfig(LiveConfigError):
    """No kubeconfig at all and not in a Pod: the check goes on with the probes alone."""


@dataclass(frozen=True)
class Target:
    """Which API server the client talks to, as a person would name it."""

    context: str | None
    cluster: str | None
    server: str
    source: str  # "kubeconfig" or "in-cluster"
    # What the client library reported while loading the credentials (an exec plugin that
    # is not installed): said in the line that reports the failure, never on its own.
    notes: tuple[str, ...] = ()


def kubeconfig_paths(kubeconfig: str | None = None, environ: Any = None) -> list[str]:
    """The kubeconfig files kubectl would read, in priority order (existing ones only)."""
    env = os.environ if environ is None else environ
    if kubeconfig:
        path = os.path.expanduser(kubeconfig)
        if not os.path.isfile(path):
            raise LiveConfigError(f"kubeconfig {kubeconfig} not found")
        return [path]
    if env.get("KUBECONFIG"):
        candidates = [p for p in env["KUBECONFIG"].split(os.pathsep) if p]
    else:
        candidates = ["~/.kube/config"]
    out: list[str] = []
    for p in candidates:
        path = os.path.expanduser(p)
        if os.path.isfile(path) and path not in out:
            out.append(path)
    return out


def _read_yaml(path: str) -> dict[str, Any] | None:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise LiveConfigError(f"kubeconfig {path}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LiveConfigError(f"kubeconfig {path}: not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise LiveConfigError(f"kubeconfig {path}: not UTF-8 text") from None
    if doc is None:
        return None  # kubectl tolerates an empty file in KUBECONFIG
    if not isinstance(doc, dict):
        raise LiveConfigError(f"kubeconfig {path}: not a kubeconfig (expected a mapping)")
    return doc


def _named(doc: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    items = doc.get(key) or []
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in items
    ):
        raise LiveConfigError(f"kubeconfig {path}: '{key}' must be a list of named entries")
    return items


@dataclass
class MergedKubeconfig:
    paths: list[str]
    contexts: dict[str, dict[str, Any]]
    clusters: dict[str, dict[str, Any]]
    current_context: str | None


def merge_kubeconfigs(paths: list[str]) -> MergedKubeconfig:
    """kubectl's merge: first definition of a name wins, first current-context wins."""
    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    current: str | None = None
    used: list[str] = []
    for path in paths:
        doc = _read_yaml(path)
        if doc is None:
            continue
        used.append(path)
        for item in _named(doc, "contexts", path):
            contexts.setdefault(item["name"], item.get("context") or {})
        for item in _named(doc, "clusters", path):
            clusters.setdefault(item["name"], item.get("cluster") or {})
        cc = doc.get("current-context")
        if current is None and isinstance(cc, str) and cc:
            current = cc
    return MergedKubeconfig(used, contexts, clusters, current)


def _available(names: Any) -> str:
    names = sorted(names)
    return ", ".join(names) if names else "none"


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] if text else type(e).__name__


def _tune(configuration: Any) -> None:
    # No urllib3 retries: a dead server must fail fast, and a hanging request must
    # time out once, not four times.
    configuration.retries = 0
    # The reader runs about 8 requests at once over the one client.
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, 16)


def load_api_client(
    kubeconfig: str | None = None, context: str | None = None
) -> tuple[Any, Target]:
    """One kubernetes ApiClient for the chosen context, and where it points.

    Raises LiveConfigError with one line for the user. Never writes a kubeconfig
    (persist_config=False: a token refresh stays in memory).
    """
    paths = kubeconfig_paths(kubeconfig)
    if not paths:
        return _in_cluster_client(context)
    merged = merge_kubeconfigs(paths)
    if not merged.paths:
        if kubeconfig:
            raise LiveConfigError(f"kubeconfig {kubeconfig} is empty")
        return _in_cluster_client(context)
    if context is not None:
        if context not in merged.contexts:
            raise LiveConfigError(
                f"context '{context}' not found in kubeconfig "
                f"(available: {_available(merged.contexts)})"
            )
        name = context
    else:
        if not merged.current_context:
            raise LiveConfigError(
                "kubeconfig sets no current-context; choose one with --context "
                f"(available: {_available(merged.contexts)})"
            )
        name = merged.current_context
        if name not in merged.contexts:
            raise LiveConfigError(
                f"current-context '{name}' not found in kubeconfig "
                f"(available: {_available(merged.contexts)})"
            )
    cluster_name = merged.contexts[name].get("cluster")
    if not isinstance(cluster_name, str) or cluster_name not in merged.clusters:
        raise LiveConfigError(
            f"context '{name}' refers to cluster '{cluster_name}', which is not in the kubeconfig"
        )
    if not merged.clusters[cluster_name].get("server"):
        raise LiveConfigError(f"cluster '{cluster_name}' in the kubeconfig has no server")

    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = type.__call__(k8s_client.Configuration)
    _tune(configuration)
    captured = _LogCapture()
    root = logging.getLogger()
    # The client logs an exec plugin failure with logging.error and goes on without a
    # token; with no handler Python prints it raw ("ERROR:root:[Errno 2] ..."). Keep it
    # for the line that reports the resulting failure.
    root.addHandler(captured)
    try:
        api_client = k8s_config.new_client_from_config(
            config_file=os.pathsep.join(merged.paths),
            context=name,
            persist_config=False,
            client_configuration=configuration,
        )
    except LiveConfigError:
        raise
    except Exception as e:  # ConfigException, exec plugin failures, unreadable cert files
        raise LiveConfigError(f"kubeconfig context '{name}': {_one_line(e)}") from None
    finally:
        root.removeHandler(captured)
    if not configuration.verify_ssl:
        _insecure_notice(name, configuration.host)
    return api_client, Target(name, cluster_name, configuration.host, "kubeconfig", tuple(captured.messages))


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(" ".join(record.getMessage().split()))
        except Exception:  # a malformed log call must not break the check
            self.messages.append(record.msg if isinstance(record.msg, str) else "(unreadable log message)")


_insecure_said: set[str] = set()


def _insecure_notice(context: str, server: str) -> None:
    """Say once, in one line, that the API server's certificate is not verified.

    urllib3 warns with InsecureRequestWarning on every request (about twenty for one
    check, each a multi-line Python warning); one line of ours tells the same thing once.
    """
    import sys
    import warnings

    import urllib3

    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    if server in _insecure_said:
        return
    _insecure_said.add(server)
    print(f"edgedoctor: warning: the API server's certificate is not verified (context '{context}' sets "
          f"insecure-skip-tls-verify): {server} could be anyone, and it receives the credentials",
          file=sys.stderr)


def _in_cluster_client(context: str | None) -> tuple[Any, Target]:
    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        raise NoKubeconfig("no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster")
    if context is not None:
        raise LiveConfigError(
            f"context '{context}' not found: no kubeconfig, only the in-cluster service account"
        )
    from kubernetes import client as k8s_client
    from kubernetes.config.incluster_config import InClusterConfigLoader

    sa = Path(SERVICE_ACCOUNT_DIR)
    configuration = type.__call__(k8s_client.Configuration)
    _tune(configuration)
    try:
        InClusterConfigLoader(
            token_filename=str(sa / "token"), cert_filename=str(sa / "ca.crt")
        ).load_and_set(configuration)
    except Exception as e:
        raise LiveConfigError(f"in-cluster config: {_one_line(e)}") from None
    return (
        k8s_client.ApiClient(configuration=configuration),
        Target(IN_CLUSTER, IN_CLUSTER, configuration.host, "in-cluster"),
    )
