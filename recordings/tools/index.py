"""recordings/README.md: the quickstart and the index of the library, generated from the files.

tests/test_recordings.py checks that the committed README equals `render()`, so the index
cannot drift from the recordings: after adding or changing one, run
`python recordings/tools/build.py --index`.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edgedoctor.recording import read_recording_doc  # noqa: E402

QUICKSTART_FILE = "cert-manager-7003-cleanup.yaml"


def wrap(text: str, width: int = 96) -> str:
    return textwrap.fill(" ".join(text.split()), width=width)


def entries(library: Path) -> list[dict[str, str]]:
    out = []
    for path in sorted(library.glob("*.yaml")) + sorted(library.glob("*.yaml.gz")):
        doc = read_recording_doc(path)
        exp = doc.get("expected") or {}
        out.append({
            "file": path.name,
            "host": str(doc["evidence"].get("host")),
            "code": str(exp.get("root_cause") or "(healthy)"),
            "category": str(exp.get("category") or "-"),
            "verdict": str(exp.get("verdict") or "?"),
            "title": " ".join(str(doc.get("title") or "").split()),
        })
    # Healthy first, then by category and code, as the catalog lists them.
    order = {"-": 0, "app-routing": 1, "dns-sync": 2, "cert-issuance": 3}
    return sorted(out, key=lambda e: (order.get(e["category"], 9), e["code"], e["file"]))


def render(library: Path) -> str:
    es = entries(library)
    quick = next((e for e in es if e["file"] == QUICKSTART_FILE), es[0] if es else None)
    host = quick["host"] if quick else "HOST"
    f = quick["file"] if quick else "FILE.yaml"
    lines = [
        "# The incident library",
        "",
        "Recordings of `edgedoctor check` on broken (and healthy) Kubernetes edges: one scenario per",
        "root-cause code of the catalog (`checks/`), the incidents the field reports first, and",
        "healthy edges to compare with. Each file holds everything the check saw (cluster objects,",
        "DNS questions and answers, TLS handshakes, HTTP probes), a `story` (what happened, what the",
        "engineer saw) and the `expected` verdict a correct diagnosis gives.",
        "",
        "## Quickstart",
        "",
        "```sh",
        "python3 -m venv .venv && . .venv/bin/activate",
        "pip install .                       # the CLI, the live reader and the TUI",
        f"edgedoctor check {host} --replay recordings/{f}",
        f"edgedoctor check {host} --replay recordings/{f} -o json",
        f"edgedoctor explain {quick['code'] if quick else 'CODE'}",
        f"edgedoctor tui {host} --replay recordings/{f}    # the TUI, on the same file",
        "```",
        "",
        "A replay needs no cluster and no network: every answer comes from the file, judged at the",
        "recorded time (`--now` to judge it at another). Record your own incident with",
        "`edgedoctor record HOST --file incident.yaml.gz` (or `check HOST --record FILE`); Secrets keep",
        "only their public certificate, and a person can read and edit the YAML (keep the last line,",
        "`complete: true`: a file without it is taken for one cut short and refused).",
        "",
        "## How the library is made",
        "",
        "`tools/build.py` builds each scenario (`tools/scenarios.py`: a healthy edge with one link",
        "broken, objects as the controllers write them at the named versions), starts BIND 9 and",
        "nginx on loopback as the world that break produces, and records a real `edgedoctor record`",
        "against them, at the scenario's time. It then gives the recording its public face",
        "(loopback addresses become the scenario's addresses, timings fixed), see `tools/rig.py`.",
        "The build is deterministic; the committed files are what the tests replay",
        "(`tests/test_recordings.py`). Certificates are public only: the build derives throwaway",
        "keys for fictional CAs and never writes them here.",
        "",
        f"## Index ({len(es)} recordings)",
        "",
        "| file | code | verdict | story |",
        "|---|---|---|---|",
    ]
    for e in es:
        lines.append(f"| [{e['file']}]({e['file']}) | `{e['code']}` | {e['verdict']} | {e['title']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(Path(__file__).resolve().parents[1]))
