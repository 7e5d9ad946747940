"""Fixtures of the browser tests: ``evertask web`` and ``evertask worker`` as real processes on a real database,
an app of the test's own to dispatch with, and Debian's Chromium driven by playwright.

Chromium is ``/usr/bin/chromium`` (``make browser`` installs it); without it the tests are skipped, or fail
under ``CI=true``. Playwright never downloads a browser here: it is given that executable.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from evertask import EverTask
from tests.conftest import run_async
from tests.e2e.app import build

ROOT = Path(__file__).resolve().parents[2]
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
STARTUP = 60.0
"""Seconds a process may take to start on a loaded machine."""
WAIT = 20_000
"""Milliseconds the page may take to show what a test waits for (the worker, the stream, a loaded machine)."""
OPERATOR_TOKEN = "e2e-operator-token-0123456789"
VIEWER_TOKEN = "e2e-viewer-token-0123456789ab"
USERS = "olivia:operator:olivia-password-1;victor:viewer:victor-password-1"


def chromium() -> str:
    """Chromium's executable; skips the test (fails under CI=true) when it is not installed."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        message = "chromium is not installed: `make browser` installs Debian's package"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Process:
    """A command started by a test, its output kept in a file (shown when it fails to start)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the end; returns the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        return self.popen.returncode


def start(name: str, args: list[str], env: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, popen, log)


def evertask_command(*args: str) -> list[str]:
    """The ``evertask`` console script of this environment with ``args``."""
    return [str(Path(sys.executable).parent / "evertask"), *args]


def web_command(*args: str) -> list[str]:
    """``evertask web ARGS``, through the console script's entry point as a user runs it."""
    return [sys.executable, "-c", "from evertask.cli import main; main()", "web", *args]


def wait_until_serving(process: Process, base_url: str) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.output()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{process.name} did not start in {STARTUP:.0f} s:\n{process.output()}")


def wait_for_worker(base_url: str, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if httpx.get(f"{base_url}/api/v1/workers", headers=headers, timeout=5).json():
            return
        time.sleep(0.1)
    raise TimeoutError("no worker registered")


@dataclass
class Site:
    """A running ``evertask web`` (and worker) on one database."""

    base_url: str
    env: dict[str, str]
    broken: Path
    processes: list[Process] = field(default_factory=list)

    def break_service(self, service: str) -> None:
        (self.broken / service).touch()

    def repair_service(self, service: str) -> None:
        (self.broken / service).unlink(missing_ok=True)

    def app(self) -> EverTask:
        """An app on the site's database without a worker, to dispatch and inspect with."""
        return build(self.env["EVERTASK_E2E_URL"], self.env.get("EVERTASK_E2E_SCHEMA"), run_worker=False)


def _environment(tmp: Path, url: str, schema: str | None = None) -> dict[str, str]:
    broken = tmp / "broken"
    broken.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("EVERTASK_WEB_")}
    env.update(EVERTASK_E2E_URL=url, EVERTASK_E2E_BROKEN=str(broken), PYTHONUNBUFFERED="1")
    if schema:
        env["EVERTASK_E2E_SCHEMA"] = schema
    return env


def serve(tmp: Path, env: dict[str, str], target: str, *web_args: str, worker: bool = True) -> Site:
    """Start ``evertask web TARGET`` (and a worker of tests.e2e.app) on ``env``'s database."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    site = Site(base_url, env, Path(env["EVERTASK_E2E_BROKEN"]))
    if worker:
        site.processes.append(start("worker", evertask_command("worker", "tests.e2e.app:app"), env, tmp))
    web = start(f"web-{port}", web_command(target, "--port", str(port), "--log-level", "warning", *web_args), env, tmp)
    site.processes.append(web)
    wait_until_serving(web, base_url)
    return site


def stop(site: Site) -> None:
    for process in reversed(site.processes):
        process.stop()


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``evertask web sqlite:///...`` (open on loopback: no credentials) and a worker, on one SQLite file."""
    chromium()
    tmp = tmp_path_factory.mktemp("e2e-sqlite")
    env = _environment(tmp, f"sqlite:///{tmp / 'tasks.db'}")
    from evertask.storage.sql import upgrade

    run_async(upgrade(env["EVERTASK_E2E_URL"]))
    site = serve(tmp, env, env["EVERTASK_E2E_URL"])
    wait_for_worker(site.base_url)
    yield site
    stop(site)


@pytest.fixture(scope="module")
def guarded_site(sqlite_site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A second ``evertask web`` on the same database, with tokens and users configured (sign-in required)."""
    tmp = tmp_path_factory.mktemp("e2e-guarded")
    env = dict(sqlite_site.env)
    env.update(EVERTASK_WEB_TOKEN=OPERATOR_TOKEN, EVERTASK_WEB_VIEWER_TOKEN=VIEWER_TOKEN, EVERTASK_WEB_USERS=USERS)
    site = serve(tmp, env, env["EVERTASK_E2E_URL"], worker=False)
    yield site
    stop(site)


@pytest.fixture(scope="module")
def postgres_site(postgres_target: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``evertask web tests.e2e.app:app`` and a worker of that app, on PostgreSQL (the session's schema)."""
    chromium()
    tmp = tmp_path_factory.mktemp("e2e-postgres")
    env = _environment(tmp, postgres_target.url, postgres_target.schema)
    site = serve(tmp, env, "tests.e2e.app:app")
    wait_for_worker(site.base_url)
    yield site
    stop(site)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT)
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A page of a fresh browser context (no cookies), at a laptop's width."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert not errors, f"the page's script failed: {errors}"
