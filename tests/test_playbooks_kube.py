"""Every playbook against a real kube-apiserver (tests/servers/kubeapi.py).

For each playbook, its incident (the snapshot scenario of tests/test_playbooks_plan.py) is
loaded into the server, then `edgedoctor fix` runs as a user would run it:

  - as the built-in `view` user with --apply --yes: refused with exit 3 and one line naming
    what it may not do; nothing changes;
  - as admin without --apply (the dry run): every object of every kind edgedoctor reads is
    exactly as before (resourceVersion, deletionTimestamp, counts: the whole object);
  - as admin with --apply --yes: exactly the changes the audit log says were applied, each
    exactly as planned (the merge/JSON patch applied to the object as it was, a delete that
    deletes, and what the garbage collector cascades from it), and nothing else;
  - again: nothing to change, nothing changed.

The kube-apiserver decides what a DELETE's options are; the fake server of the other
tests only says what we believe it decides. This is where the dry run that deleted was
caught (issue 10): the pre-hotfix writer fails test_dry_run_changes_nothing here.

Time: the server stamps creationTimestamp itself (now), while the scenarios' other times
are around casekit.NOW. `--now` is two hours after the load, so an Order loaded a moment
ago has been pending "for two hours" (stuck, as in the scenario) and no age is negative.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgedoctor.cli import main
from edgedoctor.collect import CheckOptions
from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.kinds import KINDS
from edgedoctor.remedy import Executor, build_plan
from edgedoctor.remedy.paths import get_path
from tests.casekit import server_objects
from tests.servers.kubeapi import KubeCluster
from tests.test_playbooks_plan import (
    HOST,
    SNAPSHOT_SCENARIOS,
    case_edits,
    cert_manager_version,
    combine,
    objects,
)

EDGE_KINDS = [k.kind for k in KINDS]
# Every playbook's incident; the Cloudflare bug twice: before the controller upgrade (a
# manual step) every cleanup step refuses, after it the stale chain is cleaned up.
SCENARIOS = [
    (p, combine(e, cert_manager_version("v1.16.4")) if p == "cert-manager-cloudflare-cleanup-bug" else e, kw, True)
    for p, e, kw in SNAPSHOT_SCENARIOS
] + [("cert-manager-cloudflare-cleanup-bug", case_edits("cert-cloudflare-7003-cleanup"), {}, False)]
IDS = [s[0] for s in SNAPSHOT_SCENARIOS] + ["cert-manager-cloudflare-cleanup-bug-before-upgrade"]
TOKEN = "edgedoctor-test-token-not-a-real-one-0123456789"
# Server-kept bookkeeping that every write moves: compared separately (resourceVersion)
# or not at all (managedFields, generation follow from the rest).
_BOOKKEEPING = ("resourceVersion", "managedFields", "generation")


def later(hours: float = 2) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Run:
    def __init__(self, rc: int, out: str, err: str) -> None:
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self) -> str:
        return f"rc={self.rc}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


class Fixer:
    """`edgedoctor fix` in this process (as test_fix_runner does), against the real server."""

    def __init__(self, cluster: KubeCluster, tmp: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch,
                 tls: list[dict[str, Any]] | None) -> None:
        self.cluster, self.tmp, self.capsys = cluster, tmp, capsys
        self.audit = tmp / "audit.log"
        self.token_file = tmp / "token"
        self.token_file.write_text(TOKEN + "\n")
        self.now = later()
        if tls is not None:
            # The served certificate cannot come from a probe here (the Gateway's address is
            # not on loopback): the scenario's TLS evidence is put next to the live cluster's.
            import edgedoctor.collect as collect

            real = collect.gather

            def gather(opts: Any) -> Any:
                ev = real(opts)
                ev.tls = copy.deepcopy(tls)
                return ev

            monkeypatch.setattr(collect, "gather", gather)
        monkeypatch.setattr("sys.stdin", _NoTerminal())

    def fix(self, playbook: str, *flags: str, user: str = "admin") -> Run:
        self.capsys.readouterr()
        rc = main(["fix", playbook, HOST, "--kubeconfig", str(self.cluster.kubeconfig(user)), "--offline",
                   "--now", self.now, "--audit-log", str(self.audit), "--token-file", str(self.token_file),
                   *flags])
        cap = self.capsys.readouterr()
        return Run(rc, cap.out, cap.err)

    def audit_lines(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(x) for x in self.audit.read_text().splitlines()]

    def plan(self, playbook: str) -> Any:
        from edgedoctor.collect import gather

        ev = gather(CheckOptions(host=HOST, kubeconfig=str(self.cluster.kubeconfig("admin")), offline=True,
                                 now=self.now))
        return build_plan(playbook, ev, diagnose(ev)), ev


class _NoTerminal:
    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return ""


def state(cluster: KubeCluster) -> dict[tuple[str, str, str], dict]:
    return cluster.snapshot(EDGE_KINDS)


def settle(cluster: KubeCluster, timeout: float = 30) -> dict[tuple[str, str, str], dict]:
    """The state once the garbage collector has acted on the deletes (it runs async)."""
    end = time.monotonic() + timeout
    while True:
        now = state(cluster)
        uids = {o["metadata"]["uid"] for o in now.values()}
        pending = [k for k, o in now.items() if not o["metadata"].get("deletionTimestamp") and any(
            r["uid"] not in uids and r["kind"] in EDGE_KINDS for r in o["metadata"].get("ownerReferences") or [])]
        if not pending or time.monotonic() > end:
            return now
        time.sleep(0.2)


def strip(obj: dict) -> dict:
    out = copy.deepcopy(obj)
    for key in _BOOKKEEPING:
        out.get("metadata", {}).pop(key, None)
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(target: Any, ops: list[dict]) -> Any:
    """RFC 6902 (the operations the playbooks send: test, add, replace, remove)."""
    doc = copy.deepcopy(target)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        if op["op"] == "test":
            have = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            assert have == op["value"], op
        elif op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif op["op"] == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
    return doc


def holds(have: Any, want: Any) -> bool:
    """WANT is in HAVE: the server adds its defaults (a parentRef's group and kind)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(holds(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(
            holds(h, w) for h, w in zip(have, want, strict=True))
    return have == want


