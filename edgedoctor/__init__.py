"""edgedoctor: from a hostname to the broken link of the Kubernetes edge.

Nothing is imported here on purpose: `edgedoctor check` must start fast and must
not pull in textual or the kubernetes client unless it needs them.
"""

__version__ = "0.1.0"
