"""What the browser tests share: Debian's chromium through Playwright, a context as a client, a
case to look at, the accessibility, weight and privacy check of a page, a first sign-in by
keyboard, and a PDF's text. The fixtures (`hall`, `chromium`) are in conftest.py."""
from __future__ import annotations

import uuid

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.flow_steps import submission

CHROMIUM = "/usr/bin/chromium"
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PAGE_BUDGET = 100 * 1024
WEIGHTS: dict[str, int] = {}  # page -> bytes transferred, printed at the end of the module


def context(chromium, javascript=True, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return chromium.new_context(java_script_enabled=javascript, bypass_csp=javascript, extra_http_headers=headers,
                                locale="zh-CN")


def case_of(hall, item="MZ-001", organisation="county-window-civil-affairs"):
    request = submission(item, organisation)
    return hall.intake_as(organisation).Submit(request).case_number, request.applicant


class Weighed:
    """Bytes transferred for each page load (the document and everything it loads)."""

    def __init__(self, page):
        self.total = 0
        page.on("requestfinished", self._add)

    def _add(self, request):
        sizes = request.sizes()
        self.total += sizes["responseBodySize"] + sizes["responseHeadersSize"]


def check(page, name: str, weighed: Weighed | None = None, personal: tuple[str, ...] = ()):
    """No WCAG 2.1 A/AA violation, nothing personal in the DOM, and the page's weight (after the
    page's own requests, before axe's script is injected)."""
    if weighed is not None:
        page.wait_for_load_state("load")
        WEIGHTS[name] = weighed.total
        assert weighed.total < PAGE_BUDGET, f"{name}: {weighed.total} bytes"
    dom = page.content()
    for secret in personal:
        assert secret not in dom, f"{name}: {secret} is in the page"
    violations = Axe().run(page, options=WCAG).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == [], name




def first_sign_in_by_keyboard(hall, page, staff_number: str, path: str) -> None:
    """Open `path` without a session, sign in there with a first password and set a new one, all by
    keyboard; the page of `path` then shows."""
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(hall.settings, [staff_number], replace=True)
    page.goto(hall.web + path)
    expect(page.locator("h1")).to_have_text("工作人员登录")
    page.focus("#staff_number")
    page.keyboard.type(staff_number)
    page.keyboard.press("Tab")
    page.keyboard.type(first.password)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("修改密码")
    page.focus("#current_password")
    page.keyboard.type(first.password)
    for text in ("Desk-keys-2026", "Desk-keys-2026"):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "new_password-hint":
            page.keyboard.press("Tab")
        page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).not_to_have_text("修改密码")


def cases_at(hall, organisation: str) -> int:
    import psycopg

    with psycopg.connect(hall.settings.database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.cases WHERE organisation = %s", (organisation,)).fetchone()[0]


def pdf_text(page, path: str) -> str:
    answer = page.request.get(page.url.split("/desk/")[0] + path)
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    return pdf_bytes_text(answer.body())


def pdf_bytes_text(body: bytes) -> str:
    import io

    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(body))


def sign_in_page(page, hall, staff_number: str) -> None:
    """Sign in at `page`'s base URL with a first password just set, and choose a new one."""
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(hall.settings, [staff_number], replace=True)
    page.goto("/sign-in")
    page.fill("#staff_number", staff_number)
    page.fill("#password", first.password)
    page.click("main button[type=submit]")
    new = f"Oversee-{uuid.uuid4().hex[:6]}-9"
    page.fill("#current_password", first.password)
    page.fill("#new_password", new)
    page.fill("#repeat_password", new)
    page.click("main button[type=submit]")
