"""Quorum by the branch's rule: official members not exempt, exempt ones only when present."""

import pytest

from meeting.domain import commands as c
from meeting.domain import quorum
from meeting.domain.model import Fraction
from tests.domain.builders import (
    CLERK,
    EXEMPT,
    GUEST,
    OFFICIALS,
    PROBATIONARY,
    Meeting,
    journal_opened,
    roster,
    started,
)


def test_quorum_needs_more_than_two_thirds_of_official_members_by_default():
    meeting = Meeting()
    meeting.check_in(*OFFICIALS[:4])  # 4 of 6 is exactly 2/3: not more
    figures = quorum(meeting.state)
    assert (figures.rule, figures.eligible, figures.present, figures.required, figures.met) == ("> 2/3", 6, 4, 5, False)
    meeting.check_in(OFFICIALS[4])
    figures = quorum(meeting.state)
    assert (figures.present, figures.met) == (5, True)


def test_exactly_two_thirds_is_enough_under_a_non_strict_rule():
    meeting = Meeting(journal_opened(quorum=(2, 3, False)))
    meeting.check_in(*OFFICIALS[:3])
    assert not quorum(meeting.state).met
    meeting.check_in(OFFICIALS[3])
    figures = quorum(meeting.state)
    assert (figures.rule, figures.required, figures.present, figures.met) == (">= 2/3", 4, 4, True)


def test_a_branch_may_set_its_own_quorum_rule():
    meeting = Meeting(journal_opened(quorum=(1, 2, True)))
    meeting.check_in(*OFFICIALS[:3])
    assert (quorum(meeting.state).required, quorum(meeting.state).met) == (4, False)
    meeting.check_in(OFFICIALS[3])
    assert quorum(meeting.state).met


def test_exempt_member_counts_in_quorum_only_when_present():
    meeting = Meeting()
    meeting.check_in(*OFFICIALS[:5])
    absent = quorum(meeting.state)
    assert (absent.eligible, absent.present) == (6, 5)  # not in the denominator while away
    meeting.check_in(EXEMPT)
    present = quorum(meeting.state)
    assert (present.eligible, present.present, present.required) == (7, 6, 5)
    meeting.do(c.Leave(member_id=EXEMPT), CLERK)
    assert quorum(meeting.state).eligible == 6


def test_exempt_member_who_comes_can_make_the_quorum():
    # 3 officials: 2 present is exactly 2/3, not enough; the exempt member coming makes it 3 of 4.
    meeting = Meeting(journal_opened(members=roster(officials=(1, 2, 3))))
    meeting.check_in(1, 2)
    assert not quorum(meeting.state).met
    meeting.check_in(EXEMPT)
    assert quorum(meeting.state).met


@pytest.mark.parametrize("member_id", [PROBATIONARY, GUEST])
def test_probationary_members_and_guests_never_count_in_quorum(member_id):
    meeting = Meeting()
    meeting.check_in(*OFFICIALS[:4])
    before = quorum(meeting.state)
    meeting.check_in(member_id)
    after = quorum(meeting.state)
    assert (after.eligible, after.present, after.met) == (before.eligible, before.present, before.met)


def test_members_who_left_no_longer_count_as_present():
    meeting = started(*OFFICIALS[:5])
    assert quorum(meeting.state).met
    meeting.do(c.Leave(member_id=OFFICIALS[4]), CLERK)
    figures = quorum(meeting.state)
    assert (figures.eligible, figures.present, figures.met) == (6, 4, False)


def test_absent_officials_stay_in_the_denominator():
    meeting = Meeting()
    meeting.do(c.MarkAbsent(member_id=6, reason="Ốm"), CLERK)
    meeting.do(c.MarkAbsent(member_id=5), CLERK)
    assert quorum(meeting.state).eligible == 6


def test_members_online_and_in_the_room_count_alike():
    meeting = Meeting()
    meeting.check_in(1, 2, 3, PROBATIONARY)
    meeting.check_in(4, 5, GUEST, mode="remote")
    figures = quorum(meeting.state)
    assert (figures.present, figures.met) == (5, True)
    assert (figures.present_in_room, figures.present_online) == (4, 3)  # every category, for the room's view


def test_failed_quorum_is_shown_not_hidden():
    meeting = started(1, 2)  # the meeting may start without quorum; the figures say so
    figures = quorum(meeting.state)
    assert (figures.present, figures.required, figures.met) == (2, 5, False)


@pytest.mark.parametrize("rule", [(2, 3, True), (2, 3, False), (0, 1, False)])
def test_quorum_is_never_met_without_eligible_members(rule):
    meeting = Meeting(journal_opened(members=roster(officials=()), quorum=rule, chair=None, clerk=None))
    for member_id in (PROBATIONARY, GUEST):
        meeting.do(c.CheckIn(member_id=member_id, mode="remote"), member_id)
    figures = quorum(meeting.state)
    assert (figures.eligible, figures.present, figures.met) == (0, 0, False)
    assert figures.present < figures.required  # the figures agree with the verdict


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(("numerator", "denominator"), [(2, 3), (1, 2), (3, 4), (1, 1)])
def test_required_count_is_the_smallest_that_meets_the_rule(numerator, denominator, strict):
    rule = Fraction(numerator, denominator, strict)
    for total in range(0, 40):
        required = rule.required(total)
        assert not rule.met(required - 1, total)
        if required <= total:
            assert rule.met(required, total)
