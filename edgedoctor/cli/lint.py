"""`edgedoctor lint PATH...`: rendered manifests diagnosed before they are merged."""

from __future__ import annotations

import argparse
import sys

from edgedoctor.cli.common import err


def cmd_lint(args: argparse.Namespace) -> int:
    from edgedoctor.app.lint import lint_command
    from edgedoctor.lint.load import ManifestError

    output = args.output or ("text" if sys.stdout.isatty() else "json")
    try:
        text, code = lint_command(args.paths, base=args.base, context=args.context,
                                  kubeconfig=args.kubeconfig, output=output)
    except ManifestError as e:
        return err(str(e))
    sys.stdout.write(text)
    return code
