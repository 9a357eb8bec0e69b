"""The one exception family of stackswap.

Every error a user can cause or meet is a StackswapError with a message written for that user and
the exit code the CLI returns for it (the table is in the README, "Exit codes").
"""

from __future__ import annotations

import signal


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


class Refused(StackswapError):
    """Refused before any change: the state or the request makes the operation unsafe."""

    exit_code = 3


class ColorFailed(StackswapError):
    """The new colour failed its update or its checks; production was never touched."""

    exit_code = 4


class SwapReverted(StackswapError):
    """The swap failed or production did not serve after it; :80 is back on the old colour."""

    exit_code = 5


class OperatorNeeded(StackswapError):
    """A stack is in a state only a person should resolve; the message says how."""

    exit_code = 6


class StateUnknown(StackswapError):
    """AWS could not be read (credentials expired, network lost): nothing is assumed."""

    exit_code = 7


class AwsUnreachable(StateUnknown):
    """A call to AWS failed after botocore's retries (connection, throttling, 5xx)."""


class Interrupted(BaseException):
    """A signal ended the run: SIGINT (Ctrl-C), SIGTERM (a CI cancel, `timeout`) or SIGHUP (a
    closed terminal). A BaseException, like KeyboardInterrupt, so that nothing on the way out
    mistakes it for an error to handle; every `finally` still runs (the lock is released)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130, 143, 129

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name



# The exit-code table (the README's "Exit codes"): one class of the family per code. 0 is a
# success and 128 + N an interrupt by signal N (Interrupted); the CLI maps these once.
EXIT_CODES: dict[int, type[StackswapError]] = {
    error.exit_code: error for error in (StackswapError, BadInput, Refused, ColorFailed,
                                         SwapReverted, OperatorNeeded, StateUnknown)}
