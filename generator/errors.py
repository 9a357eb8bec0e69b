"""The one exception family of stackswap.

Every error a user can cause or meet is a StackswapError with a message written for that user and
the exit code the CLI returns for it (the table is in the README, "Exit codes").
"""

from __future__ import annotations


class StackswapError(Exception):
    """An error with a user-facing message and a documented exit code."""

    exit_code = 1

    @property
    def message(self) -> str:
        return str(self.args[0])


class BadInput(StackswapError):
    """The user's flags or config are wrong; nothing was called in AWS."""

    exit_code = 2


class ConfigError(BadInput):
    """The environment config file is missing, malformed, or has a wrong value."""

    def __init__(self, path: str, key: str | None, problem: str) -> None:
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.key = key
