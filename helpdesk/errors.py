"""The one error hierarchy: services raise these, views turn them into pages."""
from __future__ import annotations


class HelpdeskError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, message: str = "", **details):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.details = details


class NotFound(HelpdeskError):
    status_code = 404
    title = "Not found"


class PermissionDenied(HelpdeskError):
    status_code = 403
    title = "Permission denied"


class Conflict(HelpdeskError):
    """Someone else changed the record since the form was loaded."""

    status_code = 409
    title = "Changed by someone else"

    def __init__(self, message: str = "", changes: list[str] | None = None):
        super().__init__(message)
        self.changes = changes or []


class ValidationFailed(HelpdeskError):
    """Input broke a rule; `errors` maps each field name to what is wrong."""

    status_code = 422
    title = "Please correct the highlighted fields"

    def __init__(self, errors: dict[str, str], message: str = ""):
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class TooLarge(HelpdeskError):
    status_code = 413
    title = "Too large"