def expected(before: dict, change: dict) -> dict:
    """The object as the planned change leaves it (a secret value: the test's token)."""
    if change.get("secret"):
        import base64

        from edgedoctor.remedy.executor import _with_secret

        change = {**change, "body": _with_secret(change, TOKEN)}
        assert base64.b64encode(TOKEN.encode()).decode() in json.dumps(change["body"]) or TOKEN in json.dumps(
            change["body"])
    if change["op"] == "patch":
        if change.get("patch_type") == "json":
            return json_patch(before, change["body"])
        return merge_patch(before, change["body"])
    if change["op"] == "update-status":
        out = copy.deepcopy(before)
        conds = out.setdefault("status", {}).setdefault("conditions", [])
        for new in change["body"]["conditions"]:
            old = next((c for c in conds if c["type"] == new["type"]), None)
            if old is None:
                conds.append(dict(new))
            else:
                old.update({k: v for k, v in new.items()})
        return out
    raise AssertionError(change)


def owned_closure(state_: dict, deleted_uids: set[str]) -> set[tuple[str, str, str]]:
    """Objects that own-reference (transitively) a deleted object: the GC's to delete."""
    out: set[tuple[str, str, str]] = set()
    uids = set(deleted_uids)
    grew = True
    while grew:
        grew = False
        for k, o in state_.items():
            if k not in out and any(r["uid"] in uids for r in o["metadata"].get("ownerReferences") or []):
                out.add(k)
                uids.add(o["metadata"]["uid"])
                grew = True
    return out


def key_of(text: str) -> tuple[str, str, str]:
    """The audit line's object, "Kind ns/name" or "Kind name", as a state key."""
    kind, _, rest = text.partition(" ")
    ns, _, name = rest.rpartition("/")
    return kind, ns, name


@pytest.fixture
def loaded(request: pytest.FixtureRequest, kube_cluster: KubeCluster, tmp_path: Path, capsys: Any,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Fixer]]:
    playbook, edits, kw, applies = request.param
    kube_cluster.reset()
    kube_cluster.load(server_objects(objects(edits)))
    yield playbook, Fixer(kube_cluster, tmp_path, capsys, monkeypatch, kw.get("tls")), applies


