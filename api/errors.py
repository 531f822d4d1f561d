"""API errors: every failure answers JSON that names the field and the problem, never a bare 500."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import structlog
from advanced_alchemy.exceptions import (
    DuplicateKeyError,
    ForeignKeyError,
    IntegrityError,
    NotFoundError,
    RepositoryError,
)
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = structlog.get_logger(__name__)


class FieldError(msgspec.Struct):
    """One problem with one input field."""

    field: str
    message: str


class ErrorBody(msgspec.Struct):
    """The body of every error response."""

    status_code: int
    detail: str
    errors: list[FieldError] = msgspec.field(default_factory=list)


class ApiError(Exception):
    """An error the client can fix; ``status_code`` decides the HTTP status."""

    status_code = 400

    def __init__(self, detail: str, field: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or ([FieldError(field=field, message=detail)] if field else [])


class NotFound(ApiError):
    """The resource does not exist in the caller's account."""

    status_code = 404


class Conflict(ApiError):
    """The request clashes with the current state (duplicate, in use, wrong status)."""

    status_code = 409


class Invalid(ApiError):
    """The request is well-formed but a value breaks a rule of the product."""

    status_code = 422

    @classmethod
    def of(cls, errors: list[FieldError]) -> Invalid:
        """One error carrying several field problems; the first one is the summary."""
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return cls(f"{first.field}: {first.message}{more}", errors=errors)


class Forbidden(ApiError):
    """The API key lacks the scope the route needs."""

    status_code = 403


class Unavailable(ApiError):
    """This node cannot do it right now (no SIP engine, no capacity); the client may retry."""

    status_code = 503


def _respond(
    status: int, detail: str, errors: list[FieldError] | None = None, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(status_code=status, detail=detail, errors=errors or []),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def _validation_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            field = str(item.get("key") or item.get("source") or "body")
            message = str(item.get("message", "invalid value"))
            # msgspec names a missing or unknown field only in its message, under the key "data"
            named = _NAMED_FIELD.search(message)
            if named:
                field = named.group(1) if field in ("data", "body") else f"{field}.{named.group(1)}"
            errors.append(FieldError(field=field, message=message))
    return errors


def handle_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorBody]:
    """Litestar's own input validation (types, required fields, limits) → 400 naming the field."""
    errors = _validation_errors(exc.extra)
    detail = f"{errors[0].field}: {errors[0].message}" if errors else str(exc.detail)
    return _respond(400, detail, errors)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    """Framework HTTP errors (401, 404 route, 405, 413 …) in the common body."""
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        return handle_unexpected(request, exc)
    headers = dict(exc.headers or {})
    return _respond(exc.status_code, str(exc.detail), _validation_errors(exc.extra), headers or None)


def handle_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[ErrorBody]:
    """Errors raised by services."""
    return _respond(exc.status_code, exc.detail, exc.errors)


def handle_repository(_: Request[Any, Any, Any], exc: RepositoryError) -> Response[ErrorBody]:
    """Database errors that slipped past service validation: a missing row or a clash, never a 500."""
    if isinstance(exc, NotFoundError):
        return _respond(404, "not found")
    if isinstance(exc, ForeignKeyError):
        return _respond(409, "the record is referenced by or references another record that does not allow it")
    if isinstance(exc, DuplicateKeyError | IntegrityError):
        return _respond(409, "a record with the same unique value already exists")
    log.error("repository error", error=str(exc))
    return _respond(HTTP_500_INTERNAL_SERVER_ERROR, "internal error")


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """A bug: log it with the route, answer 500 without leaking internals."""
    log.exception("unhandled error", path=request.url.path, method=request.method, error=repr(exc))
    return _respond(HTTP_500_INTERNAL_SERVER_ERROR, "internal error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ValidationException: handle_validation,
    ApiError: handle_api_error,
    RepositoryError: handle_repository,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}
