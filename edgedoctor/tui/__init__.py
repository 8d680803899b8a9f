"""The interactive diagnosis (`edgedoctor tui`), built on Textual.

Only modules under this package import textual, and `launch` imports it only
inside `run_tui`, so `edgedoctor check` never pays for it. The app presents:
the evidence comes from `edgedoctor.collect`, the verdict from
`edgedoctor.diagnosis.engine`, the walkthrough from `edgedoctor.remedy`.
"""
