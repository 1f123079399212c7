"""Password guessing is slowed down: per account and address, and per address, over a sliding window."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.errors import Rejected
from meeting.throttle import LoginThrottle
from tests.factories import PASSWORD, seed_branch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused(throttle: LoginThrottle, username: str, address: str) -> Rejected | None:
    try:
        throttle.check(username, address)
    except Rejected as exc:
        return exc
    return None


def test_five_failures_block_that_account_from_that_address_until_the_oldest_ages_out():
    clock = Clock()
    throttle = LoginThrottle(per_account=5, per_address=30, window_s=900, clock=clock)
    for _ in range(5):
        assert refused(throttle, "bithu", "10.0.0.1") is None
        throttle.failed("bithu", "10.0.0.1")
        clock.now += 60
    error = refused(throttle, "bithu", "10.0.0.1")
    assert error is not None and error.status == 429 and error.code == "too_many_attempts"
    # The first failure was at t=1000; now is 1300: it leaves the window at 1900.
    assert error.params["retry_after"] == 600 and error.params["minutes"] == 10
    assert refused(throttle, " BiThu ", "10.0.0.1") is not None  # the same account however it is typed
    assert refused(throttle, "bithu", "10.0.0.2") is None  # a stranger elsewhere cannot lock the chair out
    assert refused(throttle, "thuky", "10.0.0.1") is None
    clock.now = 1900.0
    assert refused(throttle, "bithu", "10.0.0.1") is None


def test_the_right_password_clears_the_account_count():
    throttle = LoginThrottle(per_account=3, clock=Clock())
    for _ in range(2):
        throttle.failed("bithu", "10.0.0.1")
    throttle.succeeded("bithu", "10.0.0.1")
    for _ in range(2):
        throttle.failed("bithu", "10.0.0.1")
    assert refused(throttle, "bithu", "10.0.0.1") is None


def test_one_address_trying_many_accounts_is_blocked():
    throttle = LoginThrottle(per_account=5, per_address=10, clock=Clock())
    for i in range(10):
        throttle.failed(f"user{i}", "10.0.0.9")
    assert refused(throttle, "someone-new", "10.0.0.9") is not None
    assert refused(throttle, "someone-new", "10.0.0.8") is None


def test_made_up_usernames_cannot_grow_memory_without_bound():
    throttle = LoginThrottle(max_keys=100, clock=Clock())
    for i in range(1000):
        throttle.failed(f"user{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(throttle._failures) <= 100


@pytest.fixture
def client(context):
    return TestClient(create_app(context=context))


def test_the_sixth_wrong_password_is_refused_with_retry_after_even_if_right(client, context):
    branch = seed_branch(context.sessions, code="cb-throttle", with_logins=True)
    username = branch.usernames[branch.chair]
    for _ in range(5):
        response = client.post("/api/auth/login", json={"username": username, "password": "sai-mat-khau"})
        assert response.status_code == 401
    blocked = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    assert blocked.json()["error"]["message"].startswith("Đăng nhập sai quá nhiều lần")
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    # Another member from the same hall is not affected.
    other = branch.usernames[branch.clerk]
    assert client.post("/api/auth/login", json={"username": other, "password": PASSWORD}).status_code == 200
