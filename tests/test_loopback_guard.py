"""The fence the suite runs behind: probes refuse every non-loopback destination."""

from __future__ import annotations

import json

from tests.test_cli import BASE, NOW, run


def test_probes_refuse_non_loopback_destinations():
    # The base cluster's Gateway address is 203.0.113.10 (TEST-NET-3): the check must not
    # contact it, and must say why each probe has no answer.
    p = run("check", "app.example.com", "--snapshot", BASE, "--now", NOW, "--timeout", "5",
            "--nameserver", "198.51.100.53", "-o", "json")
    assert "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    text = json.dumps(doc)
    assert "EDGEDOCTOR_LOOPBACK_ONLY" in text
    served = next(n for n in doc["tree"] if n["node"] == "served-certificate")
    assert served["status"] in ("unknown", "error", "skip"), served
