"""What comes in from outside, bounded before anything else looks at it: one place for every edge.

Everything a client sends is read through these: JSON (HTTP bodies, WebSocket frames) by `untrusted_json`, ids
by `DbId` / `Seq` (they end in a 64-bit database column), moments by `Moment` / `Day` (date arithmetic has a
range too), text by a check that refuses NUL (PostgreSQL cannot store it, so neither database is given it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import from_json
from starlette.convertors import IntegerConvertor, register_url_convertor

from meeting.errors import Rejected

DB_INT_MAX = 2**63 - 1  # BIGINT, and SQLite's INTEGER
MAX_JSON_DEPTH = 16  # our deepest body or frame is 4 levels; a few more for an rtc candidate's detail
# Years a meeting, a deadline or a statistics window can name: far from where date arithmetic overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2999

DbId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]
Seq = Annotated[int, Field(ge=0, le=DB_INT_MAX)]  # a journal sequence number (0: before the first event)


def _within_years(moment: datetime | date) -> datetime | date:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"a year between {FIRST_YEAR} and {LAST_YEAR}")
    return moment


Moment = Annotated[datetime, AfterValidator(_within_years)]
Day = Annotated[date, AfterValidator(_within_years)]


def _at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0..limit (leading zeros allowed, as Starlette's own)."""
    digits = str(limit)
    shorter = f"[0-9]{{1,{len(digits) - 1}}}"
    same_length = [
        f"{digits[:i]}[0-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}" for i, d in enumerate(digits) if d != "0"
    ]
    return "0*(?:" + "|".join([shorter, *same_length, digits]) + ")"


class DbIdConvertor(IntegerConvertor):
    """`{name:int}` in a route path matches only numbers a database id can hold: a larger one matches no route
    (404), rather than reaching a query that overflows."""

    regex = _at_most(DB_INT_MAX)


def bound_int_paths() -> None:
    """Make every route's `{name:int}` a `DbIdConvertor`. Called once when the `meeting` package is imported,
    before any of its modules builds a route (Starlette compiles a route's path when the route is made)."""
    register_url_convertor("int", DbIdConvertor())


def untrusted_json(raw: bytes | str, *, limit: int, code: str = "bad_request") -> Any:
    """`raw` parsed, or `Rejected(code)`: over `limit` bytes (413), not JSON or invalid UTF-8 (422), nested deeper
    than MAX_JSON_DEPTH or holding a NUL character in any string or key (422). Never a RecursionError: the
    parser stops at its own bound (200 levels) before Python's, and the walk below is iterative."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > limit:
        raise Rejected(code, status=413, detail=f"larger than {limit} bytes")
    try:
        value = from_json(data)
    except ValueError as exc:
        raise Rejected(code, status=422, detail=f"not JSON ({exc})") from exc
    problem = _json_problem(value)
    if problem is not None:
        raise Rejected(code, status=422, detail=problem)
    return value


def _json_problem(value: Any) -> str | None:
    """What is wrong with an already parsed value (too deep, a NUL in a string), or None."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "text may not contain the NUL character (\\u0000)"
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def refuse_nul(value: str, where: str) -> str:
    """Text from a URL or a form field, as it is, unless it holds NUL (422 saying where)."""
    if "\x00" in value:
        raise Rejected("bad_request", status=422, detail=f"{where}: text may not contain the NUL character")
    return value
