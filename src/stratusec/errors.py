"""User-facing errors: one clear line, exit code 2, never a traceback."""

from __future__ import annotations


class StratusecError(Exception):
    """A problem the user can fix (bad input, bad config, unreachable endpoint).

    The CLI prints ``str(error)`` on one line and exits with ``exit_code``.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class ConfigError(StratusecError):
    """The configuration file is missing, unreadable or invalid."""


class NotFoundError(StratusecError):
    """An account, scan, region, service or other named thing does not exist."""


class CredentialsError(StratusecError):
    """Cloud credentials are missing, invalid, or the endpoint cannot be reached."""
