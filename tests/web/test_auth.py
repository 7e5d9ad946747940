"""Who may use the API: open on loopback only without credentials; tokens and roles; browser writes from the
API's own origin only; no secret in any response or log line."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from fastapi import Request

from evertask import EverTask, TaskStatus
from evertask.errors import ConfigurationError
from evertask.storage import MemoryStorage
from evertask.web import ApiToken, AuthSettings, Principal, create_app
from evertask.web.command import require_credentials
from tests.web.conftest import FAST_WORKER
from tests.web.server import serving
from tests.web.tasks import Flaky, FlakyHandler

OPERATOR = secrets.token_urlsafe(24)
VIEWER = secrets.token_urlsafe(24)


@pytest.fixture
async def memory_app() -> AsyncIterator[EverTask]:
    app = EverTask(MemoryStorage(), worker=FAST_WORKER)
    app.register(FlakyHandler)
    async with app:
        yield app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def pending_task(app: EverTask) -> UUID:
    return await app.dispatch(Flaky(), delay=timedelta(hours=1))


async def test_without_credentials_loopback_is_open_and_another_host_name_is_refused(memory_app: EverTask) -> None:
    task_id = await pending_task(memory_app)
    async with serving(create_app(memory_app)) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/api/v1/tasks")).status_code == 200
        assert (await client.post(f"/api/v1/tasks/{task_id}/cancel")).status_code == 200
        # A page that resolved its own name to 127.0.0.1 (DNS rebinding) reaches the port but names its host.
        rebound = await client.get("/api/v1/tasks", headers={"Host": "evil.example"})
    assert rebound.status_code == 403
    assert rebound.json()["error"] == "ForbiddenError"


async def test_with_tokens_a_viewer_reads_an_operator_acts_and_others_are_turned_away(memory_app: EverTask) -> None:
    task_id = await pending_task(memory_app)
    auth = AuthSettings(tokens=[ApiToken(OPERATOR, "operator", "ops-bot"), ApiToken(VIEWER, "viewer")])
    async with serving(create_app(memory_app, auth=auth)) as url, httpx.AsyncClient(base_url=url) as client:
        anonymous = await client.get("/api/v1/tasks")
        wrong = await client.get("/api/v1/tasks", headers=bearer("x" * 32))
        viewer_reads = await client.get("/api/v1/tasks", headers=bearer(VIEWER))
        viewer_acts = await client.post(f"/api/v1/tasks/{task_id}/cancel", headers=bearer(VIEWER))
        operator_acts = await client.post(f"/api/v1/tasks/{task_id}/cancel", headers=bearer(OPERATOR))
        probe = await client.get("/healthz")

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["error"] == "AuthenticationRequiredError"
    assert wrong.status_code == 401
    assert viewer_reads.status_code == 200
    assert viewer_acts.status_code == 403
    assert "viewer" in viewer_acts.json()["detail"]
    assert operator_acts.status_code == 200
    assert probe.status_code == 200  # probes need no credentials
    history = await memory_app.history(task_id)
    assert history[-1].actor == "ops-bot"


async def test_a_browser_write_from_another_origin_is_refused_even_with_a_token(memory_app: EverTask) -> None:
    task_id = await pending_task(memory_app)
    auth = AuthSettings(tokens=[ApiToken(OPERATOR)])
    async with serving(create_app(memory_app, auth=auth)) as url, httpx.AsyncClient(base_url=url) as client:
        cancel = f"/api/v1/tasks/{task_id}/cancel"
        elsewhere = await client.post(cancel, headers={**bearer(OPERATOR), "Origin": "https://evil.example"})
        cross_site = await client.post(cancel, headers={**bearer(OPERATOR), "Sec-Fetch-Site": "cross-site"})
        null_origin = await client.post(cancel, headers={**bearer(OPERATOR), "Origin": "null"})
        assert (await memory_app.get(task_id)).status is TaskStatus.pending  # type: ignore[union-attr]
        reading_is_fine = await client.get("/api/v1/tasks", headers={**bearer(OPERATOR), "Origin": "https://x.example"})
        same_origin = await client.post(
            cancel, headers={**bearer(OPERATOR), "Origin": url, "Sec-Fetch-Site": "same-origin"}
        )

    for refused in (elsewhere, cross_site, null_origin):
        assert refused.status_code == 403
        assert "this site's own pages" in refused.json()["detail"]
    assert reading_is_fine.status_code == 200
    assert same_origin.status_code == 200


async def test_a_user_callable_names_the_actor_of_the_actions(memory_app: EverTask) -> None:
    task_id = await pending_task(memory_app)

    def by_header(request: Request) -> Principal | None:  # stands for the host application's own session
        user = request.headers.get("x-user")
        return None if user is None else Principal(user, "operator" if user == "alice" else "viewer")

    app = create_app(memory_app, auth=AuthSettings(authenticate=by_header))
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        nobody = await client.get("/api/v1/tasks")
        bob = await client.post(f"/api/v1/tasks/{task_id}/cancel", headers={"X-User": "bob"})
        alice = await client.post(f"/api/v1/tasks/{task_id}/cancel", headers={"X-User": "alice"})

    assert nobody.status_code == 401
    assert bob.status_code == 403
    assert alice.status_code == 200
    assert (await memory_app.history(task_id))[-1].actor == "alice"


async def test_no_token_or_database_password_appears_in_a_response_or_a_log_line(
    memory_app: EverTask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "pw-" + secrets.token_hex(8)
    unreachable = f"postgresql://postgres:{password}@127.0.0.1:9/test"  # port 9 (discard): nothing answers
    auth = AuthSettings(tokens=[ApiToken(OPERATOR), ApiToken(VIEWER, "viewer")])
    bodies: list[str] = []
    async with serving(create_app(unreachable, auth=auth)) as url, httpx.AsyncClient(base_url=url) as client:
        for path in ("/readyz", "/api/v1/health", "/api/v1/tasks", "/api/v1/queues", "/api/openapi.json"):
            for headers in ({}, bearer(OPERATOR), bearer(VIEWER), bearer(OPERATOR[:-1])):
                response = await client.get(path, headers=headers)
                bodies.append(f"{response.headers}\n{response.text}")
        ready = await client.get("/readyz")
        health = await client.get("/api/v1/health", headers=bearer(VIEWER))
        listing = await client.get("/api/v1/tasks", headers=bearer(VIEWER))

    assert ready.status_code == 503
    assert ready.json()["database"] is False
    assert health.json()["database_error"].startswith("storage at postgresql")
    assert "***" in health.json()["database_error"]
    assert (listing.status_code, listing.json()["error"]) == (503, "StorageUnavailableError")
    everything = "\n".join(bodies) + caplog.text
    for secret in (password, OPERATOR, VIEWER):
        assert secret not in everything


def test_serving_beyond_loopback_without_credentials_is_refused() -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        require_credentials(host, AuthSettings())
    require_credentials("0.0.0.0", AuthSettings.from_tokens(OPERATOR, environ={}))
    with pytest.raises(ConfigurationError, match=r"refusing to serve on 0\.0\.0\.0 without credentials"):
        require_credentials("0.0.0.0", AuthSettings())
    with pytest.raises(ConfigurationError, match="refusing"):
        require_credentials("192.0.2.10", AuthSettings.from_tokens(environ={"EVERTASK_WEB_TOKEN": ""}))


def test_a_token_is_long_and_kept_out_of_reprs() -> None:
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        ApiToken("short")
    assert OPERATOR not in repr(AuthSettings(tokens=[ApiToken(OPERATOR)]))
    from_env = AuthSettings.from_tokens(environ={"EVERTASK_WEB_TOKEN": OPERATOR, "EVERTASK_WEB_VIEWER_TOKEN": VIEWER})
    assert [(t.role, t.principal.name) for t in from_env.tokens] == [("operator", "operator"), ("viewer", "viewer")]
