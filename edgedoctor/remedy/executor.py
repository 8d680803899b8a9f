"""Running the steps of a plan against a cluster: reads, access reviews, server dry
runs and confirmed changes, each change attempt audited.

Nothing changes unless `apply` is called, and `apply` first repeats what
`dry_run` checks when that has not passed for the step: the live object is read
again (the plan may be minutes old), a change that is already in place is not
made again, and an object that was replaced since the plan (another uid) is left
alone.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from edgedoctor.diagnosis.index import ClusterIndex, Obj, as_dict, as_list, meta, name_of, ns_of
from edgedoctor.evidence import Evidence
from edgedoctor.redact import scrub_text
from edgedoctor.remedy.audit import AuditError, AuditLog
from edgedoctor.remedy.changes import SECRET_PLACEHOLDER, describe_change
from edgedoctor.remedy.paths import all_hold, fmt_path
from edgedoctor.remedy.plan import StepPlan, StepResult

SecretProvider = Callable[[StepPlan], "str | None"]
DRY_RUN_VALUE = "edgedoctor-dry-run-placeholder"


def _obj_text(change: dict[str, Any]) -> str:
    ns = change.get("namespace")
    return f"{change.get('kind')} {ns + '/' if ns else ''}{change.get('name')}"


class Executor:
    def __init__(
        self,
        writer: Any,
        *,
        audit_log: str | None,
        read_only: bool,
        evidence: Evidence | None = None,
        playbook_id: str = "",
        host: str = "",
        secret_provider: SecretProvider | None = None,
        rediagnose: Callable[[], Any] | None = None,
        context: str | None = None,
    ) -> None:
        self.writer = writer
        self.read_only = read_only or writer is None
        self._index = ClusterIndex(evidence.cluster) if evidence is not None else None
        self._secret_provider = secret_provider
        self._rediagnose = rediagnose
        self._secrets: list[str] = []  # values to scrub from every message (never stored elsewhere)
        whoami = getattr(writer, "whoami", None) if not self.read_only else None
        self.audit = AuditLog(audit_log, playbook=playbook_id, host=host or (evidence.host if evidence else ""),
                              context=context, scrub=self._scrub, whoami=whoami)
        self._audit_enabled = audit_log is not None or not self.read_only
        self._dry_passed: set[str] = set()

    # ------------------------------------------------------------ helpers

    def _scrub(self, text: str) -> str:
        return scrub_text(str(text), self._secrets)

    def _result(self, ok: bool, outcome: str, message: str, **details: Any) -> StepResult:
        return StepResult(ok=ok, message=self._scrub(" ".join(str(message).split())), details=details, outcome=outcome)

    def _log(self, step: StepPlan, *, dry_run: bool, applied: bool, r: StepResult) -> StepResult:
        if not self._audit_enabled:
            return r
        ch = step.change or {}
        try:
            self.audit.record(step=step.id, op=str(ch.get("op") or "none"), obj=_obj_text(ch) if ch else (step.target or ""),
                              dry_run=dry_run, applied=applied, result=r.outcome, message=r.message,
                              fields=[str(f) for f in as_list(ch.get("fields"))])
        except AuditError as e:
            return self._result(False, "failed", f"{e}: the step is not recorded" + ("" if not applied else " (it WAS applied)"))
        return r

    def record(self, step: StepPlan, outcome: str, message: str) -> StepResult:
        """Audit a decision taken outside the executor (declined at the prompt, no terminal)."""
        r = self._result(outcome == "unchanged", outcome, message)
        return self._log(step, dry_run=False, applied=False, r=r)

    def _get(self, kind: str, namespace: str | None, name: str | None) -> Obj | None | list[Obj]:
        if name is None:
            if self._index is None:
                return []
            return [o for o in self._index.all(kind) if not namespace or ns_of(o) == namespace]
        if self.writer is not None and not self.read_only:
            return self.writer.get(kind, namespace, name)
        if self._index is not None:
            return self._index.get(kind, namespace or "", name)
        return None

    # ------------------------------------------------------------ reads

    def run_read(self, step: StepPlan) -> StepResult:
        from edgedoctor.kube.writer import WriteError
        from edgedoctor.remedy import steps as S

        if step.check == "rediagnose":
            if self._rediagnose is None:
                return self._result(True, "ok", f"re-run the diagnosis: edgedoctor check {self.audit.host}")
            d = self._rediagnose()
            rc = d.root_cause or {}
            return self._result(d.verdict == "ok", "ok", f"diagnosis: {d.verdict}" + (f", root cause {rc.get('code')}: {rc.get('summary')}" if rc else ""),
                                verdict=d.verdict, root_cause=rc or None)
        found: list[tuple[dict[str, Any], Any]] = []
        try:
            for r in step.reads:
                got = self._get(str(r.get("kind")), r.get("namespace"), r.get("name"))
                if isinstance(got, list):
                    found.extend(({**r, "name": name_of(o), "namespace": ns_of(o) or None}, o) for o in got)
                    if not got:
                        found.append((r, None))
                else:
                    found.append((r, got))
        except WriteError as e:
            return self._result(False, "failed", f"cannot read: {e}")
        lines = S.summarize(found)
        ok = True
        head = ""
        interp = S.READS.get(step.check or "")
        if interp is not None:
            ok, head = interp([(r, o) for r, o in found])
        source = "evidence" if self.read_only else "live"
        message = head or ("; ".join(lines) if lines else "nothing to read")
        return self._result(ok, "ok" if ok else "failed", message, objects=[self._scrub(x) for x in lines],
                            source=source, interpretation=head or None)

    def verify(self, step: StepPlan) -> StepResult | None:
        """The step's `verify` read on the object it changed."""
        if not step.verify or not step.change:
            return None
        ch = step.change
        probe = StepPlan(id=f"{step.id}:verify", kind="read", title="verify", explain="", command="",
                         check=step.verify,
                         reads=[{"kind": ch["kind"], "namespace": ch.get("namespace"), "name": ch["name"], "fields": ch.get("fields") or []}])
        return self.run_read(probe)

    def _precondition(self, step: StepPlan) -> StepResult | None:
        from edgedoctor.remedy import steps as S

        if not step.precondition or not step.change:
            return None
        interp = S.READS.get(step.precondition)
        if interp is None:
            return self._result(False, "blocked", f"unknown precondition {step.precondition}")
        found = []
        for r in as_list(step.change.get("requires")):
            got = self._get(str(r.get("kind")), r.get("namespace"), r.get("name"))
            found.append((r, got if not isinstance(got, list) else None))
        ok, msg = interp(found)
        if ok:
            return None
        return self._result(False, "blocked", f"precondition not met: {msg}")

    # ------------------------------------------------------------ the live object

    def _state(self, step: StepPlan) -> tuple[Obj | None, StepResult | None]:
        """The live object, or the result that ends the step before any write."""
        ch = step.change or {}
        op = ch.get("op")
        kind, ns, name = str(ch.get("kind")), ch.get("namespace"), str(ch.get("name"))
        live = self._get(kind, ns, name)
        live = live if isinstance(live, dict) else None
        what = _obj_text(ch)
        if op == "delete":
            if live is None:
                return None, self._result(True, "unchanged", f"nothing to change: {what} is already gone")
            if ch.get("uid") and meta(live).get("uid") != ch.get("uid"):
                return None, self._result(True, "unchanged", f"nothing to change: {what} was replaced by a new object "
                                          "of the same name since the plan was made (another uid): it is left alone")
            if meta(live).get("deletionTimestamp"):
                return None, self._result(True, "unchanged", f"nothing to change: {what} is already being deleted "
                                          f"(since {meta(live).get('deletionTimestamp')}); its finalizers hold it")
            return live, None
        if op == "create":
            if live is None:
                return None, None
            want = as_dict(ch.get("body")).get("spec")
            if want is not None and _contains(live.get("spec"), want):
                return live, self._result(True, "unchanged", f"nothing to change: {what} already exists as planned")
            if want is None and ch.get("secret") is None:
                return live, self._result(True, "unchanged", f"nothing to change: {what} already exists")
            return live, self._result(False, "failed", f"{what} already exists with other content: it is not replaced; "
                                      "compare it with the plan and edit it by hand")
        if live is None:
            return None, self._result(False, "failed", f"{what} does not exist (any more): run the playbook again")
        if ch.get("uid") and meta(live).get("uid") and meta(live).get("uid") != ch.get("uid"):
            return None, self._result(False, "failed", f"{what} was re-created since the plan was made: run the playbook again")
        expects = as_list(ch.get("expect"))
        if expects and all_hold(live, expects):
            return live, self._result(True, "unchanged", f"nothing to change: {what} already has "
                                      + ", ".join(fmt_path(e.get("path") or []) for e in expects[:3]))
        return live, None

    # ------------------------------------------------------------ dry run and change

    def _refusal(self, step: StepPlan) -> StepResult | None:
        if step.kind != "change":
            return self._result(False, "refused", f"{step.id} is a read step: nothing to change")
        if self.read_only:
            return self._result(False, "refused", f"refused: {step.blocked or 'read-only evidence (snapshot or replay)'}: "
                                f"{describe_change(step.change) or step.title} is not made")
        if step.satisfied:
            return self._result(True, "unchanged", f"nothing to change: {step.satisfied}")
        if step.blocked:
            return self._result(False, "blocked", f"not run here: {step.blocked}")
        if not step.change or step.change.get("op") == "manual":
            return self._result(False, "blocked", "a manual step: make it as shown (Git/Helm), edgedoctor does not")
        return None

    def dry_run(self, step: StepPlan) -> StepResult:
        from edgedoctor.kube.writer import WriteError

        r = self._refusal(step)
        if r is not None:
            return self._log(step, dry_run=True, applied=False, r=r) if r.outcome == "refused" else r
        r = self._precondition(step)
        if r is not None:
            return self._log(step, dry_run=True, applied=False, r=r)
        ch = step.change or {}
        try:
            live, r = self._state(step)
            if r is not None:
                if r.ok:
                    self._dry_passed.add(step.id)
                return self._log(step, dry_run=True, applied=False, r=r)
            reviews = []
            for a in as_list(ch.get("access")):
                allowed, reason = self.writer.access_review(a["verb"], a["group"], a["resource"], a.get("namespace"),
                                                            a.get("name"), a.get("subresource") or "")
                reviews.append({**a, "allowed": allowed, "reason": reason})
                if not allowed:
                    return self._log(step, dry_run=True, applied=False, r=self._result(
                        False, "denied", f"not allowed: {reason}; nothing was changed", access=reviews))
            server = self._send(ch, live, dry_run=True, secret=DRY_RUN_VALUE)
        except WriteError as e:
            if e.status == 409:
                return self._log(step, dry_run=True, applied=False, r=self._result(
                    False, "conflict", f"server dry run refused {describe_change(ch)}: the object changed since "
                    f"it was read ({e.reason}); nothing was changed: run the playbook again"))
            return self._log(step, dry_run=True, applied=False,
                             r=self._result(False, "failed", f"server dry run refused {describe_change(ch)}: {e}; nothing was changed"))
        except Exception as e:  # a bug must not look like a refusal by the server
            return self._log(step, dry_run=True, applied=False, r=self._result(
                False, "failed", f"dry run of {describe_change(ch)} failed: internal error {type(e).__name__}: {e}"))
        self._dry_passed.add(step.id)
        verbs = ", ".join(f"{a['verb']} {a['resource']}{'/' + a['subresource'] if a.get('subresource') else ''}" for a in reviews)
        placeholder = " (with a placeholder for the secret value: it is read only when applying)" if ch.get("secret") else ""
        return self._log(step, dry_run=True, applied=False, r=self._result(
            True, "ok", f"dry run passed (sent to the API server with dryRun=All; nothing was changed): "
            f"{describe_change(ch)}; allowed to {verbs}{placeholder}",
            access=reviews, resource_version=meta(server).get("resourceVersion")))

    def apply(self, step: StepPlan) -> StepResult:
        """Make the change: only after the caller got a confirmation. Audited."""
        from edgedoctor.kube.writer import WriteError

        r = self._refusal(step)
        if r is not None:
            return self._log(step, dry_run=False, applied=False, r=r) if r.outcome == "refused" else r
        if step.id not in self._dry_passed:
            r = self.dry_run(step)
            if not r.ok or r.outcome == "unchanged":
                return r
        r = self._precondition(step)
        if r is not None:
            return self._log(step, dry_run=False, applied=False, r=r)
        ch = step.change or {}
        secret: str | None = None
        try:
            live, r = self._state(step)
            if r is not None:
                return self._log(step, dry_run=False, applied=False, r=r)
            if ch.get("secret") is not None:
                secret = self._secret_provider(step) if self._secret_provider else None
                if not secret:
                    return self._log(step, dry_run=False, applied=False, r=self._result(
                        False, "refused", f"no value given for {step.secret_input or 'the secret'}: nothing was changed"))
                self._secrets += [secret, base64.b64encode(secret.encode()).decode()]
                if self._holds_secret(ch, live, secret):
                    return self._log(step, dry_run=False, applied=False, r=self._result(
                        True, "unchanged", f"nothing to change: {_obj_text(ch)} already holds this value "
                        f"({', '.join(as_list(ch.get('fields')))})"))
            out = self._send(ch, live, dry_run=False, secret=secret)
        except WriteError as e:
            if e.status == 409:
                # Not retried: the object moved under the plan, a person must look again.
                return self._log(step, dry_run=False, applied=False, r=self._result(
                    False, "conflict", f"{describe_change(ch)} refused by the server: the object changed "
                    f"since it was read ({e.reason}); nothing was changed: run the playbook again"))
            return self._log(step, dry_run=False, applied=False,
                             r=self._result(False, "failed", f"{describe_change(ch)} failed: {e}"))
        except Exception as e:  # a bug: only its type, since its text might quote the body
            return self._log(step, dry_run=False, applied=False,
                             r=self._result(False, "failed", f"{describe_change(ch)} failed: internal error {type(e).__name__}"))
        finally:
            secret = None
        return self._log(step, dry_run=False, applied=True, r=self._result(
            True, "ok", f"applied: {describe_change(ch)}", resource_version=meta(out).get("resourceVersion")))

    def _holds_secret(self, ch: dict[str, Any], live: Obj | None, secret: str) -> bool:
        """The Secret already holds the value given for it (a second rotation with the same
        token changes nothing). Compared by the writer in memory; only a bool comes back."""
        path = list(as_dict(ch.get("secret")).get("path") or [])
        if live is None or ch.get("kind") != "Secret" or len(path) != 2 or path[0] != "data":
            return False
        holds = getattr(self.writer, "secret_holds", None)
        if holds is None:
            return False
        return bool(holds(str(ch.get("namespace")), str(ch.get("name")), str(path[1]), secret))

    def _send(self, ch: dict[str, Any], live: Obj | None, *, dry_run: bool, secret: str | None) -> Obj:
        w = self.writer
        op, kind, ns, name = ch.get("op"), str(ch.get("kind")), ch.get("namespace"), str(ch.get("name"))
        body = _with_secret(ch, secret) if ch.get("secret") is not None else ch.get("body")
        if op == "patch":
            return w.patch(kind, ns, name, body, patch_type=str(ch.get("patch_type") or "merge"),
                           subresource=str(ch.get("subresource") or ""), dry_run=dry_run)
        if op == "create":
            return w.create(kind, ns, body, dry_run=dry_run)
        if op == "delete":
            # The uid and resourceVersion the plan was made from (those just read when the
            # plan has none): the server refuses the delete (409) if the object was replaced
            # or changed since, so an object nobody looked at is never removed.
            assert live is not None
            return w.delete(kind, ns, name, dry_run=dry_run, uid=ch.get("uid") or meta(live).get("uid"),
                            resource_version=ch.get("resource_version") or meta(live).get("resourceVersion"))
        if op == "update-status":
            assert live is not None
            return w.update_status(kind, str(ns), name, _with_conditions(live, as_list(as_dict(body).get("conditions"))),
                                   dry_run=dry_run)
        raise ValueError(f"unknown change op {op!r}")


