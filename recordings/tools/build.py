"""Build the incident library: record every scenario against real servers on loopback.

    python recordings/tools/build.py            # all scenarios, then the README index
    python recordings/tools/build.py NAME ...   # only these (by file stem), then the index
    python recordings/tools/build.py --index    # only regenerate recordings/README.md

Needs what the server tests need (bind9, nginx-light) plus faketime, and root or
CAP_NET_BIND_SERVICE (the edge listens on 127.0.0.x:443 and :80, the ports the probes use).
Deterministic: the same checkout gives the same files (keys and signatures are derived, see
tests/servers/pki.py; timings and random labels are fixed, see rig.py). After a build, `git diff
recordings/` shows what a change to edgedoctor's probes or to a scenario did.

The committed recordings are the source of truth the tests replay; this script is how they
were made, kept so they can be remade when the probe format changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The PKI is the tests' own (tests/servers/pki.py): the repository root must be importable.
if str(HERE.parents[1]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[1]))

import index  # noqa: E402
import rig  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

from edgedoctor.recording import dump_doc, write_text  # noqa: E402
from tests.servers.pki import PKI  # noqa: E402

LIBRARY = HERE.parent


def build_one(sc, pki: PKI, out_dir: Path = LIBRARY) -> dict:
    s, cluster, world = sc.build(pki)
    doc = rig.record(sc.name, s.host, s.now, cluster.items(), world, context=s.context, ca_root_pem=pki.root_pem())
    out = {"edgedoctor_recording": doc["edgedoctor_recording"], "tool_version": doc["tool_version"],
           "recorded_at": doc["recorded_at"], "title": sc.title, "story": index.wrap(sc.story) + "\n",
           "expected": {k: sc.expected[k] for k in ("verdict", "root_cause", "category")}, "evidence": doc["evidence"]}
    write_text(out_dir / f"{sc.name}.yaml", dump_doc(out))
    return out


def replay(name: str, host: str) -> dict:
    proc = rig.run_edgedoctor(["check", host, "--replay", str(LIBRARY / f"{name}.yaml"), "-o", "json"])
    if not proc.stdout.strip():
        return {"verdict": "unknown", "root_cause": None, "error": proc.stderr.strip()}
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="scenario file stems (default: all)")
    p.add_argument("--index", action="store_true", help="only regenerate recordings/README.md")
    args = p.parse_args(argv)
    if not args.index:
        known = {sc.name for sc in SCENARIOS}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            print(f"unknown scenarios: {', '.join(unknown)}", file=sys.stderr)
            return 2
        pki = PKI()
        mismatches = 0
        for sc in SCENARIOS:
            if args.names and sc.name not in args.names:
                continue
            started = time.monotonic()
            doc = build_one(sc, pki)
            got = replay(sc.name, doc["evidence"]["host"])
            root = (got.get("root_cause") or {}).get("code") if isinstance(got.get("root_cause"), dict) else None
            want = sc.expected
            same = got.get("verdict") == want["verdict"] and root == want["root_cause"] and got.get("category") == want["category"]
            mismatches += not same
            mark = "ok " if same else "XX "
            print(f"{mark}{sc.name:<45} expected {want['verdict']}/{want['root_cause']}  engine {got.get('verdict')}/{root}"
                  f"  ({time.monotonic() - started:.1f}s)", flush=True)
        if mismatches:
            print(f"{mismatches} scenario(s) where the engine disagrees with the expected verdict "
                  "(see tests/test_recordings.py for the known engine bugs)")
    (LIBRARY / "README.md").write_text(index.render(LIBRARY))
    return 0


if __name__ == "__main__":
    sys.exit(main())
