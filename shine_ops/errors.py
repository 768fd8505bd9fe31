"""Typed errors. Each carries the exit code of the contract and tells the user what to do next.

The CLI catches ``ShineOpsError`` at the top and prints ``str(err)`` as one line on stderr, so every
message must stand on its own: what went wrong, and what to do about it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3


class ShineOpsError(Exception):
    """Base class: a failure the user can act on, never shown with a traceback."""

    exit_code: int = EXIT_INCOMPLETE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ShineOpsError):
    """Bad option, bad configuration, invalid playbook, unknown check: exit 2."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A configuration or playbook file is invalid; names the file, line and field where known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: int | None = None, field: str | None = None, hint: str | None = None) -> None:
        where = ""
        if path:
            where = path
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            where += ": "
        if field:
            message = f"{field}: {message}"
        super().__init__(where + message, hint=hint)
        self.path, self.line, self.column, self.field = path, line, column, field


class RunIncomplete(ShineOpsError):
    """The run could not complete (no credentials, endpoint unreachable, essential call denied): exit 3."""

    exit_code = EXIT_INCOMPLETE


class NoCredentials(RunIncomplete):
    pass


class EndpointUnreachable(RunIncomplete):
    pass


class AwsCallError(RunIncomplete):
    """An AWS call failed after retries. Names the operation and, for access denied, the IAM action."""

    def __init__(self, operation: str, code: str, message: str, *, iam_action: str | None = None) -> None:
        self.operation, self.code, self.aws_message, self.iam_action = operation, code, message, iam_action
        text = f"{operation} failed: {code}: {message}"
        hint = None
        if iam_action and is_access_denied(code):
            hint = f"grant {iam_action} to the caller"
        super().__init__(text, hint=hint)

    @property
    def access_denied(self) -> bool:
        return is_access_denied(self.code)


def is_access_denied(code: str) -> bool:
    return code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                    "UnauthorizedAccess", "AuthorizationError", "Forbidden"} or code.endswith("AccessDenied")


class SandboxError(RunIncomplete):
    """The embedded sandbox could not be started, reached or stopped."""
