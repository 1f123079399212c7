"""The minutes' map (`PersistentMap`) behaves as a dict that is never changed in place, and a journal with many
minute entries folds to the same state whichever way it is read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meeting.domain import MeetingState, evolve, fold
from meeting.domain import events as ev
from meeting.domain.model import PersistentMap

COLLIDING_HASHES = {"x": 7, "y": 7, "z": 7 + 2**40}


class Collides:
    """A key that shares its hash with others: "x" and "y" in all 64 bits, "z" with them in the low 40 bits only.
    The trie must keep them apart all the way down."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return COLLIDING_HASHES[self.name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Collides) and other.name == self.name

    def __repr__(self) -> str:
        return f"Collides({self.name!r})"


keys = st.text("abcdefgh", max_size=3) | st.builds(Collides, st.sampled_from("xyz"))  # short: many keys repeat


@given(st.lists(st.tuples(keys, st.integers()), max_size=300))
def test_every_version_reads_like_the_dict_it_stands_for(writes):
    versions = [(PersistentMap(), {})]
    for key, value in writes:
        current, expected = versions[-1]
        versions.append((current.set(key, value), {**expected, key: value}))
    # Every earlier version is still what it was (nothing is changed in place), in insertion order.
    for current, expected in versions:
        assert len(current) == len(expected)
        assert list(current) == list(expected)
        assert list(current.items()) == list(expected.items())
        assert current == expected and current == PersistentMap(expected)
        for key in expected:
            assert key in current and current[key] == expected[key]
        assert "not a key" not in current and current.get(-1) is None


def test_a_long_minutes_journal_folds_to_the_same_state_all_at_once_or_one_event_at_a_time():
    opened = ev.JournalOpened(
        at="2024-11-20T00:30:00+00:00",
        meeting_id=1,
        branch_id=1,
        title="Sinh hoạt chi bộ",
        kind="regular",
        place="Hội trường",
        scheduled_at=None,
        chair_id=1,
        clerk_id=2,
        roster=[ev.RosterEntry(member_id=i, name=f"Đảng viên {i}", category="official") for i in (1, 2, 3)],
        agenda=[ev.AgendaEntry(id="a1", title="Thảo luận", kind="discussion", speaking_limit_s=None)],
        rules=ev.RulesEntry(
            quorum_numerator=2,
            quorum_denominator=3,
            quorum_strict=True,
            majority_numerator=1,
            majority_denominator=2,
            majority_strict=True,
        ),
    )
    at = "2024-11-20T01:00:00+00:00"
    events: list[ev.Event] = [opened]
    for n in range(2000):  # past several blocks of the key order and levels of the trie
        events.append(
            ev.EntryWritten(
                at=at, entry_id=f"e{n}", item_id="a1", speaker_id=3, kind="opinion", text=f"ý kiến {n}", by=2
            )
        )
        if n % 7 == 0:
            events.append(ev.EntryRevised(at=at, entry_id=f"e{n // 2}", speaker_id=None, text="đã sửa", by=2))
    state = fold(MeetingState(meeting_id=1), events)
    halfway = fold(MeetingState(meeting_id=1), events[:1000])
    stepped = halfway
    for event in events[1000:]:
        stepped = evolve(stepped, event)
    assert stepped == state and list(stepped.minutes) == [f"e{n}" for n in range(2000)]
    assert state.minutes["e0"].text == "đã sửa" and len(state.minutes["e0"].revisions) == 2
    assert state.minutes["e1999"].text == "ý kiến 1999"
    # The earlier state is untouched by everything folded after it.
    assert len(halfway.minutes) == len([e for e in events[:1000] if isinstance(e, ev.EntryWritten)])
    assert "e1999" not in halfway.minutes
