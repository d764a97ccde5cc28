"""The one error type a user can cause; the CLI prints it as one line and exits non-zero."""

from __future__ import annotations


class FourKeysError(Exception):
    """A mistake the user can fix (bad config, bad token, unreachable host, malformed file).

    `exit_code` follows the contract: 1 user error, 2 partial/resumable, 3 internal.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PartialRunError(FourKeysError):
    """The run stopped cleanly before the end (e.g. the rate-limit budget ran out); resumable."""

    exit_code = 2