@pytest.mark.parametrize("loaded", SCENARIOS, ids=IDS, indirect=True)
def test_playbook_on_the_real_server(loaded: tuple[str, Fixer, bool]) -> None:
    playbook, fx, applies = loaded
    cluster = fx.cluster
    start = state(cluster)
    plan, _ev = fx.plan(playbook)
    changes = {s.id: s.change for s in plan.change_steps if s.change}
    assert changes, "every playbook changes something for its incident"

    # 1. The view user: refused in one line naming what it may not do; nothing changed.
    viewer = fx.fix(playbook, "--apply", "--yes", user="view")
    assert viewer.rc == 3, viewer
    assert len(viewer.err.strip().splitlines()) == 1, viewer
    assert "may not" in viewer.err and "403" in viewer.err, viewer
    assert cluster.users["view"].name in viewer.err, viewer
    assert state(cluster) == start

    # 2. The dry run: every object of every kind exactly as it was.
    dry = fx.fix(playbook)
    assert dry.rc in (0, 3), dry
    assert "Dry run" in dry.out, dry
    after_dry = state(cluster)
    assert set(after_dry) == set(start)
    for k, obj in start.items():
        assert after_dry[k]["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"], k
        assert after_dry[k]["metadata"].get("deletionTimestamp") == obj["metadata"].get("deletionTimestamp"), k
    assert after_dry == start
    dry_lines = fx.audit_lines()
    assert all(x["dry_run"] and not x["applied"] for x in dry_lines)

    # 3. --apply --yes: exactly the applied steps' changes, as planned, and what the GC cascades.
    applied = fx.fix(playbook, "--apply", "--yes")
    after = settle(cluster)
    lines = [x for x in fx.audit_lines()[len(dry_lines):] if x["applied"]]
    if all(c["op"] == "manual" for c in changes.values()):
        assert applied.rc == 3 and "nothing edgedoctor can apply" in applied.err, applied
        assert after == start and not lines
        return
    if not applies:
        # Every step that would change something is refused (its precondition): no change.
        assert applied.rc == 3 and applied.err.startswith("edgedoctor: no change was made"), applied
        assert after == start and not lines
        return
    assert lines, applied
    assert all(x["user"] == cluster.users["admin"].name for x in lines), lines
    made: dict[tuple[str, str, str], dict] = {}
    for x in lines:
        change = changes[x["step"]]
        made[key_of(x["object"])] = change
        assert key_of(x["object"]) == (change["kind"], change.get("namespace") or "", change["name"])
    deleted_uids = {start[k]["metadata"]["uid"] for k, c in made.items() if c["op"] == "delete" and k in start}
    cascade = owned_closure(start, deleted_uids)
    changed = {k for k in set(start) | set(after) if start.get(k) != after.get(k)}
    assert changed - set(made) <= cascade, (changed - set(made), applied)
    for k, change in made.items():
        if change["op"] == "delete":
            assert k not in after or after[k]["metadata"].get("deletionTimestamp"), k
        elif change["op"] == "create":
            assert k not in start and k in after
            assert holds(get_path(after[k], ["spec"]), change["body"].get("spec")), k
        elif k not in after:
            # A patch that empties the finalizers of an object being deleted (its owner went,
            # the garbage collector marked it) lets the server remove it, as it should.
            assert (k in cascade or start[k]["metadata"].get("deletionTimestamp")), k
            assert not expected(start[k], change)["metadata"].get("finalizers"), k
        else:
            assert after[k]["metadata"]["resourceVersion"] != start[k]["metadata"]["resourceVersion"], k
            want, have = strip(expected(start[k], change)), strip(after[k])
            if change["op"] == "update-status":
                for c in have["status"]["conditions"]:
                    c.pop("lastTransitionTime", None), c.pop("observedGeneration", None)
                for c in want["status"]["conditions"]:
                    c.pop("lastTransitionTime", None), c.pop("observedGeneration", None)
            assert have == want, (k, change)
    for k in cascade & changed:
        assert k not in after or after[k]["metadata"].get("deletionTimestamp"), k
    assert TOKEN not in applied.out + applied.err and TOKEN not in fx.audit.read_text()

    # 4. Again: nothing to change, nothing changed.
    seen = len(fx.audit_lines())
    again = fx.fix(playbook, "--apply", "--yes")
    assert "nothing to change" in (again.out + again.err).lower(), again
    assert not [x for x in fx.audit_lines()[seen:] if x["applied"]], again
    assert settle(cluster) == after


