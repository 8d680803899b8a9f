"""`edgedoctor lint`: diagnose rendered GitOps manifests before they are merged.

load (files and lines) -> gitops (HelmRelease/Application as controllers) -> predict (the
statuses the controllers would write) -> run (the engine's layers, per host, over one
index) -> base (before/after against a cluster) -> report (text, json, junit, github).
"""
