"""The staff register as identity serves it (identity_svc.register, on the real PostgreSQL): county
IT's search, a centre's posts and holders for its manager only, and county IT's change of a
person's posts written into the register file through the loader every service uses, each problem
at its field and the file untouched when anything is wrong."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from hall.catalogue import load_org
from hall.staff import Staff, load_staff
from identity_svc.register import PostChange, Register
from services.access import Caller, Role
from services.db import migrate, open_pool, service_migrations
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound
from services.timesource import SystemTime
from services.uow import unit_of_work_factory

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CIVIL = "county-window-civil-affairs"


@pytest.fixture
def register(database_url, tmp_path):
    schema = f"register_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, service_migrations("identity_svc"))
    pool = open_pool(database_url, schema, max_size=2)
    org = load_org(DEPLOY / "org.yaml")
    shutil.copy(DEPLOY / "staff.yaml", tmp_path / "staff.yaml")
    staff = Staff(tmp_path / "staff.yaml", org, recheck_seconds=0)
    found = Register(staff, org, tmp_path / "staff.yaml")
    found.uow = unit_of_work_factory(pool, "identity", schema, SystemTime())
    yield found
    pool.close()


IT = Caller(Role.ADMIN, "it", "county-centre", person="SX0006", post="county-centre/it_admin/1")


def change(register: Register, staff_number: str, *posts: PostChange, caller: Caller = IT):
    with register.uow() as uow:
        return register.set_posts(uow, caller, staff_number, list(posts))


def manager(centre: str, staff_number: str) -> Caller:
    return Caller(Role.MANAGER, centre, centre, person=staff_number, post=f"{centre}/centre_manager/1")


def test_county_it_searches_by_name_number_or_organisation_and_pages(register):
    assert [p.staff_number for _, p in register.search("曾玉梅", 0, 10)] == ["SX0018"]
    at_window = [p.staff_number for _, p in register.search(CIVIL, 0, 50)]
    assert at_window[:4] == ["SX0017", "SX0018", "SX0019", "SX0020"]
    first = register.search("", 0, 3)
    assert [p.staff_number for _, p in first] == ["SX0001", "SX0002", "SX0003"]
    assert register.search("", first[-1][0] + 1, 1)[0][1].staff_number == "SX0004"


def test_a_manager_sees_their_own_centre_with_each_post_and_its_a_and_b_holders(register):
    view = register.centre(manager("county-centre", "SX0001"), "")
    codes = [o.code for o, _ in view.organisations]
    assert codes[0] == "county-centre" and CIVIL in codes and "county-desk" in codes
    assert "zhangqiao-centre" not in codes  # the centres below are their own managers'
    seats = dict(view.organisations)[next(o for o, _ in view.organisations if o.code == "county-desk")]
    first = next(s for s in seats if s.post_id == "county-desk/acceptance_clerk/1")
    assert [(mark, p.staff_number) for mark, p in first.holders] == [("A", "SX0008"), ("B", "SX0009")]
    with pytest.raises(Forbidden):
        register.centre(manager("zhangqiao-centre", "SX0083"), "county-centre")
    with pytest.raises(InvalidRequest):
        register.centre(Caller(Role.ADMIN, "it", "county-centre", person="SX0006"), CIVIL)


def test_a_change_of_posts_is_written_with_the_files_comments_and_read_by_the_loader(register):
    before = register.path.read_text(encoding="utf-8")
    person = change(register, "SX0015", PostChange("acceptance_clerk", "county-desk", 4, "B", ""),
                    PostChange("acceptance_clerk", "county-desk", 5, "A", ""))  # a fifth seat, B at the fourth
    assert [h.post_id for h in person.posts] == ["county-desk/acceptance_clerk/4", "county-desk/acceptance_clerk/5"]
    after = register.path.read_text(encoding="utf-8")
    assert after.splitlines()[0] == before.splitlines()[0]  # the register's own comments stay
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(changed) == 1 and "SX0015" in changed[0] and "seat: 5, holder: A" in changed[0]
    assert load_staff(register.path, register.org).holders("county-desk/acceptance_clerk/5")["A"].name == "韩爱民"


def test_a_wrong_change_names_each_field_and_leaves_the_file_as_it_was(register):
    before = register.path.read_bytes()
    with pytest.raises(InvalidRequest) as refused:
        change(register, "SX0015", PostChange("handler", "county-desk", 1, "A", ""),
               PostChange("acceptance_clerk", "nowhere", 1, "A", ""), PostChange("acceptance_clerk", "county-desk",
                                                                                 2, "C", ""))
    fields = {f for f, _ in refused.value.violations}
    assert {"posts[0].kind", "posts[1].organisation", "posts[2].holder"} <= fields
    with pytest.raises(InvalidRequest) as clash:  # seat 1's A is SX0008: the loader sees it at a line
        change(register, "SX0015", PostChange("acceptance_clerk", "county-desk", 1, "A", ""))
    assert any("already has" in why for _, why in clash.value.violations)
    with pytest.raises(InvalidRequest):
        change(register, "SX0015")
    with pytest.raises(NotFound):
        change(register, "SX9999", PostChange("acceptance_clerk", "county-desk", 4, "B", ""))
    with pytest.raises(NotAllowedNow):  # county IT's own posts are another administrator's to change
        change(register, "SX0006", PostChange("acceptance_clerk", "county-desk", 5, "A", ""))
    assert register.path.read_bytes() == before
    assert not [p for p in register.path.parent.iterdir() if p.name.startswith(".staff-")]
