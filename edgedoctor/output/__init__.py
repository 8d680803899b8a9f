"""Front-end renderers of a Diagnosis (text for people, JSON for programs)."""
