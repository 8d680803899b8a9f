"""The step builders, one module per playbook (its id with underscores); what several
playbooks share is in `common`. `edgedoctor.remedy.steps` registers them by name."""
