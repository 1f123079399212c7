"""The names code passes into an error message ({what}, {action}) are said in the message's own language: a
Vietnamese message never carries an English word ("Không tìm thấy cuộc họp.", not "Không tìm thấy meeting.")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.auth import Principal, issue_access_token
from meeting.errors import MESSAGES, WORDS, Rejected, message
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
# Helpers that pass their argument on as a message word: (function name, argument index, word kind, how).
PASSED_ON = {
    "_require_chair": (2, "action", str),
    "_require_clerk": (2, "action", str),
    "int_param": (1, "what", lambda name: name.removesuffix("_id")),
}


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def words_in_code() -> dict[str, set[str]]:
    """Every literal name the service's code puts into {what} or {action}, read from the source."""
    found: dict[str, set[str]] = {kind: set() for kind in WORDS}
    for path in [*(ROOT / "meeting").rglob("*.py"), *(ROOT / "signaling").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if name == "Rejected":
                for keyword in node.keywords:
                    if keyword.arg in WORDS and isinstance(keyword.value, ast.Constant):
                        found[keyword.arg].add(keyword.value.value)
            elif name in PASSED_ON:
                index, kind, how = PASSED_ON[name]
                if len(node.args) > index and isinstance(node.args[index], ast.Constant):
                    found[kind].add(how(node.args[index].value))
    return found


def test_the_source_scan_finds_the_names_it_must():
    found = words_in_code()
    # A scan that found nothing would pass the tests below without checking anything.
    assert {"meeting", "addendum", "absence notice", "resolution", "branch"} <= found["what"]
    assert {"open a vote", "write the minutes", "open the meeting"} <= found["action"]


@pytest.mark.parametrize("kind", sorted(WORDS))
def test_every_name_the_code_passes_has_words_in_both_languages(kind):
    missing = sorted(words_in_code()[kind] - set(WORDS[kind]))
    assert missing == [], f"add these {kind} names to meeting/errors.py WORDS: {missing}"


def _english_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_no_vietnamese_message_carries_an_english_name(code):
    vi_template = MESSAGES[code][0]
    for kind, table in WORDS.items():
        if f"{{{kind}}}" not in vi_template:
            continue
        for name, (vi_word, en_word) in table.items():
            said_vi = message(code, "vi", **{kind: name})
            said_en = message(code, "en", **{kind: name})
            assert vi_word in said_vi, (code, name, said_vi)
            assert en_word in said_en, (code, name, said_en)
            # Not one English word of the name stays in the Vietnamese sentence (its own template has none).
            leaked = (_english_words(name) | _english_words(en_word)) & _english_words(said_vi)
            assert leaked <= _english_words(vi_template), (code, name, said_vi)
        # A name nobody listed is never shown raw: the neutral word stands in.
        said = message(code, "vi", **{kind: "spaceship"})
        assert "spaceship" not in said and table[""][0] in said


def test_the_api_says_what_was_not_found_in_each_language(context, branch):
    client = TestClient(create_app(context=context))
    token = issue_access_token(Principal(None, branch.chair, branch.branch_id, "secretary"), TEST_SECRET)
    answer = client.get("/api/meetings/999999/record", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert (error["code"], error["message"], error["message_en"]) == (
        "not_found",
        "Không tìm thấy cuộc họp.",
        "Meeting not found.",
    )
    assert error["details"]["what"] == "meeting"  # the machine-readable name stays as it was
    refused = Rejected("chair_only", status=403, action="open a vote").to_json()["error"]
    assert refused["message"] == "Chỉ người chủ trì được mở biểu quyết."
    assert refused["message_en"] == "Only the chair may open a vote."
