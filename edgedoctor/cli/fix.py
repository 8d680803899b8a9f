"""`edgedoctor fix PLAYBOOK HOST`: show the plan, dry-run it, and change the cluster
only with --apply and a confirmation (typed y, or --yes for scripts).

Exit codes: 0 plan shown (or changes applied and the diagnosis is ok), 1 applied but
still warning, 2 applied but still critical, 3 bad input, refused or failed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from edgedoctor.app.args import UsageError, check_options, parse_host
from edgedoctor.app.exitcodes import EXIT_OK, exit_code
from edgedoctor.app.exitcodes import EXIT_UNKNOWN as EXIT_REFUSED
from edgedoctor.app.playbook import (
    Choices,
    apply_and_verify,
    considered_steps,
    fatal_steps,
    verdict_line,
)
from edgedoctor.cli.common import err as _err
from edgedoctor.remedy.changes import describe_change
from edgedoctor.remedy.plan import Plan, PlaybookError, StepPlan, StepResult
from edgedoctor.textfmt import indent

TOKEN_FILE_ENV = "EDGEDOCTOR_TOKEN_FILE"


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- rendering


def render_plan(plan: Plan, diagnosis: Any = None) -> str:
    lines = [f"Playbook {plan.playbook_id}: {plan.title}", f"Host: {plan.host}"]
    if diagnosis is not None:
        rc = diagnosis.root_cause or {}
        lines.append(f"Diagnosis: {diagnosis.verdict}" + (f", root cause {rc.get('code')}: {rc.get('summary')}" if rc else ""))
    if plan.summary:
        lines.append(indent(textwrap.fill(plan.summary, 100), "  "))
    if plan.read_only:
        lines.append("Mode: read-only evidence (snapshot or replay): the plan is shown, no change is made")
    if plan.preconditions:
        lines.append("Preconditions:")
        lines += [f"  - {p}" for p in plan.preconditions]
    if plan.notes:
        lines.append("Notes:")
        lines += [indent(textwrap.fill(n, 98), "    ").replace("    ", "  - ", 1) for n in plan.notes]
    for i, s in enumerate(plan.steps, 1):
        lines.append("")
        lines.append(f"{i}. [{s.kind}] {s.id}: {s.title}")
        if s.reads:
            for r in s.reads:
                ref = f"{r.get('kind')} {r.get('namespace') + '/' if r.get('namespace') else ''}{r.get('name') or '(all)'}"
                lines.append(f"   reads:   {ref}: {', '.join(r.get('fields') or [])}")
        if s.change:
            lines.append(f"   changes: {describe_change(s.change)}")
            if s.change.get("body") is not None and s.change.get("op") != "manual":
                body = json.dumps(s.change["body"], separators=(",", ":"))
                lines.append(f"   body:    {body if len(body) <= 400 else body[:397] + '...'}")
        elif s.target and not s.reads:
            lines.append(f"   target:  {s.target}")
        if s.choice:
            lines.append(f"   option:  {s.option} of choice {s.choice}" + (" (recommended)" if s.recommended else " (alternative)"))
        if s.command:
            cmd = s.command.splitlines()
            lines.append(f"   command: {cmd[0]}")
            lines += [f"            {c}" for c in cmd[1:]]
        if s.gitops:
            lines.append(indent(textwrap.fill(f"GitOps:  {s.gitops}", 97, subsequent_indent="         "), "   "))
        if s.git_snippet:
            lines.append("   commit:")
            lines.append(indent(s.git_snippet, "     | "))
        if s.secret_input:
            lines.append(f"   input:   {s.secret_input} (from a file or a hidden prompt; never shown or logged)")
        if s.precondition:
            lines.append(f"   requires: {s.precondition}")
        if s.verify:
            lines.append(f"   verify:  {s.verify}")
        if s.satisfied:
            lines.append(f"   already done: {s.satisfied}")
        elif s.blocked:
            lines.append(f"   not run here: {s.blocked}")
        if s.explain:
            lines.append(indent(textwrap.fill(" ".join(s.explain.split()), 94), "     "))
    return "\n".join(lines) + "\n"


def render_list() -> str:
    from edgedoctor.remedy.plan import available_playbooks

    rows = available_playbooks()
    width = max(len(r["id"]) for r in rows)
    out = [f"{r['id']:<{width}}  {r['title']}\n{'':<{width}}  fixes: {', '.join(r['fixes'])}" for r in rows]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- input


def _is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _confirm(question: str) -> bool:
    sys.stdout.write(f"{question} [y/N] ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line.endswith("\n"):
        sys.stdout.write("\n")
    return line.strip().lower() in ("y", "yes")


def _token_provider(args: argparse.Namespace) -> Callable[[StepPlan], str | None]:
    path = args.token_file or os.environ.get(TOKEN_FILE_ENV)

    def provide(step: StepPlan) -> str | None:
        if path:
            try:
                with open(os.path.expanduser(path), encoding="utf-8") as f:
                    raw = f.read()
            except (OSError, UnicodeDecodeError) as e:
                # Only the path and the reason: never the content.
                print(f"edgedoctor: cannot read the token file {path}: {getattr(e, 'strerror', None) or type(e).__name__}",
                      file=sys.stderr)
                return None
            value = raw.strip()
            if not value or any(ch.isspace() for ch in value):
                print(f"edgedoctor: the token file {path} must hold one token on one line", file=sys.stderr)
                return None
            return value
        if _is_terminal():
            value = getpass.getpass(f"{step.secret_input or 'secret value'} (input hidden): ").strip()
            return value or None
        print(f"edgedoctor: {step.id} needs {step.secret_input or 'a secret value'}: put it in a file and set "
              f"{TOKEN_FILE_ENV}=PATH, or run on a terminal for a hidden prompt", file=sys.stderr)
        return None

    return provide


# ---------------------------------------------------------------- the command


def run_fix(args: argparse.Namespace) -> int:
    from edgedoctor.remedy.plan import UnknownPlaybook, load_playbook

    if args.list:
        sys.stdout.write(render_list())
        return EXIT_OK
    if not args.playbook:
        return _err("give a playbook and a host: edgedoctor fix PLAYBOOK HOST (`edgedoctor fix --list` lists them)")
    try:
        load_playbook(args.playbook)
    except UnknownPlaybook as e:
        return _err(str(e))
    if not args.host:
        return _err(f"give the HOST that playbook {args.playbook} is for: edgedoctor fix {args.playbook} HOST")
    try:
        return _run(args)
    except PlaybookError as e:
        return _err(str(e))
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as e:
        if os.environ.get("EDGEDOCTOR_DEBUG"):
            raise
        where = e.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        loc = f" ({where.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{where.tb_lineno})" if where else ""
        return _err(f"internal error: {type(e).__name__}{loc}; the run stopped (changes made so far are in the audit log) "
                    "(EDGEDOCTOR_DEBUG=1 shows the traceback)")


def _run(args: argparse.Namespace) -> int:
    from edgedoctor.app.run import check
    from edgedoctor.collect import EvidenceError
    from edgedoctor.remedy.plan import build_plan

    try:
        host = parse_host(args.host)
        opts = check_options(args, host)
    except UsageError as e:
        return _err(str(e))
    read_only = bool(opts.snapshots or opts.replay)
    try:
        ev, before = check(opts)
    except EvidenceError as e:
        return _err(str(e))
    plan = build_plan(args.playbook, ev, before, read_only=read_only)
    sys.stdout.write(render_plan(plan, before))
    apply = args.apply
    yes = args.yes
    if read_only:
        return _read_only(plan, args, apply)
    return _live(plan, args, opts, ev, before, apply=apply, yes=yes)


def _read_only(plan: Plan, args: argparse.Namespace, apply: bool) -> int:
    from edgedoctor.remedy.executor import Executor

    _out("")
    # Read-only evidence changes nothing: the refusal is audited only in a log the user named,
    # never in a default file left in the working directory.
    ex = Executor(None, audit_log=args.audit_log if apply else None,
                  read_only=True, playbook_id=plan.playbook_id, host=plan.host)
    for s in plan.change_steps:
        if s.satisfied:
            _out(f"{s.id}: nothing to change: {s.satisfied}")
            continue
        r = ex.dry_run(s) if apply else None
        _out(f"{s.id}: refused: read-only evidence (snapshot or replay): {describe_change(s.change) or s.title} is not made"
             if r is None else f"{s.id}: {r.message}")
    if apply:
        print("edgedoctor: refused: --apply needs a live cluster; nothing was changed", file=sys.stderr)
        return EXIT_REFUSED
    _out("No change was made (read-only evidence). Run against the live cluster for a dry run.")
    return EXIT_OK


def _default_audit() -> str:
    from edgedoctor.remedy.audit import DEFAULT_AUDIT_LOG

    return DEFAULT_AUDIT_LOG


def _live(plan: Plan, args: Any, opts: Any, ev: Any, before: Any, *, apply: bool, yes: bool) -> int:
    from edgedoctor.app.run import check
    from edgedoctor.collect import EvidenceError
    from edgedoctor.kube.config import LiveConfigError
    from edgedoctor.kube.writer import ClusterWriter
    from edgedoctor.remedy.audit import AuditError
    from edgedoctor.remedy.executor import Executor

    def rediagnose() -> Any:
        return check(opts)[1]

    try:
        writer = ClusterWriter.from_config(opts.kubeconfig, opts.context, timeout=min(opts.timeout, 15.0))
    except LiveConfigError as e:
        return _err(str(e))
    with writer:
        ex = Executor(writer, audit_log=args.audit_log or _default_audit(), read_only=False,
                      evidence=ev, playbook_id=plan.playbook_id, host=plan.host,
                      secret_provider=_token_provider(args), rediagnose=None,
                      context=ev.source.get("context"))
        try:
            ex.audit.check()
        except AuditError as e:
            return _err(f"{e}: no change is made without an audit log")
        _live_reads(plan, ex)
        pre = _live_dry_runs(plan, ex)
        considered = considered_steps(plan, yes)
        # Manual steps (a controller upgrade through Helm/Git) are instructions, not failures;
        # the steps that need them done carry a precondition that refuses them until then.
        manual = [s for s in considered if s.change and s.change.get("op") == "manual" and not s.satisfied]
        if not apply:
            return _dry_run_outcome(plan, considered, manual, pre, yes)
        todo = _steps_to_apply(ex, considered, manual, pre)
        if isinstance(todo, int):
            return todo
        if not yes and not _is_terminal():
            for s in todo:
                ex.record(s, "refused", "no terminal to confirm on and no --yes: not applied")
            return _err("no terminal to confirm the changes on, and no --yes: nothing was changed")
        return _apply_loop(plan, ex, todo, pre, before, yes, rediagnose, EvidenceError)


def _live_reads(plan: Plan, ex: Any) -> None:
    _out("")
    _out("Reads (live):")
    for s in plan.steps:
        if s.kind == "read" and s.check != "rediagnose":
            r = ex.run_read(s)
            head = r.details.get("interpretation")
            objs = r.details.get("objects") or []
            _out(f"  {s.id}: {head or ('' if objs else r.message)}".rstrip())
            for line in objs:
                _out(f"      {line}")


def _live_dry_runs(plan: Plan, ex: Any) -> dict[str, StepResult]:
    _out("")
    _out("Dry run (access review, then the API server's dry run; nothing is changed):")
    pre: dict[str, StepResult] = {}
    for s in plan.change_steps:
        r = ex.dry_run(s)
        pre[s.id] = r
        _out(f"  {s.id}: [{r.outcome}] {r.message}")
    return pre


def _dry_run_outcome(plan: Plan, considered: list[StepPlan], manual: list[StepPlan],
                     pre: dict[str, StepResult], yes: bool) -> int:
    """Without --apply: what the dry run says would happen, and its exit code."""
    _out("")
    if yes:
        _out("--yes confirms changes only together with --apply.")
    hard = [s for s in considered if pre[s.id].outcome in ("denied", "failed", "conflict")]
    if hard:
        _out(f"No change was made. {len(hard)} step(s) would be refused: " + ", ".join(s.id for s in hard) + ".")
        return EXIT_REFUSED
    if all(pre[s.id].outcome == "unchanged" for s in considered):
        _out("Nothing to change: every step is already in place.")
    elif all(pre[s.id].outcome == "unchanged" or s in manual for s in considered):
        _out("Dry run only: nothing was changed. The remaining change is manual (Helm/GitOps): make it as shown above.")
    else:
        _out(f"Dry run only: nothing was changed. To make the changes: edgedoctor fix {plan.playbook_id} {plan.host} --apply")
    return EXIT_OK


def _steps_to_apply(ex: Any, considered: list[StepPlan], manual: list[StepPlan],
                    pre: dict[str, StepResult]) -> list[StepPlan] | int:
    """The steps the dry run cleared, or the exit code when none is to be applied."""
    bad = [s for s in considered if s not in manual and pre[s.id].outcome in ("denied", "failed", "conflict", "blocked", "refused")]
    fatal = fatal_steps(considered, bad, pre)
    if fatal:
        for s in considered:
            if pre[s.id].outcome not in ("unchanged",):
                ex.record(s, "refused", f"not applied: {'; '.join(f'{b.id}: {pre[b.id].message}' for b in fatal)}")
        more = f" (and {len(fatal) - 1} more step(s))" if len(fatal) > 1 else ""
        return _err(f"no change was made: {fatal[0].id}: {pre[fatal[0].id].message}{more}")
    todo = [s for s in considered if pre[s.id].outcome == "ok"]
    if not todo and manual:
        return _err("nothing edgedoctor can apply: " + ", ".join(s.id for s in manual)
                    + " is a Helm/GitOps change to make as shown above")
    if not todo:
        _out("")
        _out("Nothing to change: every step is already in place.")
        return EXIT_OK
    return todo


def _apply_loop(plan: Plan, ex: Any, todo: list[StepPlan], pre: dict[str, StepResult], before: Any, yes: bool,
                rediagnose: Any, evidence_error: type[Exception]) -> int:
    choices = Choices.after_dry_run(plan, pre)
    applied = 0
    current = before
    _out("")
    _out("Changes:")
    for s in todo:
        skip = choices.skip_reason(s)
        if skip:
            _out(f"  {s.id}: skipped: {skip}")
            continue
        if not yes:
            label = f" (option {s.option}{', recommended' if s.recommended else ''})" if s.choice else ""
            if not _confirm(f"Apply {s.id}{label}: {describe_change(s.change)}?"):
                ex.record(s, "declined", "declined at the prompt: not applied")
                _out(f"  {s.id}: declined: not applied")
                choices.declined(s)
                continue
        r, v = apply_and_verify(ex, s)
        _out(f"  {s.id}: [{r.outcome}] {r.message}")
        if not r.ok:
            _out("  stopped: the later steps depend on this one")
            return EXIT_REFUSED
        if r.outcome != "ok":
            continue
        applied += 1
        choices.was_applied(s)
        if v is not None:
            _out(f"  {s.id}: verify: {v.message}")
        try:
            after = rediagnose()
        except evidence_error as e:
            _out(f"  re-diagnosis failed: {e}")
            return EXIT_REFUSED
        helped = verdict_line(after) != verdict_line(current)
        _out(f"  diagnosis: {verdict_line(current)} -> {verdict_line(after)}" + ("" if helped else " (unchanged so far)"))
        current = after
        if after.verdict == "ok":
            rest = [t.id for t in todo[todo.index(s) + 1:]]
            if rest:
                _out(f"  the diagnosis is ok now: not running {', '.join(rest)}")
            break
    if not applied:
        _out("No change was made.")
        return EXIT_OK
    if current.verdict != "ok":
        _out(f"Controllers act on changes asynchronously: run `edgedoctor check {plan.host}` again in a minute or two.")
    return exit_code(current.verdict)
