"""The meeting state as JSON for clients (API responses and the hub's snapshot frame)."""

from __future__ import annotations

from typing import Any

from meeting.domain.model import MeetingState
from meeting.domain.rules import may_vote, quorum


def state_to_json(state: MeetingState, seq: int) -> dict[str, Any]:
    figures = quorum(state)
    return {
        "meeting_id": state.meeting_id,
        "seq": seq,
        "opened": state.opened,
        "branch_id": state.branch_id,
        "title": state.title,
        "kind": state.kind.value,
        "place": state.place,
        "scheduled_at": state.scheduled_at,
        "status": state.status.value,
        "chair_id": state.chair_id,
        "clerk_id": state.clerk_id,
        "started_at": state.started_at,
        "ended_at": state.ended_at,
        "rules": {"quorum": state.rules.quorum.describe(), "majority": state.rules.majority.describe()},
        "roster": [
            {
                "member_id": p.member_id,
                "name": p.name,
                "category": p.category.value,
                "may_vote": may_vote(state, p.member_id),
            }
            for p in state.roster.values()
        ],
        "agenda": [
            {
                "id": item.id,
                "title": item.title,
                "kind": item.kind,
                "status": item.status.value,
                "speaking_limit_s": item.speaking_limit_s,
                "conclusion": item.conclusion,
            }
            for item in state.agenda
        ],
        "current_item_id": state.current_item_id,
        "attendance": {
            str(member_id): {
                "status": record.status.value,
                "mode": record.mode.value if record.mode else None,
                "first_arrived_at": record.first_arrived_at,
                "late": record.late,
                "reason": record.reason,
            }
            for member_id, record in state.attendance.items()
        },
        "quorum": {
            "rule": figures.rule,
            "eligible": figures.eligible,
            "present": figures.present,
            "required": figures.required,
            "met": figures.met,
            "present_in_room": figures.present_in_room,
            "present_online": figures.present_online,
        },
        "queues": {
            item_id: [{"member_id": h.member_id, "kind": h.kind.value, "raised_at": h.raised_at} for h in hands]
            for item_id, hands in state.queues.items()
        },
        "floor": None
        if state.floor is None
        else {
            "member_id": state.floor.member_id,
            "item_id": state.floor.item_id,
            "since": state.floor.since,
            "deadline": state.floor.deadline,
        },
        "muted": sorted(state.muted),  # members whose microphone the chair muted
        "hall_muted": state.hall_muted,
        "votes": {
            vote.id: {
                "id": vote.id,
                "item_id": vote.item_id,
                "question": vote.question,
                "status": vote.status.value,
                "opened_at": vote.opened_at,
                "ballots": {str(m): choice.value for m, choice in vote.ballots.items()},
                "hall_count": None
                if vote.hall_count is None
                else {
                    "votes_for": vote.hall_count.votes_for,
                    "votes_against": vote.hall_count.votes_against,
                    "votes_abstain": vote.hall_count.votes_abstain,
                },
                "result": None
                if vote.result is None
                else {
                    "votes_for": vote.result.votes_for,
                    "votes_against": vote.result.votes_against,
                    "votes_abstain": vote.result.votes_abstain,
                    "not_voting": vote.result.not_voting,
                    "basis": vote.result.basis,
                    "passed": vote.result.passed,
                },
            }
            for vote in state.votes.values()
        },
        "open_vote_id": state.open_vote_id,
        "minutes": [
            {
                "id": entry.id,
                "item_id": entry.item_id,
                "speaker_id": entry.speaker_id,
                "kind": entry.kind.value,
                "text": entry.text,
                "revisions": len(entry.revisions),
                "written_at": entry.revisions[0].at,
                "revised_at": entry.revisions[-1].at,
            }
            for entry in state.minutes.values()
        ],
        # Per item, what its minutes say in reading order (entries, votes, the chair's conclusion).
        "minute_order": {
            item_id: [{"kind": place.kind, "ref": place.ref} for place in places]
            for item_id, places in state.minute_order.items()
        },
    }
