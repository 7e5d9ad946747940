"""The dashboard over HTTP (a real uvicorn on a loopback port): who gets in, what a form must carry, where a
sign-in may send the browser, the static files and the live stream."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from evertask import EverTask
from evertask.storage import MemoryStorage
from evertask.web import AuthSettings, WebUser, create_app
from evertask.web.auth import ApiToken
from tests.web.server import serving
from tests.web.tasks import Flaky, FlakyHandler

TOKEN = "operator-token-0123456789"
VIEWER = "viewer-token-0123456789ab"
AUTH = AuthSettings(
    tokens=[ApiToken(TOKEN, "operator"), ApiToken(VIEWER, "viewer")],
    users=[WebUser("olivia", "olivia-password-1", "operator")],
)


@pytest.fixture
async def app() -> AsyncIterator[EverTask]:
    app = EverTask(MemoryStorage())
    app.register(FlakyHandler)
    async with app:
        yield app


@pytest.fixture
async def guarded(app: EverTask) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a dashboard with credentials configured."""
    async with serving(create_app(app, auth=AUTH)) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture
async def open_board(app: EverTask) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a dashboard without credentials (open to loopback)."""
    async with serving(create_app(app)) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return found[1]


async def sign_in(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await client.post("/login", data=fields, headers={"Origin": str(client.base_url).rstrip("/")})


async def test_a_visitor_without_credentials_is_sent_to_sign_in(guarded: httpx.AsyncClient) -> None:
    page = await guarded.get("/tasks?status=failed", headers={"Accept": "text/html"})

    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/tasks%3Fstatus%3Dfailed"
    login = await guarded.get("/login?next=/tasks")
    assert 'name="password"' in login.text
    assert 'name="token"' in login.text


async def test_a_session_signs_in_the_pages_and_the_api(guarded: httpx.AsyncClient) -> None:
    signed = await sign_in(guarded, name="olivia", password="olivia-password-1", next="/queues")

    assert signed.status_code == 303
    assert signed.headers["location"] == "/queues"
    assert "HttpOnly" in signed.headers["set-cookie"]
    assert "SameSite=strict" in signed.headers["set-cookie"]
    page = await guarded.get("/queues")
    assert page.status_code == 200
    assert "olivia · operator" in page.text
    assert (await guarded.get("/api/v1/queues")).status_code == 200


async def test_wrong_credentials_are_refused(guarded: httpx.AsyncClient) -> None:
    for fields in (
        {"name": "olivia", "password": "olivia-password-2"},
        {"token": "not-a-token-0123456789"},
        {"name": ""},
    ):
        answer = await sign_in(guarded, **fields)
        assert answer.status_code == 401
        assert "Those credentials are not valid." in answer.text
        assert "set-cookie" not in answer.headers


async def test_sign_in_never_sends_the_browser_to_another_site(guarded: httpx.AsyncClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        signed = await sign_in(guarded, token=TOKEN, next=target)
        assert signed.headers["location"] == "/"


async def test_a_viewer_reads_but_every_action_is_refused(guarded: httpx.AsyncClient, app: EverTask) -> None:
    failed = await app.dispatch(Flaky(fail=True))
    await app.wait(failed, timeout=5)
    await sign_in(guarded, token=VIEWER)
    page = await guarded.get(f"/tasks/{failed}")
    assert page.status_code == 200
    assert "Read-only: signed in as a viewer." in page.text
    assert f'action="/tasks/{failed}/retry"' not in page.text

    own = str(guarded.base_url).rstrip("/")
    refused = await guarded.post(
        f"/tasks/{failed}/retry", data={"csrf": csrf_of(page.text)}, headers={"Origin": own, "Accept": "text/html"}
    )

    assert refused.status_code == 403
    assert "only an operator may act" in refused.text
    assert (await app.get(failed)).status.value == "failed"  # type: ignore[union-attr]


async def test_an_action_needs_the_forms_csrf_token_and_the_sites_origin(
    open_board: httpx.AsyncClient, app: EverTask
) -> None:
    failed = await app.dispatch(Flaky(fail=True))
    await app.wait(failed, timeout=5)
    token = csrf_of((await open_board.get(f"/tasks/{failed}")).text)
    own = str(open_board.base_url).rstrip("/")
    url = f"/tasks/{failed}/retry"

    no_token = await open_board.post(url, data={"back": "/"}, headers={"Origin": own})
    elsewhere = await open_board.post(url, data={"csrf": token}, headers={"Origin": "https://evil.example"})
    cross_site = await open_board.post(url, data={"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert (no_token.status_code, elsewhere.status_code, cross_site.status_code) == (403, 403, 403)
    assert "CSRF" in no_token.json()["detail"]
    assert (await app.get(failed)).status.value == "failed"  # type: ignore[union-attr]

    done = await open_board.post(url, data={"csrf": token, "back": f"/tasks/{failed}"}, headers={"Origin": own})
    assert done.status_code == 303
    assert done.headers["location"] == f"/tasks/{failed}"
    assert [c.actor for c in await app.history(failed) if c.from_status and c.from_status.value == "failed"] == [
        "local"
    ]


async def test_an_open_dashboard_answers_loopback_names_only(open_board: httpx.AsyncClient) -> None:
    rebound = await open_board.get("/", headers={"Host": "evil.example", "Accept": "text/html"})

    assert rebound.status_code == 403
    assert "loopback" in rebound.text
    assert (await open_board.get("/")).status_code == 200


async def test_static_files_are_versioned_and_cached(open_board: httpx.AsyncClient) -> None:
    page = (await open_board.get("/")).text
    script = re.search(r'src="(/static/app\.js\?v=[0-9a-f]+)"', page)
    assert script is not None

    first = await open_board.get(script[1])
    again = await open_board.get(script[1], headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["content-type"].startswith("text/javascript")
    assert "max-age" in first.headers["cache-control"]
    assert again.status_code == 304
    assert (await open_board.get("/static/../auth.py")).status_code == 404


async def test_the_stream_says_hello_and_sends_what_happens(open_board: httpx.AsyncClient, app: EverTask) -> None:
    async with open_board.stream("GET", "/live/stream?events=1") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        messages: list[tuple[str, dict[str, object]]] = []
        event = ""
        task_id = None
        async for line in lines:
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                messages.append((event, json.loads(line.removeprefix("data: "))))
                if event == "hello":
                    task_id = str(await app.dispatch(Flaky()))
                if event == "changed":
                    break

    assert messages[0] == ("hello", {"source": "bus"})
    kinds = [data["kind"] for name, data in messages if name == "task"]
    assert kinds[0] == "dispatched"
    assert all(data["task_id"] == task_id for name, data in messages if name == "task")
    assert messages[-1][0] == "changed"
    assert task_id in messages[-1][1]["tasks"]  # type: ignore[operator]
