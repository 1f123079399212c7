"""The projection tables follow the journal: speaker requests are closed on the item they were made for."""

from __future__ import annotations

from sqlalchemy import select

from meeting.db import models as m
from meeting.domain import Actor
from meeting.domain import commands as c


def requests(context, meeting_id: int) -> list[tuple[str, int, str]]:
    with context.sessions() as session:
        rows = session.scalars(
            select(m.SpeakerRequest).where(m.SpeakerRequest.meeting_id == meeting_id).order_by(m.SpeakerRequest.id)
        )
        return [(row.item_id, row.member_id, row.status) for row in rows]


def test_hand_lowered_or_granted_on_a_reopened_item_closes_that_items_request(context, branch):
    service, meeting_id = context.service, branch.meeting_id
    chair, clerk = Actor.member(branch.chair), Actor.member(branch.clerk)
    first, second = branch.item_ids[0], branch.item_ids[1]
    asker, other = branch.officials[2], branch.officials[3]
    for member_id in (asker, other):
        service.execute(meeting_id, c.CheckIn(member_id=member_id, mode="remote"), clerk)
    service.execute(meeting_id, c.StartMeeting(), chair)
    service.execute(meeting_id, c.OpenItem(item_id=first), chair)
    service.execute(meeting_id, c.RaiseHand(), Actor.member(asker))
    service.execute(meeting_id, c.RaiseHand(), Actor.member(other))
    service.execute(meeting_id, c.OpenItem(item_id=second), chair)  # both hands stay on the first item's queue
    service.execute(meeting_id, c.RaiseHand(), Actor.member(asker))
    service.execute(meeting_id, c.RaiseHand(), Actor.member(other))
    service.execute(meeting_id, c.OpenItem(item_id=first), chair)  # the chair goes back to the first item
    service.execute(meeting_id, c.LowerHand(), Actor.member(asker))
    service.execute(meeting_id, c.NextSpeaker(), chair)  # `other`, waiting on the first item

    state, _ = service.state(meeting_id)
    assert [hand.member_id for hand in state.queue(second)] == [asker, other]
    assert requests(context, meeting_id) == [
        (first, asker, "lowered"),
        (first, other, "granted"),
        (second, asker, "waiting"),
        (second, other, "waiting"),
    ]
