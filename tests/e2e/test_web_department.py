"""The department's pages in a real browser (承办): two handlers of two departments, each in a browser
context of their own, work an investment project (TZ-001: five departments at once in its first
stage, three in its second) from their worklists to the join that opens the second stage, one asking
the applicant for material once and the other asking a co-handler, and the applicant's lookup shows
each step;
axe-core on the task page in each state; the decision by keyboard alone; a B holder's open worklist
told, live, of the work that came to them while their A was away. The rules are tested below the
browser (tests/web/test_work.py)."""
from __future__ import annotations

import datetime as dt

from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb
from playwright.sync_api import expect

from tests.e2e.browser import check, context, first_sign_in_by_keyboard
from tests.flow_steps import case_status, stage_task, submission, tasks_of

REFORM = "county-window-development-reform"
WATER, COMMERCE = "SX0075", "SX0073"  # the A handlers of the water and commerce offices (one post each)
WATER_B = "SX0076"
MANAGER = "SX0001"  # the county centre's manager marks a person away


def _submit(page, action: str) -> None:
    """Press the submit button of the task page's form for `action`, from the keyboard."""
    page.focus(f"form[action$='/{action}'] button[type=submit]")
    page.keyboard.press("Enter")


def test_two_handlers_work_an_investment_case_to_the_join_and_b_is_told_of_work_while_a_is_away(hall, chromium):
    application = submission("TZ-001", REFORM)
    number = hall.intake.Submit(application, timeout=10).case_number
    (water_task,) = tasks_of(hall.desk("water"), number)
    (commerce_task,) = tasks_of(hall.desk("commerce"), number)
    with context(chromium) as water_ctx, context(chromium) as commerce_ctx, context(chromium) as b_ctx:
        water = water_ctx.new_page()
        first_sign_in_by_keyboard(hall, water, WATER, "/work")
        expect(water.locator("h1")).to_have_text("待办")
        water.click(f"text={number}")
        expect(water.locator("h1")).to_contain_text(number)
        check(water, "department task, new")
        water.check("#material-site_map")
        water.fill("#problem_site_map", "用地范围图未标注水土保持措施范围")
        _submit(water, "supplement")
        expect(water.locator("main")).to_contain_text("待补正材料")
        check(water, "department task, waiting for material")

        commerce = commerce_ctx.new_page()
        first_sign_in_by_keyboard(hall, commerce, COMMERCE, "/work")
        commerce.click(f"text={number}")
        commerce.check("#department-market_regulation")
        commerce.fill("#ask", "请核实企业登记信息")
        commerce.fill("#limit_days", "3")
        _submit(commerce, "co_handling")
        expect(commerce.locator("main")).to_contain_text("还有 1 个协办部门未答复")
        check(commerce, "department task, co-handling asked")

        # the applicant brings the material, the co-handler answers, the other three departments decide
        hall.intake.SupplyMaterials(ipb.SupplyMaterialsRequest(
            case_number=number, materials=[ipb.ProvidedMaterial(code="site_map")], clerk="clerk-02"),
            timeout=10)
        tasks_of(hall.desk("water"), number, status=dpb.CLAIMED)
        co = [t for t in tasks_of(hall.desk("market_regulation"), number) if t.role == dpb.CO_HANDLING]
        hall.desk("market_regulation").Decide(dpb.DecideRequest(
            task_id=co[0].task_id, decision=dpb.APPROVE, opinion="登记信息属实", legal_basis="《市场主体登记管理条例》"))
        for department in ("development_reform", "land_resources", "planning_office"):
            (task,) = tasks_of(hall.desk(department), number)
            hall.desk(department).Decide(dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE,
                                                           opinion="同意", legal_basis="职责"))

        for page, task in ((water, water_task), (commerce, commerce_task)):  # the decision by keyboard alone
            page.goto(f"{hall.web}/work/tasks/{task.task_id}")
            expect(page.locator("#decide-heading")).to_be_visible()
            check(page, "department task, to decide")
            page.focus("#decision-approve")
            page.keyboard.press("Space")
            page.focus("#opinion")
            page.keyboard.type("符合条件，同意")
            page.keyboard.press("Tab")
            page.keyboard.type("《企业投资项目核准和备案管理条例》")
            _submit(page, "decide")
            expect(page.locator("h1")).to_have_text("待办")
        # the join: the last decision of the first stage opens the second (规划, 环保, 交通)
        second_stage = stage_task(hall.desk("environment"), number, 2)
        assert second_stage.stage_name == "工程建设许可"
        case_status(hall, number, "in_handling")
        lookup = commerce_ctx.new_page()  # the applicant looks the case up, each step in public words
        lookup.goto(f"{hall.web}/lookup")
        lookup.fill("#case_number", number)
        lookup.fill("#phone_last4", application.applicant.phone[-4:])
        lookup.click("main button[type=submit]")
        steps = lookup.locator("ol.steps")
        for step in ("已受理", "部门要求补正材料", "已补交材料", "协办中", "协办部门已答复", "部门已作出审批决定"):
            expect(steps).to_contain_text(step)
        expect(steps.locator("li", has_text="部门审批中")).to_have_count(2)  # one stage, then the next

        # B's worklist is open; A is marked away; a new case's water task goes to B, who is told live
        b_page = b_ctx.new_page()
        first_sign_in_by_keyboard(hall, b_page, WATER_B, "/work")
        expect(b_page.locator("h1")).to_have_text("待办")
        manager = hall.as_person(hall.desk_stub, MANAGER)
        back_at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=4)).isoformat()
        manager.SetAway(dpb.SetAwayRequest(staff_number=WATER, back_at=back_at, note="下乡"))
        try:
            second = hall.intake.Submit(submission("TZ-002", REFORM), timeout=10).case_number
            (task,) = tasks_of(hall.desk("water"), second)
            assert task.holder == WATER_B
            expect(b_page.locator("#new-work")).to_contain_text("有新的待办 (1)", timeout=15_000)
            check(b_page, "worklist with new work")
            b_page.locator("#new-work a").click()
            expect(b_page.locator("#worklist")).to_contain_text(second)
        finally:
            manager.ClearAway(dpb.ClearAwayRequest(staff_number=WATER))
