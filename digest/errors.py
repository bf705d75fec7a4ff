"""The one exception family the library raises; the CLI maps each to an exit code."""

from __future__ import annotations


class DigestError(Exception):
    """Base class: something the user can fix, reported as one line."""

    exit_code = 1


class UsageError(DigestError):
    """Bad options or arguments (exit 2)."""

    exit_code = 2


class SkipDocument(DigestError):
    """One input cannot be summarised; the run goes on and lists it as skipped."""


class ModelUnavailable(DigestError):
    """The seq2seq model could not be loaded (offline and not cached, wrong id, wrong kind)."""


class ReaderUnavailable(DigestError):
    """A format's reader cannot work in this installation (its imports fail): one error for
    the format, never one skip per file."""

    def __init__(self, fmt: str, package: str, install: str, cause: str) -> None:
        self.format, self.package, self.install, self.cause = fmt, package, install, cause
        super().__init__(f"{fmt} files cannot be read: {cause}; install {package}: {install}")


class TemplateProblem(DigestError):
    """An output or prompt template is missing or broken."""


class DeliveryError(DigestError):
    """The digest was written but could not be delivered (the .eml stays on disk)."""

    exit_code = 5


class LockTimeout(DigestError):
    """Another run holds the output folder's lock for longer than --wait."""

    exit_code = 4


class OutputProblem(DigestError):
    """The output folder, or a file in it, cannot be written (exit 1)."""
