"""The service end to end on both databases: commands in, journal out, state rebuilt equal."""

from meeting import journal
from meeting.domain import Actor, quorum
from meeting.domain import commands as c


def test_service_appends_chained_events_and_rebuilds_equal_state(context, branch):
    service = context.service
    clerk, chair = Actor.member(branch.clerk), Actor.member(branch.chair)
    for member_id in branch.officials:
        service.execute(branch.meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    service.execute(branch.meeting_id, c.StartMeeting(), chair)
    service.execute(branch.meeting_id, c.OpenItem(item_id=branch.item_ids[0]), chair)
    state, seq = service.state(branch.meeting_id)
    assert quorum(state).met
    assert seq == 1 + len(branch.officials) + 2
    rebuilt, rebuilt_seq = service.rebuild(branch.meeting_id)
    assert (rebuilt, rebuilt_seq) == (state, seq)
    with context.sessions() as session:
        assert journal.verify(session, branch.meeting_id).valid
