"""Directory API errors in Google's exact JSON shape, and the ones the emulator raises."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status, Google's `reason`, and its message."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        location: str | None = None,
        location_type: str | None = None,
    ):
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.location = location
        self.location_type = location_type

    def body(self) -> dict[str, Any]:
        """`{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}`."""
        detail: dict[str, Any] = {
            "domain": "global",
            "reason": self.reason,
            "message": self.message,
        }
        if self.location:
            detail["locationType"] = self.location_type or "parameter"
            detail["location"] = self.location
        return {"error": {"code": self.code, "message": self.message, "errors": [detail]}}


def not_found(what: str) -> ApiError:
    """404 for a key that names nothing: `Resource Not Found: userKey` (groupKey, memberKey…)."""
    return ApiError(404, "notFound", f"Resource Not Found: {what}")


def duplicate(message: str = "Entity already exists.") -> ApiError:
    """409 for an address, member, schema or org unit that already exists."""
    return ApiError(409, "duplicate", message)


def invalid(message: str, location: str | None = None) -> ApiError:
    """400 for a value Google refuses."""
    return ApiError(400, "invalid", message, location=location)


def required(field: str) -> ApiError:
    """400 for a missing required field, named as the request spells it."""
    return ApiError(400, "required", f"Missing required field: {field}")


def bad_request() -> ApiError:
    """Google's bare 400, e.g. users.list with neither customer nor domain."""
    return ApiError(400, "badRequest", "Bad Request")


def domain_not_found() -> ApiError:
    """An address or `domain` parameter outside the tenant's domains."""
    return ApiError(404, "notFound", "Domain not found.")


def condition_not_met(message: str, reason: str = "conditionNotMet") -> ApiError:
    """412: the request is valid but the resource's state forbids it."""
    return ApiError(412, reason, message)


def user_not_ready() -> ApiError:
    """A write to a user created less than the consistency delay ago, as Google answers it."""
    return condition_not_met("User creation is not complete.")


def invalid_parameter(name: str, value: str, expected: str) -> ApiError:
    """400 for a query parameter of the wrong form, located like Google's."""
    return ApiError(
        400,
        "invalid",
        f"Invalid value '{value}'. {expected}",
        location=name,
        location_type="parameter",
    )
