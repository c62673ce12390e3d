"""The one exception a job raises to stop with a user-facing reason."""

from __future__ import annotations

from typing import Any

from runner.spec import ErrorCode, ErrorInfo, ExitCode


class JobError(Exception):
    """A job cannot go on: `message` is one sentence the user can act on."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        exit_code: ExitCode = ExitCode.BAD_INPUT,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code
        self.details = details or {}

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, details=self.details)


def quoted(names: list[str] | tuple[str, ...]) -> str:
    """'a', 'b' and 'c' — column names as the user wrote them."""
    items = [f"'{name}'" for name in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
