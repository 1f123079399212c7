"""Working days in Vietnam: weekends and public holidays are not working days.

The holidays come from the `holidays` package (its Vietnam calendar): New Year, Tết Nguyên Đán by the
Vietnamese lunisolar calendar with the days off the government decrees each year, the Hùng Kings'
commemoration (10th day of the 3rd lunar month), 30 April, 1 May and National Day, with the days
given in exchange ("nghỉ bù"). Saturdays that the government turns into working days to make a longer
Tết or National Day break count as working days (`weekend_workdays`).

Dates are Vietnamese local dates: Vietnam keeps UTC+7 all year (no daylight saving), so a fixed offset
is exact and needs no time-zone database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

import holidays

VN_TZ = timezone(timedelta(hours=7), "ICT")
MAX_STEPS = 400  # a safety bound on walking the calendar: no real run of non-working days comes near it


@lru_cache(maxsize=128)
def _calendar(year: int, language: str = "vi") -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language=language)


def local_date(moment: datetime) -> date:
    """The Vietnamese calendar date of an instant (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ).date()


def holiday_name(day: date, lang: str = "vi") -> str | None:
    """The public holiday on `day` (its Vietnamese name, or English with lang="en"), or None."""
    return _calendar(day.year, "en_US" if lang == "en" else "vi").get(day)


def is_working_day(day: date) -> bool:
    calendar = _calendar(day.year)
    if day in calendar.weekend_workdays:
        return True  # a Saturday worked in exchange for a longer holiday
    return day.weekday() < 5 and day not in calendar


def add_working_days(day: date, count: int) -> date:
    """The date `count` working days after `day` (before it when negative); `day` itself is not counted."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    current = day
    steps = 0
    while remaining:
        current += timedelta(days=step)
        steps += 1
        if steps > MAX_STEPS * max(1, abs(count)):
            raise ValueError("no working day found")  # pragma: no cover - only with a broken holiday table
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days d with start <= d < end (0 when end <= start)."""
    if end <= start:
        return 0
    return sum(1 for offset in range((end - start).days) if is_working_day(start + timedelta(days=offset)))


def holidays_between(start: date, end: date, lang: str = "vi") -> list[tuple[date, str]]:
    """The public holidays in [start, end], for showing why a deadline moved."""
    found: list[tuple[date, str]] = []
    for year in range(start.year, end.year + 1):
        calendar = _calendar(year, "en_US" if lang == "en" else "vi")
        found += [(day, name) for day, name in calendar.items() if start <= day <= end]
    return sorted(found)
