"""Probes: the only code that looks at the world (DNS, TLS, HTTP).

Import the submodules you need (`edgedoctor.probes.dns`, `.tls`, `.http`, `.runner`).
What the probes share with the pure analysis lives outside this package
(`edgedoctor.cloudflare`, `edgedoctor.pemcerts`), so `edgedoctor.diagnosis` never
imports it.
"""
