"""Shell commands shown to people: split a block into single commands, tell reads from changes.

A step's "equivalent command" can be several commands (a dig, then an API call), a
heredoc (`kubectl apply -f - <<'EOF' ... EOF`) or a line continued with a backslash.
A person copies one command at a time, and a step that "changes nothing" must never
hand over one that does: `changes_something` is deliberately conservative (a program
it does not know counts as a change).
"""

from __future__ import annotations

import re
import shlex

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def split_commands(text: str) -> list[str]:
    """The single commands of a block, comments dropped, heredocs and continuations kept whole."""
    out: list[str] = []
    lines = (text or "").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cmd = [line]
        while cmd[-1].rstrip().endswith("\\") and i < len(lines):
            cmd.append(lines[i])
            i += 1
        m = _HEREDOC.search(cmd[-1])
        if m:
            end = m.group(2)
            while i < len(lines):
                cmd.append(lines[i])
                i += 1
                if cmd[-1].strip() == end:
                    break
        out.append("\n".join(cmd).strip())
    return out


# Verbs that only read, per program; anything else that program does counts as a change.
_KUBECTL_READ = {"get", "describe", "logs", "explain", "api-resources", "api-versions", "top", "version",
                 "events", "cluster-info", "diff"}
_KUBECTL_READ_SUB = {("auth", "can-i"), ("auth", "whoami"), ("rollout", "status"), ("rollout", "history"),
                     ("config", "view"), ("config", "get-contexts"), ("config", "current-context")}
_CMCTL_READ = {"status", "inspect", "check", "version"}
_HELM_READ = {"list", "ls", "status", "get", "history", "show", "template", "search", "version"}
_EDGEDOCTOR_READ = {"check", "checks", "explain", "record"}
_READ_PROGRAMS = {"dig", "nslookup", "host", "delv", "openssl", "grep", "jq", "yq", "cat", "head", "tail",
                  "awk", "sed", "cut", "sort", "uniq", "wc", "base64", "echo", "date", "true", "less"}
_CURL_WRITE_FLAGS = {"-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "-F", "--form",
                     "-T", "--upload-file", "--json"}
_FLAG_WITH_VALUE = {"-n", "--namespace", "--context", "--kubeconfig", "-o", "--output", "-l", "--selector",
                    "-c", "--container", "--since", "--tail", "-f", "--filename", "--cluster", "--user"}


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command.split("<<", 1)[0], comments=True)
    except ValueError:  # an unbalanced quote: judge the plain words
        return command.split()


def _segments(command: str) -> list[list[str]]:
    """The simple commands of a pipeline or a list (`a | b`, `a && b`, `a; b`)."""
    words = _words(command)
    out: list[list[str]] = [[]]
    for w in words:
        if w in ("|", "||", "&&", ";", "&"):
            out.append([])
        else:
            out[-1].append(w)
    return [s for s in out if s]


def _positional(args: list[str]) -> list[str]:
    pos: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in _FLAG_WITH_VALUE:
            skip = True
            continue
        if a.startswith("-"):
            continue
        pos.append(a)
    return pos


def _segment_changes(words: list[str]) -> bool:
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]  # VAR=value before the program
    if not words:
        return False
    prog, args = words[0].rsplit("/", 1)[-1], words[1:]
    if prog in _READ_PROGRAMS:
        return prog == "sed" and any(a.startswith("-i") for a in args)
    pos = _positional(args)
    if prog in ("kubectl", "kubectl-edgedoctor", "oc"):
        if not pos:
            return True
        if pos[0] == "edgedoctor":
            return _segment_changes(["edgedoctor", *args[args.index("edgedoctor") + 1:]])
        return not (pos[0] in _KUBECTL_READ or tuple(pos[:2]) in _KUBECTL_READ_SUB)
    if prog == "cmctl":
        return not pos or pos[0] not in _CMCTL_READ
    if prog == "helm":
        return not pos or pos[0] not in _HELM_READ
    if prog == "edgedoctor":
        if pos and pos[0] == "fix":
            return "--apply" in args
        return not pos or pos[0] not in _EDGEDOCTOR_READ
    if prog == "curl":
        method = None
        for j, a in enumerate(args):
            if a in ("-X", "--request") and j + 1 < len(args):
                method = args[j + 1].upper()
            elif a.startswith("-X") and len(a) > 2:
                method = a[2:].upper()
            elif a.startswith("--request="):
                method = a.split("=", 1)[1].upper()
            elif a in _CURL_WRITE_FLAGS or any(a.startswith(f + "=") for f in _CURL_WRITE_FLAGS if f.startswith("--")):
                return True
        return method not in (None, "GET", "HEAD", "OPTIONS")
    return True  # a program not known to only read


def changes_something(command: str) -> bool:
    """True unless every part of the command is known to only read."""
    segments = _segments(command)
    if not segments:
        return False
    return any(_segment_changes(s) for s in segments)


def reading_commands(text: str) -> tuple[list[str], list[str]]:
    """(the commands of a block that only read, the ones that would change something)."""
    reads, changes = [], []
    for c in split_commands(text):
        (changes if changes_something(c) else reads).append(c)
    return reads, changes
