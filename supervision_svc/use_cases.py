"""Supervision's use cases: keep a clock per case and per step from the other services' events,
note what each case was and its fee (for the monthly figures) and the faults seen in events, and scan for
what falls due: warnings (yellow: urge the department; red: escalate; repeated red in a month: a
supervision suggestion), lapsed 容缺 commitments, and written progress notices."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from hall.clock import Clock, PauseReason
from hall.domain import Level, OrgKind
from hall.reference import Reference
from services.inbox import Early
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store
from .timing import marks

CASE, TRANSFER, TASK, CO_HANDLING, COMMITMENT = "case", "transfer", "task", "co_handling", "commitment"
RECTIFICATION, COMPLAINT, INSTRUCTION = "rectification", "complaint", "instruction"
RESULT_CARD = "result_card"  # a proxy agent's 办结反馈单 to get signed: the agent's clock, its ref the agent
STEPS = (CASE, TRANSFER, TASK, CO_HANDLING, COMMITMENT, RECTIFICATION, COMPLAINT, INSTRUCTION, RESULT_CARD)
_PAUSES = {"supplement": PauseReason.SUPPLEMENT, "special_procedure": PauseReason.SPECIAL_PROCEDURE,
           "suspension": PauseReason.SUSPENSION}


@dataclass
class Supervision:
    ref: Reference
    warn_share: float
    suggestion_after_reds: int
    progress_notice_days: int = 5
    result_card_days: int = 5  # working days for an agent to get the 办结反馈单 of a concluded case signed

    def open_clock(self, uow, case: str | None, step: str, ref: str, department: str | None, start: dt.date,
                   limit: int, organisation: str | None = None, yellow: bool = True) -> dt.date | None:
        """Open a clock; returns its deadline (None when the calendar does not reach that far). Without
        `yellow` it warns once, red, when its deadline has passed."""
        clock = Clock(start, limit)
        due = marks(clock, self.ref.calendar, self.warn_share)
        if not yellow:
            due = replace(due, yellow_on=None)
        store.open_clock(uow, case, step, ref, department, clock, due, organisation)
        return due.deadline

    def reading(self, row: dict, day: dt.date):
        return store.clock_of(row).read(self.ref.calendar, day)

    def _change(self, uow, row: dict, change, holder: str | None = None, release: str | None = None,
                withdraw_yellow_on: dt.date | None = None, **also) -> Clock:
        """Apply `change` (Clock -> Clock) to a clock row and recompute when it warns; `also`: more
        columns of the row to set in the same write (`store.save`)."""
        clock = change(store.clock_of(row))
        holders = [h for h in row["paused_by"] if h != release] + ([holder] if holder else [])
        store.save(uow, row["id"], clock, marks(clock, self.ref.calendar, self.warn_share), holders,
                   withdraw_yellow_on, **also)
        return clock

    # --- events --------------------------------------------------------------------------------
    # Each takes (uow, case number, payload, day of the event); the service's handler table names
    # which event each one handles. Each event comes through a queue of its own, so they may come in any order: an event that
    # needs the case's acceptance recorded is `Early` until it is (and handled again later); a
    # clock is not opened on a case already closed, nor one whose end has been recorded already.

    def _facts(self, uow, case: str, event: str) -> dict:
        """The case's facts, locked: the handlers of one case take turns."""
        facts = store.case(uow, case, lock=True)
        if facts is None:
            raise Early(f"{event} of case {case} before its ApplicationAccepted")
        return facts

    def _closed(self, uow, case: str) -> bool:
        """Whether the case is known to have ended (its row locked, if it has one)."""
        facts = store.case(uow, case, lock=True)
        return facts is not None and facts["concluded_on"] is not None

    def accepted(self, uow, case, p, day):
        accepted = dt.date.fromisoformat(p["accepted_on"])
        item = self.ref.catalogue.item(p["item_code"])
        if not store.insert_case(uow, case, item_code=item.code, department=item.department, kind=p["kind"],
                                 level=p["level"], channel=p["channel"], organisation=p["organisation"],
                                 first_clerk=p["first_clerk"], first_clerk_post=(p.get("by") or {}).get("post", ""),
                                 agent=p.get("agent"), accompanied_by=p.get("accompanied_by"),
                                 applicant_key=p.get("applicant_key"), project_code=p.get("project_code"),
                                 accepted_on=accepted, promised_limit_days=item.promised_limit_days,
                                 legal_limit_days=item.legal_limit_days):
            return
        if p.get("applicant_key"):
            others = store.open_cases_of_applicant(uow, p["applicant_key"], case)
            if others:  # 两头受理: one applicant's one matter accepted while another case of it is open
                store.record_fault(uow, case, "accepted_twice", "", item.department,
                                   f"the same applicant and item are open as {', '.join(others)}", day)
        self.open_clock(uow, case, CASE, "", None, accepted, item.promised_limit_days)
        if p.get("commitment_deadline"):
            days = self.ref.calendar.between(accepted, dt.date.fromisoformat(p["commitment_deadline"]))
            self.open_clock(uow, case, COMMITMENT, "", None, accepted, days)

    def materials_supplied(self, uow, case, p, day):
        if p["answers"] == "commitment":
            self._facts(uow, case, "MaterialsSupplied")  # else the commitment clock, opened later, would lapse
            for row in store.clocks(uow, case, (COMMITMENT,)):
                self._finish(uow, row, day)

    def rejected(self, uow, case, p, day):
        store.record_answer(uow, case, p["item_code"], p["organisation"], "not_accepted", p["reasons"], day)

    def consultation_answered(self, uow, case, p, day):
        """咨询: counted in the figures; no case, no clock."""
        store.record_consultation(uow, p["item_code"], p["organisation"], p["channel"], day)

    def fee_collected(self, uow, case, p, day):
        """收费: counted in the figures by the day it was collected; needs no clock, nor the case's
        acceptance first (the figures read the case, if known, when they are counted)."""
        item = self.ref.catalogue.item(p["item_code"])
        store.record_fee(uow, case, p["item_code"], item.department if item else None, p["organisation"],
                         p["amount_fen"], p["receipt_number"], dt.date.fromisoformat(p["collected_on"]),
                         p.get("by"))

    def one_time_notice(self, uow, case, p, day):
        store.record_answer(uow, case, p["item_code"], p["organisation"], "notice",
                            [*p["missing"], *p["defective"]], day)

    def routed(self, uow, case, p, day):
        facts = self._facts(uow, case, "CaseRouted")
        beyond = p["reported_up"] or Level(p["deciding_level"]) == Level.COUNTY
        deciders = [self.ref.org.organisation(t["organisation"]) for s in p["stages"] for t in s["tasks"]]
        on_site = not p["reported_up"] and all(o is not None and o.kind == OrgKind.WINDOW for o in deciders)
        due = self.ref.calendar.add(facts["accepted_on"], self.progress_notice_days) if beyond else None
        store.update_case(uow, case, beyond_township=beyond, on_site=on_site, progress_due_on=due)
        if p["transfers"] and facts["concluded_on"] is None:
            self.open_clock(uow, case, TRANSFER, "", None, facts["accepted_on"],
                            sum(t["limit_days"] for t in p["transfers"]))
            opened = [row["started_on"] for row in store.clocks(uow, case, (TASK,))]
            if opened:  # the first stage opened before this event came: the transfer ended then
                self._transferred(uow, case, min(opened))

    def _transferred(self, uow, case: str, day: dt.date) -> None:
        for row in store.clocks(uow, case, (TRANSFER,)):
            if row["stopped_on"] is None and row["deadline"] is not None and day > row["deadline"]:
                store.record_fault(uow, case, "late_transfer", "", None,
                                   f"transferred on {day}, due by {row['deadline']}", day)
            self._finish(uow, row, day)

    def stage_opened(self, uow, case, p, day):
        if self._closed(uow, case):
            return  # its clocks were stopped: none opens now
        self._transferred(uow, case, day)
        for task in p["tasks"]:
            self.open_clock(uow, case, TASK, task["task_id"], task["department"], day, task["limit_days"],
                            task.get("organisation") or None)

    def co_handling_requested(self, uow, case, p, day):
        if self._closed(uow, case):
            return
        for ask in p["asks"]:
            self.open_clock(uow, case, CO_HANDLING, ask["task_id"], ask["department"], day, ask["limit_days"],
                            ask.get("organisation") or None)
        if p["lead_extension_days"]:
            for row in store.clocks(uow, case, (TASK,), p["lead_task_id"]):
                self._change(uow, row, lambda c: c.extend(p["lead_extension_days"]))

    def _pause(self, uow, case, task_id: str, reason: PauseReason, day: dt.date) -> None:
        """A task's pause stops its own clock and holds the case's while any task is paused."""
        for row in store.clocks(uow, case, (TASK, CASE)):
            if row["step"] == TASK and row["ref"] != task_id or task_id in row["paused_by"]:
                continue
            running = not row["paused_by"]
            self._change(uow, row, (lambda c: c.pause(day, reason)) if running else (lambda c: c), holder=task_id)

    def _resume(self, uow, case, task_id: str, extension: int, day: dt.date) -> None:
        for row in store.clocks(uow, case, (TASK, CASE)):
            if task_id not in row["paused_by"]:
                continue
            last = len(row["paused_by"]) == 1

            def change(c, last=last):
                c = c.resume(day) if last and c.paused else c
                return c.extend(extension) if extension else c

            self._change(uow, row, change, release=task_id)

    def supplement_requested(self, uow, case, p, day):
        self._facts(uow, case, "SupplementRequested")
        if not p["late"]:  # a late request's wait is the department's: its clock runs on
            self._pause(uow, case, p["task_id"], PauseReason.SUPPLEMENT, day)

    def task_paused(self, uow, case, p, day):
        self._facts(uow, case, "TaskPaused")
        self._pause(uow, case, p["task_id"], _PAUSES[p["reason"]], day)

    def task_resumed(self, uow, case, p, day):
        self._facts(uow, case, "TaskResumed")
        self._resume(uow, case, p["task_id"], p["extension_days"], day)

    def task_decided(self, uow, case, p, day):
        closed = self._closed(uow, case)
        if not p["legal_basis"].strip():
            store.record_fault(uow, case, "no_legal_basis", p["task_id"], p["department"],
                               "a decision was recorded without its legal basis", day)
        rows = store.clocks(uow, case, (TASK, CO_HANDLING), p["task_id"])
        if not rows and not closed:
            # decided before its stage's opening was recorded: the clock that opening will try to
            # open exists already, and is stopped
            step = CO_HANDLING if p["role"] == "co_handling" else TASK
            self.open_clock(uow, case, step, p["task_id"], p["department"], day, 0)
            rows = store.clocks(uow, case, (step,), p["task_id"])
        by = p.get("by") or {}
        for row in rows:
            # who decided, where, and whether in time: the figures by window and by person
            decided = {"organisation": p.get("organisation") or row["organisation"],
                       "decided_by": by.get("person", ""), "decided_post": by.get("post", ""), "decided_on": day,
                       "on_time": self._in_time(row, day)}
            if row["stopped_on"] is not None:  # the case closed first: the decision is still the task's
                store.update_clock(uow, row["id"], **decided)
            else:
                self._finish(uow, row, day, **decided)

    def concluded(self, uow, case, p, day):
        facts = self._facts(uow, case, "CaseConcluded")
        self._close(uow, case, day, p["result"])
        if facts["agent"]:
            self._card_clock(uow, case, facts["agent"], day)

    def _card_clock(self, uow, case: str, agent_code: str, day: dt.date) -> None:
        """代办事项落实卡: a proxy case's result is to reach its applicant, who signs the agent's 办结反馈单,
        within `result_card_days` working days of the conclusion; the agent's clock warns once, red, if not."""
        agent = self.ref.org.agent(agent_code)
        self.open_clock(uow, case, RESULT_CARD, agent_code, None, day, self.result_card_days,
                        agent.organisation if agent else None, yellow=False)

    def result_card_signed(self, uow, case, p, day):
        """The applicant signed the 办结反馈单: the agent's clock stops (its warning, if raised, stays)."""
        self._facts(uow, case, "ResultCardSigned")
        if not store.clocks(uow, case, (RESULT_CARD,)):  # signed before the conclusion was seen here
            self._card_clock(uow, case, p["agent"], day)
        for row in store.clocks(uow, case, (RESULT_CARD,)):
            self._finish(uow, row, day)

    def agents_changed(self, uow, case, p, day):
        """Another agent has the case (a hand-over confirmed, an agent gone from office): the case counts for
        its carrier too, and the agent who now answers for it holds the 办结反馈单's clock."""
        facts = self._facts(uow, case, "CaseAgentsChanged")
        store.update_case(uow, case, agent=p["agent"], carrier=p.get("carrier"))
        if facts["agent"] != p["agent"]:
            for row in store.clocks(uow, case, (RESULT_CARD,)):
                agent = self.ref.org.agent(p["agent"])
                store.update_clock(uow, row["id"], ref=p["agent"], organisation=agent.organisation if agent else None)

    def withdrawn(self, uow, case, p, day):
        self._close(uow, case, day, "withdrawn")

    def _close(self, uow, case: str, day: dt.date, result: str) -> None:
        ended = {"concluded_on": day, "result": result}  # with the case clock's reading: one write
        for row in store.clocks(uow, case, (CASE, TRANSFER, TASK, CO_HANDLING, COMMITMENT)):
            if row["stopped_on"] is not None:
                continue
            if row["step"] == CASE:
                reading = self.reading(row, day)
                ended.update(days_used=reading.used, limit_days=reading.limit, on_time=not reading.overdue)
            self._finish(uow, row, day)
        store.update_case(uow, case, **ended)

    def finish(self, uow, step: str, ref: str, day: dt.date) -> None:
        """End a clock that belongs to no case (a rectification item, a complaint, an instruction)."""
        for row in store.clocks_by_ref(uow, step, ref):
            self._finish(uow, row, day)

    def _in_time(self, row: dict, day: dt.date) -> bool:
        """Whether a step ending on `day` (or ended already) kept within its limit."""
        if row["stopped_on"] is None and row["deadline"] is not None:
            return day <= row["deadline"]
        clock = store.clock_of(row)  # paused, stopped, or past the calendar: count its days
        if clock.stopped_on is None:
            clock = (clock.resume(day) if clock.paused else clock).stop(day)
        return not clock.read(self.ref.calendar, day).overdue

    def _finish(self, uow, row: dict, day: dt.date, **also) -> None:
        """Stop a clock; `also`: more columns of its row to set in the same write."""
        if row["stopped_on"] is not None:
            return
        in_time = row["deadline"] is not None and day <= row["deadline"]
        self._change(uow, row, lambda c: (c.resume(day) if c.paused else c).stop(day),
                     withdraw_yellow_on=day if in_time else None, **also)

    # --- the scan ------------------------------------------------------------------------------

    def raise_due_warnings(self, unit_of_work, stopping=lambda: False) -> None:
        """Raise the warnings falling due today, a batch per transaction, until none is left (the
        bus process's timer)."""
        while not stopping():
            with unit_of_work() as uow:
                if not self.scan(uow, local_day(uow.time.now())):
                    break

    def scan(self, uow: UnitOfWork, today: dt.date, limit: int = 200) -> int:
        """Raise the warnings due today; returns how many were raised."""
        raised = 0
        for row in store.due(uow, today, limit):
            colour = "red" if row["red_on"] is not None and row["red_on"] <= today else "yellow"
            if not store.raise_warning(uow, row, colour, today):
                continue
            raised += 1
            uow.emit("WarningRaised", row["case_number"], {
                "colour": colour, "step": row["step"], "department": row["department"], "deadline": row["deadline"],
                "agent": row["ref"] if row["step"] == RESULT_CARD else None})
            if colour == "red" and row["step"] == COMMITMENT:
                uow.emit("CommitmentLapsed", row["case_number"], {"deadline": row["deadline"], "lapsed_on": today})
            if colour == "red" and row["department"]:
                reds = store.reds_this_month(uow, row["department"], today)
                if reds >= self.suggestion_after_reds:
                    store.suggest(uow, row["department"], today, reds)
        for facts in store.progress_due(uow, today, limit):
            raised += 1
            (clock,) = store.clocks(uow, facts["case_number"], (CASE,))
            reading = self.reading(clock, today)
            store.update_case(uow, facts["case_number"], progress_noticed_on=today)
            uow.emit("ProgressNoticeRequired", facts["case_number"], {
                "item_code": facts["item_code"], "accepted_on": facts["accepted_on"], "days_used": reading.used,
                "limit_days": reading.limit, "deadline": reading.deadline, "paused": reading.paused})
        return raised

