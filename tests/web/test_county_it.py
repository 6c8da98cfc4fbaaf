"""County IT's pages below the browser (Starlette's test client; the APIs of an in-process hall on
the real PostgreSQL, over a copy of the staff register): the register searched, a person's posts
changed through the register's own validation (each problem at its field, the file untouched),
unlock, a first password shown once, revoke and reinstate, rating pads and hall boards paired and
unpaired; a clerk's session is refused and its forged POST writes nothing."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from onewindow.identity.v1 import identity_pb2 as ipb
from starlette.testclient import TestClient

from tests.conftest import in_process_hall
from tests.web.test_desk import Party
from tests.web.test_pages import PROXY, csrf_of, post
from tests.web.test_work import signed_in
from web_front.run import application

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
IT, CLERK, OTHER_CLERK = "SX0006", "SX0008", "SX0010"
READER = "SX0007"  # county IT's other seat: the tests' own reads of an account through the API
B_CLERK = "SX0015"  # county-desk seat 4, B


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("county-it")
    shutil.copy(DEPLOY / "staff.yaml", tmp / "staff.yaml")
    with in_process_hall(tmp, web_trusted_proxies=PROXY, staff=tmp / "staff.yaml", sign_in_backoff_after=2) as running:
        yield running


@pytest.fixture(scope="module")
def browser(hall):
    with TestClient(application(hall.settings), base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


@pytest.fixture(scope="module")
def it(browser, hall) -> Party:
    """County IT signed in once for the module (each sign-in costs a few Argon2 hashes)."""
    return signed_in(browser, hall, IT)


def account(hall, staff_number: str) -> ipb.Account:
    return hall.as_person(hall.identity, READER).GetAccount(ipb.AccountRef(staff_number=staff_number))


def test_county_it_lands_on_the_register_and_searches_it(it):
    assert it.get("/sign-in", follow_redirects=False).headers["location"] == "/it"
    found = it.get("/it", params={"q": "曾玉梅"})
    assert found.status_code == 200 and 'href="/it/persons/SX0018"' in found.text
    assert 'href="/it/persons/SX0017"' not in found.text
    everyone = it.get("/it")
    assert 'href="/it/persons/SX0001"' in everyone.text and "after=" in everyone.text  # the next page


def test_a_wrong_sign_in_locks_and_county_it_unlocks(browser, hall, it):
    from tooling.people import set_first_passwords

    set_first_passwords(hall.settings, [OTHER_CLERK], replace=True)
    for _ in range(3):  # the account backs off after 2 wrong passwords here
        post(Party(browser), "/sign-in", {"staff_number": OTHER_CLERK, "password": "wrong-password-1"})
    assert account(hall, OTHER_CLERK).locked_until
    page = it.get(f"/it/persons/{OTHER_CLERK}")
    assert "解除锁定" in page.text
    unlocked = it.post(f"/it/persons/{OTHER_CLERK}/unlock", data={"csrf": csrf_of(page)}, follow_redirects=False)
    after = account(hall, OTHER_CLERK)
    assert unlocked.status_code == 303 and after.failures == 0 and not after.locked_until


def test_a_first_password_is_shown_once_and_must_be_changed(browser, hall, it):
    page = it.get(f"/it/persons/{OTHER_CLERK}")
    reset = it.post(f"/it/persons/{OTHER_CLERK}/reset", data={"csrf": csrf_of(page)})
    first = reset.text.split('<p class="big"><code>', 1)[1].split("</code>", 1)[0]
    assert reset.status_code == 200 and len(first) >= 10 and account(hall, OTHER_CLERK).must_change_password
    assert first not in it.get(f"/it/persons/{OTHER_CLERK}").text  # once
    party = Party(browser)
    answer = post(party, "/sign-in", {"staff_number": OTHER_CLERK, "password": first})
    assert 'name="new_password"' in answer.text  # the first password works, and must be changed first


def test_revoke_needs_a_reason_and_reinstate_undoes_it(browser, hall, it):
    page = it.get(f"/it/persons/{OTHER_CLERK}")
    empty = it.post(f"/it/persons/{OTHER_CLERK}/revoke", data={"csrf": csrf_of(page), "reason": ""})
    assert empty.status_code == 400 and 'href="#reason"' in empty.text and not account(hall, OTHER_CLERK).revoked_at
    it.post(f"/it/persons/{OTHER_CLERK}/revoke", data={"csrf": csrf_of(page), "reason": "调离"})
    assert account(hall, OTHER_CLERK).revoked_at and "已停用" in it.get(f"/it/persons/{OTHER_CLERK}").text
    own = it.get(f"/it/persons/{IT}")
    assert "停用账号" not in own.text and "保存岗位" not in own.text  # nor change its own posts
    it.post(f"/it/persons/{OTHER_CLERK}/reinstate", data={"csrf": csrf_of(page)})
    assert not account(hall, OTHER_CLERK).revoked_at


def test_a_change_of_posts_is_checked_whole_and_written_to_the_register(browser, hall, it):
    register = Path(hall.settings.staff)
    before = register.read_bytes()
    page = it.get(f"/it/persons/{B_CLERK}")
    assert 'id="organisation-0" name="organisation-0" type="text" value="county-desk"' in page.text
    rows = {"csrf": csrf_of(page), "kind-0": "acceptance_clerk", "organisation-0": "county-desk", "seat-0": "4",
            "holder-0": "B", "kind-1": "handler", "organisation-1": "nowhere", "seat-1": "1", "holder-1": "B"}
    wrong = it.post(f"/it/persons/{B_CLERK}/posts", data=rows)
    assert wrong.status_code == 400 and 'href="#organisation-1"' in wrong.text
    assert 'value="nowhere"' in wrong.text and 'aria-invalid="true"' in wrong.text
    clash = it.post(f"/it/persons/{B_CLERK}/posts", data={**rows, "organisation-1": "county-desk", "seat-1": "1",
                                                           "kind-1": "acceptance_clerk", "holder-1": "A"})
    assert clash.status_code == 400 and 'href="#holder-1"' in clash.text
    mine = it.post(f"/it/persons/{IT}/posts", data={**rows, "kind-0": "it_admin", "organisation-0": "county-centre",
                                                     "seat-0": "1", "holder-0": "A", "kind-1": ""})
    assert mine.status_code == 409 and "另一位管理员" in mine.text
    assert register.read_bytes() == before
    done = it.post(f"/it/persons/{B_CLERK}/posts", data={**rows, "kind-1": "acceptance_clerk",
                                                          "organisation-1": "county-desk", "seat-1": "5",
                                                          "holder-1": "A"}, follow_redirects=False)
    assert done.status_code == 303
    changed = [line for line in register.read_text().splitlines() if line not in before.decode().splitlines()]
    assert len(changed) == 1 and B_CLERK in changed[0] and "seat: 5, holder: A" in changed[0]


def test_a_pad_is_paired_with_a_code_shown_once_and_unpaired(browser, hall, it):
    page = it.get("/it/pads")
    wrong = it.post("/it/pads", data={"csrf": csrf_of(page), "organisation": "county-centre"})
    assert wrong.status_code == 400 and 'href="#organisation"' in wrong.text
    made = it.post("/it/pads", data={"csrf": csrf_of(page), "organisation": "county-desk", "name": "一号评价器"})
    code = made.text.split('<p class="big"><code>', 1)[1].split("</code>", 1)[0]
    assert made.status_code == 200 and code.isdigit() and len(code) == 8
    tablet = Party(browser)
    form = tablet.get("/pad")
    paired = tablet.post("/pad/pair", data={"csrf": csrf_of(form), "code": code}, follow_redirects=False)
    assert paired.status_code == 303
    listed = it.get("/it/pads")
    assert "一号评价器" in listed.text and "已配对" in listed.text and code not in listed.text
    pad_id = hall.sql("web_front", "SELECT id FROM pads WHERE name = '一号评价器'")[0][0]
    it.post(f"/it/pads/{pad_id}/unpair", data={"csrf": csrf_of(listed)})
    assert hall.sql("web_front", "SELECT revoked_at IS NOT NULL FROM pads WHERE id = %s", [pad_id]) == [(True,)]


def code_of(made) -> str:
    return made.text.split('<p class="big"><code>', 1)[1].split("</code>", 1)[0]


def test_a_board_is_paired_to_a_centre_once_shows_it_and_unpaired_is_plain_again(browser, hall, it):
    page = it.get("/it/pads")
    assert "评价器与大屏配对" in page.text
    wrong = it.post("/it/boards", data={"csrf": csrf_of(page), "centre": "county-desk"})  # only a centre
    assert wrong.status_code == 400 and 'href="#centre"' in wrong.text and 'href="#organisation"' not in wrong.text
    made = it.post("/it/boards", data={"csrf": csrf_of(page), "centre": "zhangqiao-centre", "board_name": "张桥大屏"})
    code = code_of(made)
    assert made.status_code == 200 and code.isdigit() and len(code) == 8 and "/board/pair" in made.text
    pad_code = code_of(it.post("/it/pads", data={"csrf": csrf_of(page), "organisation": "county-desk"}))

    screen = Party(browser)
    form = screen.get("/board/pair")
    for refused in ("12345678", "12ab", pad_code):  # wrong, malformed, a pad's code
        answer = screen.post("/board/pair", data={"csrf": csrf_of(form), "code": refused})
        assert answer.status_code == 400 and 'href="#code"' in answer.text and 'aria-invalid="true"' in answer.text
    paired = screen.post("/board/pair", data={"csrf": csrf_of(form), "code": code}, follow_redirects=False)
    assert paired.status_code == 303 and paired.headers["location"] == "/board"
    assert "httponly" in paired.headers["set-cookie"].lower()
    for shown in (screen.get("/board"), screen.get("/board", params={"centre": "county-centre"})):
        assert shown.status_code == 200 and 'data-code="zhangqiao-centre"' in shown.text
        assert 'data-code="county-centre"' not in shown.text and 'id="centre"' not in shown.text
    assert "评价器配对" in screen.get("/pad").text  # a board is no pad
    other = Party(browser)
    used = other.post("/board/pair", data={"csrf": csrf_of(other.get("/board/pair")), "code": code})
    assert used.status_code == 400 and 'href="#code"' in used.text
    assert 'data-code="county-centre"' in other.get("/board").text  # an unpaired browser: every centre

    listed = it.get("/it/pads")
    assert "张桥大屏" in listed.text and code not in listed.text
    board_id = hall.sql("web_front", "SELECT id FROM pads WHERE name = '张桥大屏' AND kind = 'board'")[0][0]
    assert it.post(f"/it/pads/{board_id}/unpair", data={"csrf": csrf_of(listed)}, follow_redirects=False) \
        .status_code == 303
    plain = screen.get("/board")
    assert 'data-code="county-centre"' in plain.text and 'id="centre"' in plain.text
    by_query = screen.get("/board", params={"centre": "luqiao-centre"})
    assert 'data-code="luqiao-centre"' in by_query.text and 'data-code="zhangqiao-centre"' not in by_query.text


def test_a_clerks_session_is_refused_and_its_forged_posts_write_nothing(browser, hall):
    clerk = signed_in(browser, hall, CLERK)
    assert clerk.get("/it").status_code == 403 and clerk.get(f"/it/persons/{OTHER_CLERK}").status_code == 403
    page = clerk.get("/me")
    before = account(hall, OTHER_CLERK)
    assert clerk.post(f"/it/persons/{OTHER_CLERK}/reset", data={"csrf": csrf_of(page)}).status_code == 403
    assert clerk.post(f"/it/persons/{OTHER_CLERK}/revoke", data={"csrf": csrf_of(page), "reason": "x"}).status_code \
        == 403
    assert clerk.post("/it/pads", data={"csrf": csrf_of(page), "organisation": "county-desk"}).status_code == 403
    assert clerk.post("/it/boards", data={"csrf": csrf_of(page), "centre": "county-centre"}).status_code == 403
    after = account(hall, OTHER_CLERK)
    assert (after.must_change_password, after.revoked_at) == (before.must_change_password, before.revoked_at)
    assert not hall.sql("web_front", "SELECT 1 FROM pads WHERE made_by = %s", [CLERK])
