"""What the workers report back to the screens (post_message is thread-safe)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis


class ClusterRead(Message):
    """Phase one: the cluster evidence (or a whole recording) and its diagnosis."""

    def __init__(self, generation: int, ev: Evidence, diagnosis: Diagnosis, probing: bool) -> None:
        super().__init__()
        self.generation = generation
        self.ev = ev
        self.diagnosis = diagnosis
        self.probing = probing


class ProbesDone(Message):
    """Phase two: the probes are in and the diagnosis was run again."""

    def __init__(self, generation: int, ev: Evidence, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.generation = generation
        self.ev = ev
        self.diagnosis = diagnosis


class CheckFailed(Message):
    def __init__(self, generation: int, message: str) -> None:
        super().__init__()
        self.generation = generation
        self.message = message


class DiagnosisChanged(Message):
    """A walkthrough re-check produced a newer diagnosis for the main screen."""

    def __init__(self, ev: Evidence, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.ev = ev
        self.diagnosis = diagnosis


class StepOutcome(Message):
    """A walkthrough step's read, dry run or change came back."""

    def __init__(self, index: int, action: str, result: Any) -> None:
        super().__init__()
        self.index = index
        self.action = action  # read | dry-run | apply | error
        self.result = result


class Rechecked(Message):
    """The diagnosis after a walkthrough step (None when it could not be run)."""

    def __init__(self, index: int, ev: Evidence | None, diagnosis: Diagnosis | None, error: str | None) -> None:
        super().__init__()
        self.index = index
        self.ev = ev
        self.diagnosis = diagnosis
        self.error = error
