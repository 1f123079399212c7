"""What every route shares: the error shape, the caller's identity, JSON bodies validated by pydantic."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from meeting.auth import Principal, check_not_revoked, decode_access_token
from meeting.context import AppContext
from meeting.errors import Rejected
from meeting.throttle import caller_address

Body = TypeVar("Body", bound=BaseModel)
MAX_JSON_BYTES = 1_000_000


def ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def principal(request: Request) -> Principal:
    """The authenticated caller; every route but login and invite exchange calls this first.

    A token whose account has been signed out, deactivated, or had its password or role changed since it was
    issued is refused (401 token_revoked): one primary-key lookup per request (bench/token_check.py)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Rejected("unauthenticated", status=401)
    who = decode_access_token(token.strip(), ctx(request).settings.secret_key)
    with ctx(request).sessions() as session:
        check_not_revoked(session, who)
    # A password re-entered later in this request (signing the record) is counted against this address.
    caller_address.set(client_address(request))
    return who


def client_address(request: Request) -> str:
    """The caller's address: the peer's, or the one a proxy named in FORWARDED_ALLOW_IPS forwarded (uvicorn)."""
    return request.client.host if request.client else "unknown"


async def read_limited(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes (never buffered whole first)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected("bad_request", status=413, detail=f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected("bad_request", status=413, detail=f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: Request, model: type[Body]) -> Body:
    """The JSON body validated by `model`; call `principal(request)` first, so strangers learn nothing."""
    raw = await read_limited(request)
    try:
        return model.model_validate_json(raw or b"{}")
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
