"""What every route shares: the error shape, the caller's identity, JSON bodies validated by pydantic."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive

from meeting.auth import Principal, check_not_revoked, decode_access_token, decode_record_token, is_record_token
from meeting.context import AppContext
from meeting.errors import Rejected
from meeting.inputs import untrusted_json
from meeting.throttle import caller_address

Body = TypeVar("Body", bound=BaseModel)
MAX_JSON_BYTES = 1_000_000
UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and headers on top of the file itself


def ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Rejected("unauthenticated", status=401)
    return token.strip()


def _checked(request: Request, who: Principal) -> Principal:
    """Refuse a token issued before its account's last sign-out, password change, role change or deactivation
    (401 token_revoked): one primary-key lookup per request (bench/token_check.py)."""
    with ctx(request).sessions() as session:
        check_not_revoked(session, who)
    # A password re-entered later in this request (signing the record) is counted against this address.
    caller_address.set(client_address(request))
    return who


def principal(request: Request) -> Principal:
    """The authenticated caller; every route but login and invite exchange calls this first (or, for the routes
    that read a meeting's record, `record_reader`). A record token is refused here (403 record_token_only), and so
    is a revoked one (see `_checked`)."""
    return _checked(request, decode_access_token(_bearer(request), ctx(request).settings.secret_key))


def record_reader(request: Request) -> Principal:
    """The caller of a route that reads a meeting's record: whoever `principal` accepts, or the holder of a record
    token (what an invite link gives once its meeting has ended). Such a caller is `record_only`; the routes
    that call this pass it to `access.record_for_reader`, which keeps it to its own meeting's sealed record."""
    token = _bearer(request)
    if is_record_token(token):
        return _checked(request, decode_record_token(token, ctx(request).settings.secret_key))
    return principal(request)


def client_address(request: Request) -> str:
    """The caller's address: the peer's, or the one a proxy named in FORWARDED_ALLOW_IPS forwarded (uvicorn)."""
    return request.client.host if request.client else "unknown"


def body_too_large(limit: int) -> Rejected:
    return Rejected("bad_request", status=413, detail=f"body larger than {limit} bytes")


class _CappedReceive:
    """The request's receive, raising `refusal` once the body read so far passes `limit` bytes."""

    def __init__(self, receive: Receive, limit: int, refusal: Rejected) -> None:
        self.receive, self.limit, self.refusal, self.size = receive, limit, refusal, 0

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                raise self.refusal
        return message


def capped(request: Request, limit: int, refusal: Rejected | None = None) -> Request:
    """The same request, its body cut off at `limit` bytes: a declared length over it is refused at once, and
    reading it (`stream()`, `body()`, `form()`) raises `refusal` (413) as soon as it passes, never after taking it
    whole. Every route that reads a body reads it through this (`read_limited`, uploads)."""
    refusal = refusal or body_too_large(limit)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refusal
    return Request(request.scope, _CappedReceive(request.receive, limit, refusal))


async def read_limited(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The request body, refused (413) as soon as it passes `limit` bytes."""
    return b"".join([chunk async for chunk in capped(request, limit).stream()])


async def parse_body(request: Request, model: type[Body]) -> Body:
    """The JSON body validated by `model`; call `principal(request)` first, so strangers learn nothing."""
    raw = await read_limited(request) or b"{}"
    untrusted_json(raw, limit=MAX_JSON_BYTES)  # depth and NUL: refused here, whatever the model says
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise Rejected("bad_request", status=422, detail=validation_summary(exc)) from exc


def parse_query(request: Request, model: type[Body]) -> Body:
    """The query string validated by `model` (the same model describes it in the OpenAPI document)."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise Rejected("bad_request", status=422, detail=validation_summary(exc)) from exc


def validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def error_response(error: Rejected) -> JSONResponse:
    retry_after = error.params.get("retry_after")
    headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else None
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)


async def handle_rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Rejected)
    return error_response(exc)


async def handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 401: "unauthenticated", 403: "forbidden"}.get(exc.status_code, "bad_request")
    error = Rejected(code, status=exc.status_code, what="page", detail=str(exc.detail))
    return error_response(error)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return error_response(Rejected("internal", status=500))
