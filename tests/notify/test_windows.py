"""The responsible window in applicants' notices, on the real PostgreSQL: notify keeps, with the
applicant's contact, the organisation that accepted the case (intake's first events carry it), and
a later event's notices name that window and its public phone; a store of the release before (no
organisation kept) upgrades, and its cases' notices name no window rather than a wrong one."""
from __future__ import annotations

import datetime as dt
import shutil
import uuid

import psycopg
import pytest

from hall.reference import load_reference
from notify_svc.service import HANDLERS
from notify_svc.use_cases import Notify
from services.contracts import new_envelope
from services.db import KERNEL_MIGRATIONS, migrate, open_pool, service_migrations
from services.timesource import CHINA, ManualTime
from services.uow import unit_of_work_factory
from tooling.settings import SystemSettings

REF = load_reference(SystemSettings())
ROOM = "zhangqiao-liugang-room"  # a village room: its township centre's public phone
CONTACT = {"name": "王小明", "phone": "13912345678", "email": ""}
CLERK = {"person": "SX0120", "name": "村干部", "post": f"{ROOM}/acceptance_clerk/1", "organisation": ROOM,
         "holder": ROOM}
AT = dt.datetime(2026, 2, 10, 9, tzinfo=CHINA)


def _own_migrations(upto: str | None, tmp_path) -> list:
    (own,) = [s for s in service_migrations("notify_svc") if s != KERNEL_MIGRATIONS]
    if upto is None:
        return [KERNEL_MIGRATIONS, own]
    old = tmp_path / "notify-migrations"
    old.mkdir()
    shutil.copy(own / upto, old / upto)
    return [KERNEL_MIGRATIONS, old]


@pytest.fixture
def store(database_url):
    schemas, pools = [], []

    def open_store(sources):
        schema = f"notify_{uuid.uuid4().hex[:8]}"
        migrate(database_url, schema, sources)
        pool = open_pool(database_url, schema, 2)
        schemas.append(schema)
        pools.append(pool)

        def sql(query, params=()):
            with psycopg.connect(database_url, autocommit=True, options=f"-c search_path={schema}") as conn:
                cur = conn.execute(query, params)
                return cur.fetchall() if cur.description else []
        def upgrade() -> list[str]:
            return migrate(database_url, schema, service_migrations("notify_svc"))
        return unit_of_work_factory(pool, "notify", schema, ManualTime(AT)), sql, upgrade

    yield open_store
    for pool in pools:
        pool.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _deliver(uow, source: str, name: str, case: str, payload: dict) -> None:
    notify = Notify(REF.catalogue, REF.org, {"sms": object()}, attempts=3, backoff_seconds=1)
    (handler,) = [h for h in HANDLERS if h.event == name]
    with uow() as work:
        handler.handle(notify, work, new_envelope(source, name, case, payload, AT))


def _accepted(case: str) -> dict:
    return {"item_code": "MZ-005", "kind": "promised", "level": "village", "organisation": ROOM,
            "channel": "village_room", "first_clerk": "SX0120", "accepted_on": "2026-02-10",
            "promised_deadline": "2026-02-24", "contact": CONTACT, "by": CLERK}


def _concluded() -> dict:
    return {"result": "issued", "concluded_on": "2026-02-20", "decisions": [], "reasons": []}


def test_a_later_notice_names_the_window_that_accepted_the_case_and_its_public_phone(store, tmp_path):
    uow, sql, _ = store(_own_migrations(None, tmp_path))
    _deliver(uow, "intake", "ApplicationAccepted", "C1", _accepted("C1"))
    _deliver(uow, "approval", "CaseConcluded", "C1", _concluded())

    assert sql("SELECT organisation FROM contacts WHERE case_number = 'C1'") == [(ROOM,)]
    bodies = dict(sql("SELECT notice, body FROM deliveries WHERE case_number = 'C1'"))
    assert set(bodies) == {"receipt", "decision", "pickup", "rating_invitation"}
    room = REF.org.organisation(ROOM).name
    phone = REF.org.public_phone(ROOM)
    assert phone == REF.org.organisation("zhangqiao-centre").phone
    for notice, body in bodies.items():
        assert body.endswith(f"承办窗口：{room}，电话 {phone}。"), notice
        assert "村干部" not in body and "SX0120" not in body


def test_an_upgraded_store_keeps_its_contacts_and_names_no_window_for_their_cases(store, tmp_path):
    uow, sql, upgrade = store(_own_migrations("0001_deliveries.sql", tmp_path))
    sql("INSERT INTO contacts (case_number, item_code, name, phone) VALUES ('OLD', 'MZ-001', '王小明', %s)",
        [CONTACT["phone"]])

    assert upgrade() == ["0002_contact_organisation", "0003_contact_agent"]

    assert sql("SELECT case_number, organisation FROM contacts") == [("OLD", "")]
    _deliver(uow, "approval", "CaseConcluded", "OLD", _concluded())
    bodies = [b for (b,) in sql("SELECT body FROM deliveries WHERE case_number = 'OLD'")]
    assert len(bodies) == 3 and not any("承办窗口" in b for b in bodies)


def test_a_pooled_task_warns_its_centres_manager_at_their_work_phone(store, tmp_path):
    """Nothing is without an owner: the manager of the centre over the window is told by SMS."""
    from hall.staff import Staff

    uow, sql, _ = store(_own_migrations(None, tmp_path))
    settings = SystemSettings()
    notify = Notify(REF.catalogue, REF.org, {"sms": object()}, attempts=3, backoff_seconds=1,
                    staff=Staff(settings.staff, REF.org))
    (handler,) = [h for h in HANDLERS if h.event == "TaskPooled"]
    with uow() as work:
        handler.handle(notify, work, new_envelope("approval", "TaskPooled", "C9", {
            "task_id": "C9.1.planning_construction", "department": "planning_construction",
            "organisation": "county-window-planning-construction",
            "post": "county-window-planning-construction/handler/1", "centre": "county-centre"}, AT))
    manager = Staff(settings.staff, REF.org).register.person("SX0001")  # 张敏, the county centre's manager
    ((notice, channel, recipient, body),) = sql("SELECT notice, channel, recipient, body FROM deliveries")
    assert (notice, channel, recipient) == ("task_pooled", "sms", manager.work_phone)
    assert "规划建设局窗口" in body and "C9.1.planning_construction" in body
