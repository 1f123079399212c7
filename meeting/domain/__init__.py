"""Pure meeting rules: state, commands, events, `decide` and `evolve`. No I/O in this package."""

from meeting.domain.commands import Actor, Command, parse_command
from meeting.domain.decide import decide, open_journal
from meeting.domain.events import Event, event_from_json, event_to_json
from meeting.domain.evolve import evolve, fold
from meeting.domain.model import MeetingState
from meeting.domain.rules import quorum, tally

__all__ = [
    "Actor",
    "Command",
    "Event",
    "MeetingState",
    "decide",
    "event_from_json",
    "event_to_json",
    "evolve",
    "fold",
    "open_journal",
    "parse_command",
    "quorum",
    "tally",
]
