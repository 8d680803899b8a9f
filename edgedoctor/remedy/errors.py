"""The errors of planning a playbook (their own module so that the step builders,
which raise them, need not import the planner that calls them)."""

from __future__ import annotations


class PlaybookError(Exception):
    """Bad input for a playbook; the message is one line for the user."""


class UnknownPlaybook(PlaybookError):
    pass


class NotApplicable(PlaybookError):
    """The playbook does not fit what the diagnosis found (or has nothing to act on)."""
