"""Typed errors. Each carries its documented exit code (README, "Commands") and tells the user what to do next.

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
        # Where a collector contains the failure (``Snapshot.record_failure``): the resources it was reading
        # (one task definition, one target group), so the error finding names them.
        self.resources: list[str] = []
        text = f"{operation} failed: {code}: {message}"
        hint = None
        if iam_action and is_access_denied(code):
            hint = f"grant {iam_action} to the caller"
        super().__init__(text, hint=hint)

    @property
    def access_denied(self) -> bool:
        return is_access_denied(self.code)

    @property
    def throttled(self) -> bool:
        return is_throttled(self.code)

    def in_our_words(self) -> str:
        """One clause for a finding's summary: what could not be read, and what to do about it."""
        where = f" for {', '.join(self.resources)}" if self.resources else ""
        if self.access_denied:
            return f"{self.operation}{where} was denied: grant {self.iam_action or 'that action'} to the caller"
        if self.throttled:
            return f"{self.operation}{where} was still throttled ({self.code}) after every retry: try again later"
        return f"{self.operation}{where} failed: {self.code}: {self.aws_message}"

    def evidence(self) -> dict:
        """The error as evidence: its class and code as AWS sent them."""
        return {"class": type(self).__name__, "operation": self.operation, "code": self.code,
                "message": self.aws_message, "iam_action": self.iam_action, "resources": list(self.resources)}


def is_access_denied(code: str) -> bool:
    return code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                    "UnauthorizedAccess", "AuthorizationError", "Forbidden"} or code.endswith("AccessDenied")


def is_throttled(code: str) -> bool:
    return code in {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                    "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
                    "BandwidthLimitExceeded", "EC2ThrottledException"}


class SandboxError(RunIncomplete):
    """The embedded sandbox could not be started, reached or stopped."""