def test_delete_of_a_changed_object_is_refused_and_not_retried(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    """A delete carries the uid and resourceVersion the plan saw: an Order changed between
    the plan (and its dry run) and the apply is refused by the server (409), reported as a
    conflict, and still there."""
    from edgedoctor.collect import gather
    from edgedoctor.kube.writer import ClusterWriter

    kube_cluster.reset()
    edits = next(e for p, e, _ in SNAPSHOT_SCENARIOS if p == "cleanup-stuck-orders")
    kube_cluster.load(server_objects(objects(edits)))
    kubeconfig = str(kube_cluster.kubeconfig("admin"))
    ev = gather(CheckOptions(host=HOST, kubeconfig=kubeconfig, offline=True, now=later()))
    plan = build_plan("cleanup-stuck-orders", ev, diagnose(ev))
    step = next(s for s in plan.change_steps if s.change and s.change["op"] == "delete" and s.change["kind"] == "Order")
    ns, name = step.change["namespace"], step.change["name"]
    with ClusterWriter.from_config(kubeconfig) as writer:
        ex = Executor(writer, audit_log=str(tmp_path / "audit.log"), read_only=False, evidence=ev,
                      playbook_id=plan.playbook_id, host=HOST)
        assert ex.dry_run(step).outcome == "ok"
        # Someone (cert-manager) changes the Order after the plan was shown.
        kube_cluster.api.patch("Order", ns, name, {"metadata": {"labels": {"touched": "yes"}}})
        moved = kube_cluster.api.get("Order", ns, name)
        r = ex.apply(step)
    assert r.outcome == "conflict" and not r.ok, r
    assert "changed since it was read" in r.message
    still = kube_cluster.api.get("Order", ns, name)
    assert still is not None and not still["metadata"].get("deletionTimestamp")
    assert still["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]
    lines = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    assert [x["result"] for x in lines if not x["dry_run"]] == ["conflict"]
    assert not any(x["applied"] for x in lines)


def test_cloudflare_bug_deletes_only_the_challenge_whose_cleanup_fails(kube_cluster: KubeCluster) -> None:
    kube_cluster.reset()
    # As in the recorded incident: the wildcard's Challenge is valid and still processing (its
    # cleanup fails), the apex's waits behind it, pending and not processing.
    waiting = {"patch": [{"kind": "Challenge", "namespace": "gateway", "name": "wildcard-example-com-1-2264498345-1850000001",
                          "merge": {"status": {"state": "pending", "processing": False, "presented": False}}}]}
    kube_cluster.load(server_objects(objects(combine(case_edits("cert-cloudflare-7003-cleanup"),
                                                     cert_manager_version("v1.16.4"), waiting))))
    ev_now = later()
    from edgedoctor.collect import gather

    ev = gather(CheckOptions(host=HOST, kubeconfig=str(kube_cluster.kubeconfig("admin")), offline=True, now=ev_now))
    plan = build_plan("cert-manager-cloudflare-cleanup-bug", ev, diagnose(ev))
    targets = [s.change["name"] for s in plan.change_steps if s.id.startswith("delete-challenge")]
    challenges = {o["metadata"]["name"]: o for o in kube_cluster.api.list("Challenge")}
    assert len(challenges) >= 2
    failing = sorted(n for n, o in challenges.items()
                     if o["status"].get("state") == "valid" and o["status"].get("processing") is True)
    assert failing and sorted(targets) == failing
    pending = [n for n, o in challenges.items() if o["status"].get("processing") is False]
    assert pending and not set(pending) & set(targets)


def test_the_walkthrough_refuses_a_plan_from_forbidden_reads(kube_cluster: KubeCluster) -> None:
    """The TUI's walkthrough plans through the same build_plan: as the view user, which may
    not read the Gateways or Certificates, it gets the one-line refusal, not a plan."""
    from edgedoctor.collect import gather
    from edgedoctor.remedy import PlaybookError
    from edgedoctor.tui.walk import plan_walkthrough

    kube_cluster.reset()
    kube_cluster.load(server_objects(objects(next(e for p, e, _ in SNAPSHOT_SCENARIOS if p == "cleanup-stuck-orders"))))
    ev = gather(CheckOptions(host=HOST, kubeconfig=str(kube_cluster.kubeconfig("view")), offline=True, now=later()))
    with pytest.raises(PlaybookError) as refused:
        plan_walkthrough("cleanup-stuck-orders", ev, diagnose(ev), read_only=False)
    message = str(refused.value)
    assert "\n" not in message and "403" in message and "nothing was changed" in message
    assert "list gateways.gateway.networking.k8s.io" in message and "list certificates.cert-manager.io" in message
    assert kube_cluster.users["view"].name in message
