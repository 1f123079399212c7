"""Working days in Vietnam: weekends, Tết by the lunar calendar, the other public holidays, swapped Saturdays."""

from datetime import UTC, date, datetime, timedelta

import pytest

from meeting.calendar_vn import (
    add_working_days,
    holiday_name,
    holidays_between,
    is_working_day,
    local_date,
    working_days_between,
)


def test_weekend_is_not_a_working_day():
    assert date(2025, 3, 8).weekday() == 5
    assert not is_working_day(date(2025, 3, 8))
    assert not is_working_day(date(2025, 3, 9))
    assert is_working_day(date(2025, 3, 10))


@pytest.mark.parametrize(
    ("tet", "label"),
    [
        (date(2024, 2, 10), "Giáp Thìn"),
        (date(2025, 1, 29), "Ất Tỵ"),
        (date(2026, 2, 17), "Bính Ngọ"),
        (date(2027, 2, 6), "Đinh Mùi"),
    ],
)
def test_tet_falls_on_the_lunar_new_year(tet, label):
    # The first day of the first lunar month moves between late January and mid-February.
    assert holiday_name(tet) == "Tết Nguyên Đán", label
    assert holiday_name(tet, lang="en") == "Lunar New Year"
    assert not is_working_day(tet)


def test_three_working_days_before_a_meeting_after_tet_2025_skip_the_holiday_and_weekends():
    # Meeting on Tuesday 4 Feb 2025. Counting back: Mon 3 Feb; 1-2 Feb weekend (1 Feb also Tết);
    # 27-31 Jan Tết days off; 25-26 Jan weekend; Fri 24 Jan; Thu 23 Jan.
    meeting_day = date(2025, 2, 4)
    assert add_working_days(meeting_day, -3) == date(2025, 1, 23)
    assert working_days_between(date(2025, 1, 23), meeting_day) == 3
    assert working_days_between(date(2025, 1, 24), meeting_day) == 2
    # Without the holiday the same count would have landed a week later.
    assert (meeting_day - date(2025, 1, 23)).days == 12


def test_three_working_days_before_a_meeting_after_tet_2026():
    # Tết Bính Ngọ: Mon 16 - Fri 20 Feb 2026 off, wrapped in two weekends.
    assert add_working_days(date(2026, 2, 24), -3) == date(2026, 2, 12)
    names = [name for _, name in holidays_between(date(2026, 2, 14), date(2026, 2, 22))]
    assert "Tết Nguyên Đán" in names


def test_adding_working_days_forward_over_tet():
    # Friday 24 Jan 2025 plus one working day is Monday 3 Feb, after the weekend and the holiday.
    assert add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)
    assert add_working_days(date(2025, 1, 24), 0) == date(2025, 1, 24)


def test_other_public_holidays_are_not_working_days():
    for day in (date(2025, 1, 1), date(2025, 4, 7), date(2025, 4, 30), date(2025, 5, 1), date(2025, 9, 2)):
        assert not is_working_day(day), day


def test_a_saturday_worked_in_exchange_counts_as_a_working_day():
    # Saturday 26 April 2025 was worked so that Friday 2 May could be taken off.
    assert date(2025, 4, 26).weekday() == 5
    assert is_working_day(date(2025, 4, 26))
    assert not is_working_day(date(2025, 5, 2))


def test_local_date_uses_vietnam_time():
    # 20:00 UTC on 3 Feb is already 4 Feb in Hà Nội.
    assert local_date(datetime(2025, 2, 3, 20, 0, tzinfo=UTC)) == date(2025, 2, 4)
    assert local_date(datetime(2025, 2, 3, 16, 59, tzinfo=UTC)) == date(2025, 2, 3)
    assert local_date(datetime(2025, 2, 3, 20, 0)) == date(2025, 2, 4)  # naive means UTC


def test_working_days_between_an_ordinary_week():
    monday = date(2025, 3, 10)
    assert working_days_between(monday, monday + timedelta(days=7)) == 5
    assert working_days_between(monday, monday) == 0
    assert working_days_between(monday + timedelta(days=1), monday) == 0