def _with_secret(ch: dict[str, Any], secret: str | None) -> Any:
    """The body with the secret value at its path (base64 for Secret data)."""
    body = copy.deepcopy(ch.get("body"))
    spec_ = as_dict(ch.get("secret"))
    value = secret if secret is not None else DRY_RUN_VALUE
    if spec_.get("encoding") == "base64":
        value = base64.b64encode(value.encode()).decode()
    cur = body
    path = list(spec_.get("path") or [])
    for seg in path[:-1]:
        cur = cur.setdefault(seg, {})
    assert cur.get(path[-1]) == SECRET_PLACEHOLDER
    cur[path[-1]] = value
    return body


def _with_conditions(live: Obj, conditions: list[dict[str, Any]]) -> Obj:
    """The live object with these status conditions set, the others kept (as cmctl renew)."""
    obj = copy.deepcopy(live)
    st = obj.setdefault("status", {})
    conds = [c for c in as_list(st.get("conditions")) if isinstance(c, dict)]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for new in conditions:
        c = dict(new)
        c.setdefault("lastTransitionTime", now)
        gen = meta(obj).get("generation")
        if isinstance(gen, int):
            c["observedGeneration"] = gen
        for i, old in enumerate(conds):
            if old.get("type") == c["type"]:
                if old.get("status") == c.get("status"):
                    c["lastTransitionTime"] = old.get("lastTransitionTime", now)
                conds[i] = c
                break
        else:
            conds.append(c)
    st["conditions"] = conds
    return obj


def _contains(have: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_contains(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(_contains(h, w) for h, w in zip(have, want, strict=True))
    return have == want or (want == "" and have in (None, ""))
