import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# No test may send traffic off this machine: every probe (and every edgedoctor
# subprocess, which inherits the environment) refuses non-loopback destinations.
os.environ["EDGEDOCTOR_LOOPBACK_ONLY"] = "1"

# The real control plane's session fixture (kube_cluster), registered once for the whole run.
pytest_plugins = ["tests.servers.kubeapi"]
