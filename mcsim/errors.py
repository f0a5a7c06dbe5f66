"""Error types that the CLI turns into one clear line and a non-zero exit.

Every error that a user can cause with a bad file names the file, where in it (row or key)
and what was expected, so that a researcher can fix the input without reading our code.
"""

from __future__ import annotations

from pathlib import Path


class MCSimError(Exception):
    """Base class of the errors that are the user's to fix (printed without a traceback)."""


class InputError(MCSimError):
    """A problem in an input file: names the file, the place in it and what was expected."""

    #: How the ``column`` argument is named in the message (a table column, a YAML key).
    place = "column"

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column
        self.reason = message
        where = []
        if self.path is not None:
            where.append(self.path)
        if row is not None:
            where.append(f"line {row}")
        if column is not None:
            where.append(f"{self.place} {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class TraceError(InputError):
    """A malformed mobility trace."""


class ScenarioError(InputError):
    """A malformed scenario file; ``column`` carries the key path (e.g. ``tasks.copies``).

    ``others`` holds the file's further problems (``mcsim validate`` lists them all).
    """

    place = "key"
    others: tuple[ScenarioError, ...] = ()


class PolicyError(MCSimError):
    """An unknown policy, a bad ``module:Class`` path or a bad policy parameter."""


class CheckpointError(InputError):
    """A missing, corrupt or mismatched model checkpoint."""


class ConstraintViolation(MCSimError, ValueError):
    """An assignment that breaks the problem's constraints (names the rule and the pair).

    Also a ValueError: it is a bad value returned by a policy, and callers that guarded
    ``allocate`` with ``except ValueError`` keep working.
    """


class CacheWarning(UserWarning):
    """A cached artefact could not be used or written; it was rebuilt (results unaffected)."""


class ReproducibilityWarning(UserWarning):
    """Something makes a run's results differ between identical reruns (e.g. an unseeded
    plug-in policy)."""
