"""The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright): log in, look around, inject a fault, see the incident, acknowledge it.

.ci/run installs Chromium; where it is missing the module is skipped, saying so.
AIOPS_UPDATE_SCREENSHOTS=1 refreshes the screenshots in docs/.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import urllib3
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.conftest import make_user
from tests.detection.traffic import run_cycles, shop_traffic, store

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} not installed (.ci/run installs it)",
    ),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium():
    """A page in headless Chromium, and the console errors it logs.

    Started after the test's database work: Playwright's sync API runs an event
    loop in this thread, where Django then refuses ORM calls.
    """
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "console",
            lambda message: (
                problems.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            yield page, problems
        finally:
            browser.close()


def api(url: str, token: str, method: str = "POST") -> dict:
    response = urllib3.PoolManager(retries=False).request(
        method, url, headers={"Authorization": f"Token {token}"}, timeout=30
    )
    assert response.status < 400, response.data
    return json.loads(response.data)


def test_dashboard_end_to_end_in_chromium(live_server):
    operator = make_user("operator", staff=True)
    operator.is_superuser = True  # the admin's model permissions, for its pages
    operator.save()
    token = Token.objects.create(user=operator).key
    now = timezone.now().timestamp()
    store(shop_traffic(now - 900, 880, seed=1))  # what normal looks like
    run_cycles(now - 900, now - 30)
    with chromium() as (page, problems):
        walk_through(page, problems, live_server.url, token)


def walk_through(page, problems: list[str], base: str, token: str) -> None:

    page.goto(f"{base}/admin/login/?next=/aiops/dashboard/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.wait_for_url("**/aiops/dashboard/")
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("tr.endpoint-row").count() == 3

    page.click("text=payment")
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() == 3
    assert page.locator("svg.chart circle.point.p50").count() > 10  # data, not a blank

    # A fault through the simulation API, real requests through it, one cycle.
    api(f"{base}/simulate/delay?endpoint=payment&duration=1200", token)
    http = urllib3.PoolManager(maxsize=12, retries=False)
    threads = [
        threading.Thread(
            target=http.request,
            args=("POST", f"{base}/checkout"),
            kwargs={"timeout": 30},
        )
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = api(f"{base}/aiops/analyze", token)
    assert report["opened"] == 1, report
    api(f"{base}/simulate/clear", token)

    page.goto(f"{base}/aiops/dashboard/incidents")
    row = page.locator("tr.incident-row").first
    assert "payment" in row.inner_text()
    row.locator("a").click()
    page.wait_for_selector("#incident-status")
    assert page.locator("#incident-status").inner_text() == "open"
    assert page.locator("svg.waterfall rect.span").count() >= 3
    shoot(page, "incident")
    page.fill("input[name=note]", "looking at payment")
    page.click("#acknowledge")
    page.wait_for_selector(".messages")
    assert page.locator("#incident-status").inner_text() == "acknowledged"
    assert "acknowledged" in page.locator(".messages").inner_text()

    page.goto(f"{base}/aiops/dashboard/map")
    # One service and its three endpoints with the calls between them, and the
    # database they query (shown as its own service, one node per caller).
    assert page.locator("svg.service-map g.node").count() == (1 + 3) + (1 + 1)
    assert "database" in page.locator("svg.service-map").first.text_content()
    assert page.locator("svg.service-map line.edge").count() >= 2
    shoot(page, "map")
    page.goto(f"{base}/aiops/dashboard/endpoint?service=shop&endpoint=payment")
    assert page.locator("svg.chart rect.mark").count() >= 1  # the incident, marked
    shoot(page, "endpoint")
    page.goto(f"{base}/aiops/dashboard/")
    shoot(page, "dashboard")

    # The admin at 1366 px: the changelist fits, the incident page reads.
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(f"{base}/admin/detection/incident/")
    width = page.evaluate("document.documentElement.scrollWidth")
    results = page.evaluate(
        "(() => { const r = document.querySelector('div.results');"
        " return [r.scrollWidth, r.clientWidth]; })()"
    )
    assert width <= 1366 and results[0] <= results[1], (width, results)
    shoot(page, "admin-incidents")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#acknowledge, #resolve")
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("text=Share of the evidence").count() == 1
    shoot(page, "admin-incident")
    assert problems == []


def shoot(page, name: str) -> None:
    folder = (
        ROOT / "docs"
        if os.environ.get("AIOPS_UPDATE_SCREENSHOTS")
        else Path(os.environ.get("TMPDIR", "/tmp"))
    )
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
