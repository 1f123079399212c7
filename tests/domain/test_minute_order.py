"""The order an item's minutes are read in: entries, votes and the chair's conclusion as they happened, then as
the clerk moved the entries (one place up or down, a journaled command like writing them)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meeting.domain import commands as c
from meeting.domain.model import EntryKind, MinutePlace
from tests.domain.builders import CHAIR, CLERK, DISCUSSION, HALL, OPENING, SYSTEM, Meeting, started, types


def write(entry_id: str, kind: EntryKind = EntryKind.OPINION, speaker_id: int | None = None, item_id=DISCUSSION):
    return c.WriteEntry(
        entry_id=entry_id, item_id=item_id, text=f"Nội dung {entry_id}", kind=kind, speaker_id=speaker_id
    )


def order(meeting: Meeting, item_id: str = DISCUSSION) -> list[str]:
    """The item's minutes as `kind:ref`, in reading order."""
    return [f"{place.kind}:{place.ref}" for place in meeting.state.minutes_of(item_id)]


def discussed() -> Meeting:
    """Two speakers and a note written after them, a vote, the chair's conclusion, a late note."""
    meeting = started(3, 4, 5, item=DISCUSSION)
    meeting.do(write("s1", speaker_id=3), CLERK)
    meeting.do(write("n1", EntryKind.NOTE), CLERK)  # the report read out between two speakers
    meeting.do(write("s2", speaker_id=4), CLERK)
    meeting.do(write("n2", EntryKind.NOTE), CLERK)  # written after the speakers
    meeting.do(c.OpenVote(vote_id="v1", question="Thông qua?"), CHAIR)
    meeting.do(c.CloseVote(vote_id="v1"), CHAIR)
    meeting.do(c.ConcludeItem(item_id=DISCUSSION, text="Kết luận"), CHAIR)
    meeting.do(write("n3", EntryKind.NOTE), CLERK)
    return meeting


def test_speakers_notes_votes_and_the_conclusion_read_in_the_order_they_happened():
    meeting = discussed()
    assert order(meeting) == [
        "entry:s1",
        "entry:n1",
        "entry:s2",
        "entry:n2",
        "vote:v1",
        "conclusion:discussion",
        "entry:n3",
    ]
    assert order(meeting, OPENING) == []  # nothing written there


def test_a_conclusion_given_again_stands_where_it_was_last_given():
    meeting = discussed()
    meeting.do(c.ConcludeItem(item_id=DISCUSSION, text="Kết luận bổ sung"), CHAIR)
    assert order(meeting)[-2:] == ["entry:n3", "conclusion:discussion"]
    assert order(meeting).count("conclusion:discussion") == 1


def test_an_entry_written_for_another_item_stands_in_that_item():
    meeting = discussed()
    meeting.do(write("o1", EntryKind.NOTE, item_id=OPENING), CLERK)
    assert order(meeting, OPENING) == ["entry:o1"]
    assert "entry:o1" not in order(meeting)


def test_the_clerk_moves_an_entry_up_and_down_past_entries_and_votes():
    meeting = discussed()
    events = meeting.do(c.MoveEntry(entry_id="n3", direction="up"), CLERK)
    assert types(events) == ["entry_moved"]
    assert (events[0].item_id, events[0].position, events[0].by) == (DISCUSSION, 5, CLERK)
    meeting.do(c.MoveEntry(entry_id="n3", direction="up"), CLERK)  # past the vote
    assert order(meeting) == [
        "entry:s1",
        "entry:n1",
        "entry:s2",
        "entry:n2",
        "entry:n3",
        "vote:v1",
        "conclusion:discussion",
    ]
    meeting.do(c.MoveEntry(entry_id="s1", direction="down"), CLERK)
    assert order(meeting)[:3] == ["entry:n1", "entry:s1", "entry:s2"]
    assert meeting.rebuilt() == meeting.state  # the order is the journal's, folded again from nothing


def test_a_move_past_the_edge_is_refused_and_changes_nothing():
    meeting = discussed()
    assert meeting.refuse(c.MoveEntry(entry_id="s1", direction="up"), CLERK) == "entry_already_first"
    assert meeting.refuse(c.MoveEntry(entry_id="n3", direction="down"), CLERK) == "entry_already_last"
    alone = started(item=OPENING)
    alone.do(write("only", EntryKind.NOTE, item_id=OPENING), CLERK)
    assert alone.refuse(c.MoveEntry(entry_id="only", direction="up"), CLERK) == "entry_already_first"
    assert alone.refuse(c.MoveEntry(entry_id="only", direction="down"), CLERK) == "entry_already_last"


def test_an_unknown_entry_cannot_be_moved():
    meeting = discussed()
    assert meeting.refuse(c.MoveEntry(entry_id="nope", direction="up"), CLERK) == "unknown_entry"


@pytest.mark.parametrize("who", [CHAIR, 3, HALL, SYSTEM])
def test_only_the_clerk_moves_entries(who):
    meeting = discussed()
    assert meeting.refuse(c.MoveEntry(entry_id="n2", direction="up"), who) == "clerk_only"


def test_entries_may_still_be_moved_after_the_meeting_ends():
    meeting = discussed()
    meeting.do(c.EndMeeting(), CHAIR)
    meeting.do(c.MoveEntry(entry_id="n2", direction="up"), CLERK)
    assert order(meeting)[:4] == ["entry:s1", "entry:n1", "entry:n2", "entry:s2"]
    assert meeting.refuse(c.MoveEntry(entry_id="n2", direction="up"), CHAIR) == "clerk_only"


def test_a_move_command_names_a_direction():
    with pytest.raises(ValueError):
        c.parse_command({"type": "move_entry", "entry_id": "e1", "direction": "sideways"})
    with pytest.raises(ValueError):
        c.parse_command({"type": "move_entry", "entry_id": "e1"})
    assert c.parse_command({"type": "move_entry", "entry_id": "e1", "direction": "up"}) == c.MoveEntry(
        entry_id="e1", direction="up"
    )


@given(st.lists(st.tuples(st.sampled_from(["s1", "n1", "s2", "n2", "n3"]), st.sampled_from(["up", "down"]))))
def test_moves_only_ever_permute_the_item_and_follow_a_list_model(moves):
    """Any run of moves: each accepted one swaps the entry with its neighbour, as a plain list would; a refused
    one is at an edge; the item always holds the same things."""
    meeting = discussed()
    model = order(meeting)
    for entry_id, direction in moves:
        here = model.index(f"entry:{entry_id}")
        there = here - 1 if direction == "up" else here + 1
        if 0 <= there < len(model):
            meeting.do(c.MoveEntry(entry_id=entry_id, direction=direction), CLERK)
            model[here], model[there] = model[there], model[here]
        else:
            code = meeting.refuse(c.MoveEntry(entry_id=entry_id, direction=direction), CLERK)
            assert code == ("entry_already_first" if there < 0 else "entry_already_last")
        assert order(meeting) == model
    assert sorted(model) == sorted(order(discussed()))
    assert meeting.rebuilt() == meeting.state
    assert all(isinstance(place, MinutePlace) for place in meeting.state.minutes_of(DISCUSSION))
