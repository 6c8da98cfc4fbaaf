"""Errors as values at the boundary: rule modules raise these, the gRPC layer maps them to status
codes (INVALID_ARGUMENT with field details, NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED,
FAILED_PRECONDITION)."""
from __future__ import annotations


class DomainError(Exception):
    pass


class InvalidRequest(DomainError):
    """Bad input, one entry per field: [(field path, reason), ...]."""

    def __init__(self, violations: list[tuple[str, str]]):
        self.violations = violations
        super().__init__("; ".join(f"{f}: {r}" for f, r in violations))


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Unauthenticated(DomainError):
    """No credentials where they are needed, or a token nobody holds."""


class TooManyAttempts(DomainError):
    """Too many failed guesses (the public Track): wait before trying again."""


class Unavailable(DomainError):
    """Something the answer needs cannot be reached now (the identity service at start): retry."""


class NotAllowedNow(DomainError):
    """The action is valid but the state does not allow it (deciding twice, resuming what runs)."""


class Violations:
    """Collects field violations so that a request is answered with all of them at once."""

    def __init__(self):
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, reason: str) -> None:
        self.items.append((field, reason))

    def require(self, value, field: str, max_len: int = 200) -> None:
        if not value or not str(value).strip():
            self.add(field, "required")
        elif len(str(value)) > max_len:
            self.add(field, f"at most {max_len} characters")

    def check(self) -> None:
        if self.items:
            raise InvalidRequest(self.items)
