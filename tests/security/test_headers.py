"""Every response carries `X-Content-Type-Options: nosniff`; every HTML response a Content-Security-Policy. Added in
one place (meeting/app.py, EdgeHeaders), so every route of the app is asked here, by a caller it serves and by one
it refuses, and pages keep their own, wider policy."""

from __future__ import annotations

from tests.api.test_route_matrix import TABLE, _prepare
from tests.api.world import World

PAGE_PATHS = ["/", "/join", "/chair", "/clerk", "/hall", "/branch", "/members", "/resolutions", "/stats", "/commune"]


def _header_problems(label: str, response) -> list[str]:
    problems = []
    if response.headers.get("x-content-type-options") != "nosniff":
        problems.append(f"{label}: no nosniff ({response.status_code} {response.headers.get('content-type')})")
    if response.headers.get("content-type", "").startswith("text/html"):
        policy = response.headers.get("content-security-policy", "")
        if "default-src" not in policy or "frame-ancestors 'none'" not in policy:
            problems.append(f"{label}: HTML without a Content-Security-Policy")
    return problems


def test_every_route_answers_with_nosniff_and_html_with_a_policy(world: World):
    fx = _prepare(world)
    problems, kinds = [], set()
    for (method, template), spec in TABLE.items():
        for role in ("secretary", "anonymous"):
            path, kwargs = spec.request(world, fx, role) if spec.request else (template, {})
            if "{" in path:
                path = path.replace("{meeting_id:int}", str(world.a.meeting_id))
            headers = {**kwargs.pop("headers", {}), **world.headers(role)}
            response = world.client.request(method, path, headers=headers, **kwargs)
            kinds.add(response.headers.get("content-type", "").split(";")[0])
            problems += _header_problems(f"{method} {path} as {role}", response)
            if spec.revokes:  # a sign-out ends the caller's sessions: the world's tokens are issued again
                world.renew_tokens()
    assert {"application/json", "text/html", "image/svg+xml", "application/pdf"} <= kinds, kinds
    assert not problems, "\n".join(problems)


def test_the_minutes_as_html_and_the_chart_have_them(world: World):
    _prepare(world)
    secretary = world.headers("secretary")
    record = world.client.get(f"/api/meetings/{world.a.meeting_id}/record.html", headers=secretary)
    assert record.status_code == 200 and record.headers["content-type"].startswith("text/html")
    assert "script-src" not in record.headers["content-security-policy"]  # a document: it runs nothing
    assert "default-src 'none'" in record.headers["content-security-policy"]
    chart = world.client.get(f"/api/prep/branches/{world.a.branch_id}/participation.svg", headers=secretary)
    assert chart.status_code == 200 and chart.headers["x-content-type-options"] == "nosniff"
    assert not _header_problems("record.html", record) + _header_problems("participation.svg", chart)


def test_pages_keep_their_own_policy_and_errors_have_nosniff(world: World):
    for path in PAGE_PATHS:
        page = world.client.get(path)
        assert page.status_code == 200
        assert not _header_problems(path, page)
        assert "connect-src 'self' ws: wss:" in page.headers["content-security-policy"]  # the page's, not replaced
        assert page.headers["content-security-policy"].count("default-src") == 1
        assert page.headers.get_list("x-content-type-options") == ["nosniff"]  # once, not twice
    for path in ("/no/such/page", "/static/no-such-file.js", f"/api/meetings/{2**64}", "/api/me"):
        refused = world.client.get(path)
        assert refused.status_code in (401, 404)
        assert not _header_problems(path, refused)
    record_page = world.client.get(f"/web/meetings/{world.a.meeting_id}/record")
    assert "script-src 'self'" in record_page.headers["content-security-policy"]  # the viewer's own
    assert not _header_problems("record page", record_page)
