"""The public guide (办事指南: ListItems, GetItem) and the hall board (大屏: GetBoard) over the real API,
in a hall of this module's own whose catalogue retires one item and has one not yet in force, with
time injected: today is 2026-02-10, a case accepted the day before is past its same-day promise."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import grpc
import psycopg
import pytest
import yaml
from onewindow.intake.v1 import intake_pb2 as ipb

from hall.domain import Level
from intake_svc import store
from intake_svc.guide import fee_text, levels_of
from intake_svc.use_cases import OPEN
from services.grpcutil import field_violations
from services.timesource import CHINA, ManualTime
from tests.conftest import in_process_hall
from tests.flow_steps import CATALOGUE, approve, case_status, submission, tasks_of
from tooling.settings import SystemSettings

DAY_BEFORE, TODAY = dt.date(2026, 2, 9), dt.date(2026, 2, 10)
RETIRED, NOT_YET = "SH-001", "ZX-002"  # valid until 2026-01-31; valid from 2026-06-01
IN_FORCE = sorted(i.code for i in CATALOGUE.items if i.code not in (RETIRED, NOT_YET))


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guide")
    catalogue = yaml.safe_load(SystemSettings().catalogue.read_text(encoding="utf-8"))
    for item in catalogue["items"]:
        if item["code"] == RETIRED:
            item["valid_until"] = "2026-01-31"
        elif item["code"] == NOT_YET:
            item["valid_from"] = "2026-06-01"
    path = tmp / "catalogue.yaml"
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    time = ManualTime(dt.datetime.combine(DAY_BEFORE, dt.time(9), CHINA))
    with in_process_hall(tmp, time, catalogue=path) as running:
        running.time = time
        yield running


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def _codes(reply: ipb.ListItemsReply) -> list[str]:
    return [i.code for i in reply.items]


# --- the guide ---------------------------------------------------------------------------------


def test_fees_and_levels_as_the_guide_prints_them():
    assert [fee_text(Decimal(x)) for x in ("0", "20", "12.5", "0.10", "150.00")] == ["0", "20", "12.50", "0.10", "150"]
    # applied for from the lowest level up to the one that decides: above it the clerk sends you down
    assert levels_of(CATALOGUE.item("MZ-005")) == (Level.VILLAGE.value, Level.TOWNSHIP.value)
    assert levels_of(CATALOGUE.item("GA-001")) == ("township", "county")
    assert levels_of(CATALOGUE.item("TZ-001")) == ("county",)


def test_the_guide_finds_items_by_a_word_of_the_name_by_code_and_by_department(hall):
    guide = hall.intake_stub.ListItems  # public: no token
    by_word = guide(ipb.ListItemsRequest(query="最低生活保障"), timeout=10)
    assert "MZ-001" in _codes(by_word)
    assert _codes(by_word) == sorted(i.code for i in CATALOGUE.items if "最低生活保障" in i.name)
    assert by_word.total == len(by_word.items)
    by_code = guide(ipb.ListItemsRequest(query="mz-00"), timeout=10)
    assert _codes(by_code) == [c for c in IN_FORCE if c.startswith("MZ-00")]
    police = guide(ipb.ListItemsRequest(department="public_security"), timeout=10)
    assert _codes(police) == ["GA-001", "GA-002", "GA-003"]
    assert {i.department_name for i in police.items} == {"公安局"}
    both = guide(ipb.ListItemsRequest(query="户口", department="public_security"), timeout=10)
    assert set(_codes(both)) < set(_codes(police)) and both.items
    assert guide(ipb.ListItemsRequest(query="没有这样的事项"), timeout=10).total == 0
    # the departments with an item in force, for a filter: commerce's only item is retired
    departments = {d.code: d.name for d in by_word.departments}
    assert departments["civil_affairs"] == "民政局" and "commerce" not in departments
    assert set(departments) == {CATALOGUE.item(c).department for c in IN_FORCE}


def test_the_guide_pages_by_code_with_the_total_and_leaves_out_items_not_in_force(hall):
    seen, token, pages = [], "", 0
    while True:
        reply = hall.intake_stub.ListItems(ipb.ListItemsRequest(page_size=7, page_token=token), timeout=10)
        assert reply.total == len(IN_FORCE) and len(reply.items) <= 7
        seen += _codes(reply)
        pages += 1
        token = reply.next_page_token
        if not token:
            break
    assert seen == IN_FORCE and pages == -(-len(IN_FORCE) // 7)
    assert len(_codes(hall.intake_stub.ListItems(ipb.ListItemsRequest(), timeout=10))) == min(50, len(IN_FORCE))
    for code in (RETIRED, NOT_YET, "NO-SUCH-1"):
        assert _error(lambda: hall.intake_stub.GetItem(ipb.GetItemRequest(code=code), timeout=10)).code() \
            == grpc.StatusCode.NOT_FOUND


def test_bad_paging_and_filters_are_refused_field_by_field(hall):
    for request, fields in [
        (ipb.ListItemsRequest(page_size=201), ["page_size"]),
        (ipb.ListItemsRequest(page_size=-1, page_token="not a token"), ["page_size", "page_token"]),
        (ipb.ListItemsRequest(department="no_such_department", query="x" * 101), ["query", "department"]),
    ]:
        error = _error(lambda: hall.intake_stub.ListItems(request, timeout=10))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [f for f, _ in field_violations(error)] == fields
    assert [f for f, _ in field_violations(_error(lambda: hall.intake_stub.GetItem(ipb.GetItemRequest(),
                                                                                   timeout=10)))] == ["code"]


def test_an_item_with_a_fee_and_secondary_materials(hall):
    item = hall.intake_stub.GetItem(ipb.GetItemRequest(code="GA-001"), timeout=10)
    assert (item.name, item.department, item.department_name) \
        == ("居民身份证申领、换领、补领", "public_security", "公安局")
    assert (item.kind, item.legal_limit_days, item.promised_limit_days) == (ipb.PROMISED, 60, 30)
    assert item.fee_yuan == "20" and "2322号" in item.fee_basis and item.legal_basis == "《居民身份证法》"
    assert [(m.code, m.essential, m.copies) for m in item.materials] == [
        ("household_register", True, 1), ("old_id_card", False, 1), ("loss_declaration", False, 1)]
    assert not item.agent_may_carry  # in person: portrait and fingerprints are taken
    assert (list(item.levels), item.decided_at) == (["township", "county"], "county")
    assert not item.stages and not item.consult_only and not item.requires_project_code
    free = hall.intake_stub.GetItem(ipb.GetItemRequest(code="MZ-005"), timeout=10)
    assert free.fee_yuan == "0" and free.agent_may_carry and list(free.levels) == ["village", "township"]
    assert [m.copies for m in free.materials if m.code == "photo"] == [2]


def test_a_staged_item_shows_its_stages(hall):
    item = hall.intake_stub.GetItem(ipb.GetItemRequest(code="TZ-001"), timeout=10)
    assert item.kind == ipb.JOINT and item.requires_project_code and list(item.levels) == ["county"]
    assert [(s.name, s.lead, s.limit_days) for s in item.stages] == [
        ("立项用地规划许可", "development_reform", 30), ("工程建设许可", "planning_office", 25),
        ("施工许可", "planning_construction", 20), ("竣工验收", "planning_construction", 15)]
    assert list(item.stages[1].departments) == ["planning_office", "environment", "transport"]
    assert sum(s.limit_days for s in item.stages) <= item.promised_limit_days == 90
    assert hall.intake_stub.GetItem(ipb.GetItemRequest(code="ZX-001"), timeout=10).consult_only


# --- the board ---------------------------------------------------------------------------------


def _counts(row) -> tuple[int, int, int, int]:
    c = row.counts if hasattr(row, "counts") else row
    return c.accepted_today, c.in_handling, c.concluded_today, c.overdue


def test_the_board_counts_today_by_window_and_centre(hall):
    intake = hall.intake
    hall.time.set(dt.datetime.combine(DAY_BEFORE, dt.time(9), CHINA))
    late = intake.Submit(submission("WJ-003", "zhangqiao-desk"))  # 即办件: promised the same day
    assert late.promised_deadline == str(DAY_BEFORE)

    hall.time.set(dt.datetime.combine(TODAY, dt.time(9, 30), CHINA))
    county = [intake.Submit(submission("MZ-001", "county-desk")) for _ in range(3)]
    withdrawn = submission("MZ-001", "county-desk")
    county.append(intake.Submit(withdrawn))
    intake.Withdraw(ipb.WithdrawRequest(case_number=county[-1].case_number, reason="不办了",
                                        phone_last4=withdrawn.applicant.phone[-4:]))
    township = intake.Submit(submission("MZ-005", "zhangqiao-desk"))
    incomplete = intake.Submit(submission("MZ-001", "zhangqiao-desk", missing=("id_card",)))
    room = intake.Submit(submission("MZ-001", "zhangqiao-liugang-room", channel=ipb.VILLAGE_ROOM))
    assert {r.status for r in county + [township, room]} == {ipb.ACCEPTED}
    assert incomplete.status == ipb.SUPPLEMENT_REQUIRED  # not accepted: counts nowhere
    desk = hall.desk("civil_affairs")
    (task,) = tasks_of(desk, county[0].case_number)
    approve(desk, task.task_id)
    case_status(hall, county[0].case_number, "concluded")

    board = hall.intake_stub.GetBoard(ipb.GetBoardRequest(), timeout=10)  # public: no token
    assert (board.day, board.as_of) == ("2026-02-10", "2026-02-10T09:30:00+08:00")
    windows = {w.code: (w.centre, _counts(w)) for w in board.windows}
    assert windows == {"county-desk": ("county-centre", (4, 2, 1, 0)),
                       "zhangqiao-desk": ("zhangqiao-centre", (1, 2, 0, 1)),
                       "zhangqiao-liugang-room": ("zhangqiao-centre", (1, 1, 0, 0))}
    assert [w.code for w in board.windows] == ["county-desk", "zhangqiao-desk", "zhangqiao-liugang-room"]
    assert board.windows[0].name == "县行政服务中心咨询受理部"
    centres = {c.code: _counts(c) for c in board.centres}
    assert centres["county-centre"] == _counts(board.total) == (6, 5, 1, 1)
    assert centres["zhangqiao-centre"] == (2, 3, 0, 1) and centres["luqiao-centre"] == (0, 0, 0, 0)
    assert board.centres[0].code == "county-centre" and all(c.centre == c.code for c in board.centres)
    body = board.SerializeToString()
    assert "王小明".encode() not in body and withdrawn.applicant.phone.encode() not in body

    one = hall.intake_stub.GetBoard(ipb.GetBoardRequest(centre="zhangqiao-centre"), timeout=10)
    assert [c.code for c in one.centres] == ["zhangqiao-centre"] and _counts(one.total) == (2, 3, 0, 1)
    assert [w.code for w in one.windows] == ["zhangqiao-desk", "zhangqiao-liugang-room"]
    for centre in ("no-such-centre", "zhangqiao-desk"):
        error = _error(lambda: hall.intake_stub.GetBoard(ipb.GetBoardRequest(centre=centre), timeout=10))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(error)[0][0] == "centre"

    hall.time.set(dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(9), CHINA))  # the next day
    tomorrow = hall.intake_stub.GetBoard(ipb.GetBoardRequest(), timeout=10)
    assert _counts(tomorrow.total) == (0, 5, 0, 1)


class _Explaining:
    """In place of a unit of work: the plan of each query instead of its rows."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, query, params):
        return self.conn.execute("EXPLAIN " + query, params)


def test_the_board_query_reads_through_indexes_never_the_whole_table(hall):
    """Polled every few seconds: each branch of its condition has an index (a full scan is the
    planner's only choice when one has none, whatever the cost settings)."""
    start = dt.datetime.combine(TODAY, dt.time(), CHINA)
    with psycopg.connect(hall.settings.database_url, autocommit=True, options="-c search_path=intake") as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(line for (line,) in store.board_counts(
            _Explaining(conn), TODAY, start, start + dt.timedelta(days=1), sorted(OPEN)))
    assert "Seq Scan" not in plan, plan
    assert {"cases_status", "cases_accepted_on", "cases_archived_at"} <= set(plan.replace("(", " ").split()), plan
