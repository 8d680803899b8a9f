"""Probes: the only code that looks at the world (DNS, TLS, HTTP).

Import the submodules you need (`edgedoctor.probes.dns`, `.tls`, `.http`, `.runner`); this
package imports nothing itself so that the pure analysis can use `cloudflare_ranges` and
`certs` without pulling in network code.
"""
