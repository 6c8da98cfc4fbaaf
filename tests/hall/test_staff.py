"""The staff register: the sample staffs every organisation of the sample county; each kind of
mistake is reported with its line and field; an edit takes effect without a restart."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from hall.catalogue import load_org
from hall.domain import Level, OrgKind
from hall.staff import PostKind, Staff, StaffRegister, load_staff
from services.yamlfile import ConfigFileError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def org():
    return load_org(DEPLOY / "org.yaml")


@pytest.fixture(scope="module")
def sample(org) -> StaffRegister:
    return load_staff(DEPLOY / "staff.yaml", org)


# --- the sample register ---------------------------------------------------------------------


def posts_at(register: StaffRegister, code: str) -> set[tuple[str, int, str]]:
    """(post, seat, A/B) held by active persons at an organisation."""
    return {(h.post.value, h.seat, h.holder) for p in register.persons if p.active for h in p.posts if h.at == code}


def test_the_sample_register_staffs_every_organisation_of_the_sample_county(org, sample):
    assert sample.county == org.county and len(sample.persons) == 243
    held_at = {post_id.split("/")[0] for _, post_id in sample.active_holdings()}
    assert held_at == {o.code for o in org.organisations}
    both = {"A", "B"}
    for o in org.organisations:
        posts = posts_at(sample, o.code)
        if o.kind == OrgKind.ACCEPTANCE_DESK:
            seats = 4 if o.level == Level.COUNTY else 2
            assert posts == {("acceptance_clerk", s, x) for s in range(1, seats + 1) for x in both}, o.code
        elif o.kind == OrgKind.WINDOW:
            wanted = {(p, 1, x) for p in ("window_clerk", "handler") for x in both}
            if o.level == Level.COUNTY:
                wanted |= {("approver", 1, "A"), ("checker", 1, "A")}
            assert posts == wanted, o.code
        elif o.kind == OrgKind.BACK_OFFICE:
            assert posts == {("handler", 1, "A"), ("handler", 1, "B")}, o.code
        elif o.kind == OrgKind.VILLAGE_ROOM:
            assert {("acceptance_clerk", 1, "A"), ("acceptance_clerk", 1, "B")} <= posts, o.code
        else:
            assert {("centre_manager", 1, "A"), ("leader", 1, "A"), ("leader", 1, "B")} <= posts, o.code
    county = posts_at(sample, "county-centre")
    assert {("supervision_officer", s, "A") for s in (1, 2)} | {("it_admin", s, "A") for s in (1, 2)} <= county


def test_every_agent_of_the_org_chart_is_a_person_at_its_organisation(org, sample):
    proxies = {h.agent: h.at for p in sample.persons if p.active for h in p.posts if h.post == PostKind.PROXY_AGENT}
    assert proxies == {a.code: a.organisation for a in org.agents}


def test_the_sample_reads_like_a_register_and_holds_no_secrets(sample):
    text = (DEPLOY / "staff.yaml").read_text(encoding="utf-8")
    assert not re.search(r"password|passwd|token|secret", text, re.IGNORECASE)
    assert all(re.fullmatch(r"SX\d{4}", p.staff_number) for p in sample.persons)
    assert all(re.fullmatch(r"0550-6\d{6}", p.work_phone) for p in sample.persons)
    assert len({p.name for p in sample.persons}) == len(sample.persons)
    people = [line for line in text.splitlines() if line.lstrip().startswith("- ")]
    assert len(people) == len(sample.persons)  # one person a line


def test_the_register_answers_who_holds_what(sample):
    desk = "county-desk/acceptance_clerk/1"
    holders = sample.holders(desk)
    assert set(holders) == {"A", "B"} and holders["A"].active
    a = holders["A"].staff_number
    assert sample.holding(a, desk).holder == "A" and sample.holding(a, "county-desk/acceptance_clerk/2") is None
    assert (a, desk) in sample.active_holdings()
    former = next(p for p in sample.persons if not p.active)  # left, kept on record
    assert sample.person(former.staff_number) is former
    assert sample.holding(former.staff_number, desk) is None
    assert all(number != former.staff_number for number, _ in sample.active_holdings())
    assert sample.person("NOBODY") is None and sample.holders("nowhere/handler/1") == {}
    assert PostKind.PROXY_AGENT.label == "代办员" and all(kind.label for kind in PostKind)


# --- mistakes, each with its line and field --------------------------------------------------


def person(number: str, *posts: str, extra: str = "") -> str:
    return f"  - {{staff_number: {number}, name: 王芳, work_phone: 0550-6012345, posts: [{', '.join(posts)}]{extra}}}"


def post(kind: str, at: str, seat: int = 1, holder: str = "A", agent: str | None = None) -> str:
    return f"{{post: {kind}, at: {at}, seat: {seat}, holder: {holder}" + (f", agent: {agent}" if agent else "") + "}"


def write(tmp_path: Path, *persons: str, county: str = "示范县") -> Path:
    path = tmp_path / "staff.yaml"
    path.write_text(f"# 名册\ncounty: {county}\npersons:\n" + "\n".join(persons) + "\n", encoding="utf-8")
    return path


FIRST = 4  # the line of the first person in `write`'s files
CLERK = post("acceptance_clerk", "county-desk")


def problems(path: Path, org) -> list[str]:
    with pytest.raises(ConfigFileError) as err:
        load_staff(path, org)
    return err.value.lines()


@pytest.mark.parametrize(
    "persons, line, expected",
    [
        # field errors, from the model
        ([person("sx1", CLERK)], 0, "persons[0].staff_number: String should match pattern"),
        ([person("SX0001", CLERK).replace("0550-6012345", "call me")], 0, "persons[0].work_phone: String should match pattern"),
        ([person("SX0001")], 0, "persons[0].posts: List should have at least 1 item"),
        ([person("SX0001", post("janitor", "county-desk"))], 0, "persons[0].posts[0].post: Input should be 'acceptance_clerk'"),
        ([person("SX0001", post("acceptance_clerk", "county-desk", seat=100))], 0,
         "persons[0].posts[0].seat: Input should be less than or equal to 99"),
        ([person("SX0001", post("acceptance_clerk", "county-desk", holder="C"))], 0, "persons[0].posts[0].holder: Input should be 'A' or 'B'"),
        ([person("SX0001", post("proxy_agent", "zhangqiao-liugang-room"))], 0,
         "persons[0].posts[0]: a proxy_agent must name the agent of the org chart it is"),
        ([person("SX0001", post("handler", "county-office-water", agent="agent-luqiao"))], 0,
         "persons[0].posts[0]: only a proxy_agent names an agent"),
        ([person("SX0001", CLERK, extra=", password: hunter2")], 0, "persons[0].password: Extra inputs are not permitted"),
        # across the file and the org chart
        ([person("SX0001", CLERK), person("SX0001", post("acceptance_clerk", "county-desk", holder="B"))], 1,
         "persons[1].staff_number: duplicate staff number 'SX0001'"),
        ([person("SX0001", post("handler", "county-office-sewers"))], 0,
         "persons[0].posts[0].at: unknown organisation 'county-office-sewers' (not in the org chart)"),
        ([person("SX0001", post("handler", "county-desk"))], 0,
         "persons[0].posts[0].post: a handler sits at a window or a back_office; county-desk is a county acceptance_desk"),
        ([person("SX0001", post("supervision_officer", "zhangqiao-centre"))], 0,
         "persons[0].posts[0].post: a supervision_officer sits at a county centre; zhangqiao-centre is a township centre"),
        ([person("SX0001", post("proxy_agent", "county-centre", agent="agent-luqiao"))], 0,
         "persons[0].posts[0].post: a proxy_agent sits at a village_room or a township centre"),
        ([person("SX0001", post("acceptance_clerk", "county-window-taxation"))], 0,
         "persons[0].posts[0].post: an acceptance_clerk sits at an acceptance_desk or a village_room"),
        ([person("SX0001", CLERK), person("SX0002", CLERK)], 1,
         "persons[1].posts[0].holder: county-desk/acceptance_clerk/1 already has SX0001 as its A holder"),
        ([person("SX0001", CLERK), person("SX0002", post("acceptance_clerk", "county-desk", holder="B")),
          person("SX0003", post("acceptance_clerk", "county-desk", holder="B"))], 2,
         "persons[2].posts[0].holder: county-desk/acceptance_clerk/1 already has SX0002 as its B holder"),
        ([person("SX0001", CLERK), person("SX0002", post("acceptance_clerk", "county-desk", seat=2, holder="B"))], 1,
         "persons[1].posts[0].holder: county-desk/acceptance_clerk/2 has a B holder but no A holder"),
        ([person("SX0001", CLERK, post("acceptance_clerk", "county-desk", holder="B"))], 0,
         "persons[0].posts[1]: county-desk/acceptance_clerk/1 is held twice by SX0001"),
        ([person("SX0001", post("proxy_agent", "zhangqiao-liugang-room", agent="agent-unknown"))], 0,
         "persons[0].posts[0].agent: unknown agent 'agent-unknown' (not in the org chart)"),
        ([person("SX0001", post("proxy_agent", "zhangqiao-liugang-room", agent="agent-zhangqiao-dayang"))], 0,
         "persons[0].posts[0].agent: agent agent-zhangqiao-dayang belongs to zhangqiao-dayang-room, not zhangqiao-liugang-room"),
        ([person("SX0001", post("proxy_agent", "zhangqiao-centre", agent="agent-zhangqiao")),
          person("SX0002", post("proxy_agent", "zhangqiao-centre", seat=2, agent="agent-zhangqiao"))], 1,
         "persons[1].posts[0].agent: agent agent-zhangqiao is already SX0001 (as A)"),
    ],
)
def test_each_mistake_is_reported_with_its_line_and_field(tmp_path, org, persons, line, expected):
    path = write(tmp_path, *persons)
    found = problems(path, org)
    assert any(p.startswith(f"{path}:{FIRST + line}: {expected}") for p in found), found


def test_a_register_of_another_county(tmp_path, org):
    path = write(tmp_path, person("SX0001", CLERK), county="邻县")
    assert problems(path, org) == [f"{path}:2: county: the org chart is of '示范县'"]


def test_a_register_written_in_block_style_is_placed_field_by_field(tmp_path, org):
    path = tmp_path / "staff.yaml"
    path.write_text(
        "county: 示范县\n"
        "persons:\n"
        "  - staff_number: SX0001\n"
        "    name: 王芳\n"
        "    work_phone: 0550-6012345\n"
        "    posts:\n"
        "      - post: handler\n"
        "        at: county-window-water\n"  # line 8: no such window
        "      - post: window_clerk\n"
        "        at: county-window-taxation\n"
        "        seat: 0\n",  # line 11
        encoding="utf-8")
    assert problems(path, org) == [f"{path}:11: persons[0].posts[1].seat: Input should be greater than or equal to 1 (got 0)"]
    path.write_text(path.read_text(encoding="utf-8").replace("seat: 0", "seat: 1"), encoding="utf-8")
    assert problems(path, org) == [
        f"{path}:8: persons[0].posts[0].at: unknown organisation 'county-window-water' (not in the org chart)"]


def test_every_problem_is_reported_at_once_in_the_order_of_the_file(tmp_path, org):
    path = write(tmp_path,
                 person("SX0001", post("acceptance_clerk", "county-desk", seat=3, holder="B")),  # no A
                 person("SX0002", post("handler", "nowhere")),
                 person("SX0002", CLERK))
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in problems(path, org)] == ["4", "5", "6"]


def test_a_successor_takes_the_post_of_one_who_left(tmp_path, org):
    """Only active persons count as holders: one who left stays on record beside their successor,
    and a B holder stands in for an A who is suspended."""
    path = write(tmp_path,
                 person("SX0001", CLERK, extra=", active: false"),
                 person("SX0002", CLERK),
                 person("SX0003", post("handler", "county-office-water"), extra=", active: false"),
                 person("SX0004", post("handler", "county-office-water", holder="B")))
    register = load_staff(path, org)
    assert register.holders("county-desk/acceptance_clerk/1")["A"].staff_number == "SX0002"
    assert set(register.holders("county-office-water/handler/1")) == {"B"}


# --- kept current without a restart ----------------------------------------------------------


def test_an_edit_takes_effect_without_a_restart(tmp_path, org):
    desk, office = "county-desk/acceptance_clerk/1", "county-office-water/handler/1"
    lines = [person("SX0001", CLERK), person("SX0002", post("handler", "county-office-water"))]
    path = write(tmp_path, *lines)
    staff = Staff(path, org, recheck_seconds=0)
    assert staff.register.holding("SX0001", desk) and staff.register.holding("SX0002", office)
    write(tmp_path, lines[0])  # SX0002 removed
    assert staff.register.person("SX0002") is None and staff.register.holding("SX0001", desk)
    write(tmp_path, person("SX0001", CLERK, extra=", active: false"))
    assert staff.register.holding("SX0001", desk) is None and staff.register.active_holdings() == []


def test_a_bad_edit_keeps_the_last_good_register(tmp_path, org, caplog):
    path = write(tmp_path, person("SX0001", CLERK))
    staff = Staff(path, org, recheck_seconds=0)
    before = staff.register
    write(tmp_path, person("SX0001", CLERK), person("SX0002", CLERK))  # two A holders
    with caplog.at_level(logging.ERROR, logger="services.watched"):
        assert staff.register is before and staff.register is before
    assert len(caplog.records) == 1 and f"{path}:5: persons[1].posts[0].holder" in caplog.text
    path.unlink()
    assert staff.register is before


def test_a_bad_register_at_start_stops_the_process_there(tmp_path, org):
    path = write(tmp_path, person("SX0001", post("handler", "nowhere")))
    with pytest.raises(ConfigFileError, match=r"staff.yaml:4: persons\[0\].posts\[0\].at"):
        Staff(path, org)


def test_the_version_changes_with_the_content_and_only_with_it(tmp_path, org):
    path = write(tmp_path, person("SX0001", CLERK))
    first = load_staff(path, org).version
    path.write_text("# 另一条注释\n" + path.read_text(encoding="utf-8").replace("  - ", "  -   "), encoding="utf-8")
    assert load_staff(path, org).version == first
    write(tmp_path, person("SX0001", CLERK, extra=", active: false"))
    assert load_staff(path, org).version != first
    assert re.fullmatch(r"[0-9a-f]{12}", first)
