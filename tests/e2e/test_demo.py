"""`make demo` starts a worker and the dashboard, serves the pages, and stops on Ctrl+C with one line.

With ``EVERTASK_SCREENSHOTS=1`` it also lets the demo run until it has a bit of everything to show, and takes
the screenshots of docs/dashboard.md into docs/images/ (only then, so that a test run leaves the tree as it is).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import BROWSER_ARGS, ROOT, STARTUP, chromium, free_port

IMAGES = ROOT / "docs" / "images"


def test_the_demo_serves_the_dashboard_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, EVERTASK_DEMO_URL=f"sqlite:///{tmp_path / 'demo.db'}", EVERTASK_DEMO_PORT=str(port))
    env["PYTHONUNBUFFERED"] = "1"
    demo = subprocess.Popen(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=lambda: [*map(lines.put, demo.stdout or ()), lines.put(None)], daemon=True)
    reader.start()
    try:
        shown = _until_url(lines)
        url = f"http://127.0.0.1:{port}"
        assert shown[-1] == f"open {url}/   (Ctrl+C stops)"

        for path, text in (("/", "Overview"), ("/tasks", "Tasks"), ("/live", "Live")):
            response = httpx.get(url + path, timeout=30)
            assert response.status_code == 200
            assert f"<h1>{text}</h1>" in response.text
        if os.environ.get("EVERTASK_SCREENSHOTS") == "1":
            _screenshots(url)
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
        reader.join(10)

    rest = []
    while (line := lines.get_nowait()) is not None:
        rest.append(line.rstrip("\n"))
    assert demo.returncode == 0, rest
    assert [line for line in rest if line.strip()] == [
        f"demo stopped; its tasks are kept in {env['EVERTASK_DEMO_URL']}"
    ]


def _until_url(lines: queue.Queue[str | None]) -> list[str]:
    shown: list[str] = []
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            raise AssertionError(f"the demo ended before serving: {shown}")
        shown.append(line.rstrip("\n"))
        if line.startswith("open http"):
            return shown
    raise AssertionError(f"the demo printed no address in {STARTUP:.0f} s: {shown}")


def _screenshots(url: str) -> None:
    """Let the demo run until every page has something to show, then photograph each page."""
    from playwright.sync_api import sync_playwright

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        counts = httpx.get(f"{url}/api/v1/stats", timeout=30).json()["counts"]
        if counts["failed"] >= 4 and counts["completed"] >= 120:
            break
        time.sleep(1)
    retried = _task(url, "type=demo.SendWelcomeEmail&status=completed&limit=200", lambda t: t["attempts"] == 2)
    IMAGES.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[str, str, dict[str, Any]]] = [
        ("dashboard-overview.png", "/", {}),
        ("dashboard-overview-dark.png", "/", {"color_scheme": "dark"}),
        ("dashboard-tasks.png", "/tasks?status=failed", {}),
        ("dashboard-task.png", f"/tasks/{retried}", {}),
        ("dashboard-queues.png", "/queues", {}),
        ("dashboard-workers.png", "/workers", {}),
        ("dashboard-recurring.png", "/recurring", {}),
        ("dashboard-live.png", "/live", {}),
        ("dashboard-phone.png", "/", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2}),
    ]
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        for name, path, options in shots:
            context = browser.new_context(**{"viewport": {"width": 1280, "height": 860}, **options})
            page = context.new_page()
            page.goto(url + path)
            page.wait_for_function("document.getElementById('live-state').dataset.state === 'live'")
            page.wait_for_timeout(6000 if path == "/live" else 800)  # the live page fills as events arrive
            page.screenshot(path=IMAGES / name, full_page=path not in ("/live", "/"))
            context.close()
        browser.close()


def _task(url: str, query: str, wanted: Any) -> str:
    for task in httpx.get(f"{url}/api/v1/tasks?{query}", timeout=30).json()["tasks"]:
        if wanted(task):
            return str(task["id"])
    raise AssertionError(f"no task for {query}")
