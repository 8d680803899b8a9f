"""The application layer: what `check`, `fix`, the TUI (and any later front end) share.

Front ends parse their own input and render; everything between the command line and
the core lives here, without Textual and without the kubernetes client at import time:

- `args`: hosts and the evidence options, as every subcommand takes them;
- `run`: one check in stages (read the cluster -> probe -> diagnose), each stage's
  evidence handed over as it arrives;
- `exitcodes`: the one verdict -> exit code mapping.

Below it: `collect` (evidence I/O: kube, snapshot, recording, probes) and
`diagnosis` (pure rules). Nothing below imports this package.
"""
