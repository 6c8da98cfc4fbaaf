"""Approval's use cases over a unit of work: open stages, act on tasks, the join, the conclusion.

Every action on a case locks its case row first: concurrent decisions on one stage run one after
the other, so the join (the last decision ends the stage) fires exactly once.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace

from hall.calendar import CalendarYearMissing
from hall.domain import VILLAGE_COMMITTEE, CaseStatus, Decision, ResultCode, TaskStatus
from hall.reference import Reference
from hall.staff import PostKind, Staff
from services.access import Caller, Role
from services.contracts import Envelope
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, Violations
from services.timesource import local_day
from services.uow import UnitOfWork

from . import desk, store
from .access import may_handle, may_mark_away, may_oversee, post_kind
from .assignment import assign, candidates, deciding_posts
from .commands import Claim, EndSpecialProcedure, RequestSupplement, Resume, StartSpecialProcedure, Suspend, TaskCommand
from .desk import CO_HANDLING, LEAD, PARALLEL, Task

SOURCE = "approval"
log = logging.getLogger(__name__)
NOTE_CHARS, PROBLEM_CHARS = 2000, 500  # free text stored and sent on in events and notices
PLANNED_DAYS = 365  # at most, for a special procedure: more than a year of working days is no plan
AWAY_DAYS = 90  # an away notice reaches at most this far; beyond, the manager moves the person's tasks
MOVE_AT_ONCE = 500


@dataclass(frozen=True)
class DecisionOutcome:
    task: Task
    stage_completed: bool = False
    concluded: bool = False
    result: str = ""
    next_stage: int = 0


@dataclass
class Handling:
    ref: Reference
    staff: Staff  # the staff register, re-read when it changes: who holds each handler post

    def _today(self, uow: UnitOfWork) -> dt.date:
        return local_day(uow.time.now())

    # --- bus side ----------------------------------------------------------------------------

    def open_case(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """A routed case: record its plan and send the first stage's tasks out."""
        plan = envelope.payload
        if not store.insert_case(uow, envelope.case_number, plan, CaseStatus.IN_HANDLING.value):
            return  # withdrawn before it arrived here, or already opened
        self._open_stage(uow, envelope.case_number, plan, 1)

    def _open_stage(self, uow: UnitOfWork, case_number: str, plan: dict, index: int,
                    previous: list[Task] = ()) -> None:
        stage = plan["stages"][index - 1]
        today = self._today(uow)
        tasks = self._assign(uow, [
            Task(id=desk.task_id(case_number, index, t["department"]), case_number=case_number,
                 item_code=plan["item_code"], stage=index, stage_name=stage["name"],
                 department=t["department"], organisation=t["organisation"],
                 role=LEAD if t["department"] == stage["lead"] else PARALLEL, status=TaskStatus.ASSIGNED,
                 assigned_on=today, limit_days=stage["limit_days"]) for t in stage["tasks"]])
        store.insert_tasks(uow, tasks, self.ref.calendar)
        store.feed(uow, [(t.department, t.id, "assigned") for t in tasks])
        uow.emit("StageOpened", case_number, {
            "stage": index, "stage_name": stage["name"],
            "tasks": [{"task_id": t.id, "department": t.department, "lead": t.role == LEAD,
                       "limit_days": t.limit_days, "deadline": t.clock.deadline(self.ref.calendar),
                       "organisation": t.organisation, "holder": t.holder or "", "post": t.post} for t in tasks],
            "previous_decisions": _decisions(previous), "co_handling_answers": _decisions(previous, True)})
        self._warn_pooled(uow, tasks)

    def _assign(self, uow: UnitOfWork, tasks: list[Task]) -> list[Task]:
        """New tasks to the A holder of their handler post, B while A is away, else the pool."""
        register = self.staff.register
        people = {o: candidates(register, o) for o in {t.organisation for t in tasks}}
        away = store.away(uow, [p for group in people.values() for p in group], uow.time.now())
        chosen = {o: assign(register, o, away) for o in people}
        return [replace(t, holder=chosen[t.organisation].holder, post=chosen[t.organisation].post) for t in tasks]

    def _warn_pooled(self, uow: UnitOfWork, tasks: list[Task]) -> None:
        """Nothing is without an owner: a task in its organisation's pool warns the centre's manager."""
        for t in tasks:
            if t.holder is None:
                centre = self.ref.org.centres_over(t.organisation)
                uow.emit("TaskPooled", t.case_number, {"task_id": t.id, "department": t.department,
                                                       "organisation": t.organisation, "post": t.post,
                                                       "centre": centre[0] if centre else ""})

    def materials_supplied(self, uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        if p["answers"] != "department":
            return
        store.load_case(uow, envelope.case_number, lock=True)
        task = store.load_task(uow, p["task_id"])
        if task is None or task.status != TaskStatus.WAITING_SUPPLEMENT:
            return  # withdrawn or already resumed: nothing waits for these materials
        task = desk.materials_supplied(task, self._today(uow))
        store.save_task(uow, task, self.ref.calendar)
        store.feed(uow, [(task.department, task.id, "materials_supplied")])
        uow.emit("TaskResumed", task.case_number, {"task_id": task.id, "department": task.department,
                                                   "reason": "supplement", "extension_days": 0})

    def withdraw(self, uow: UnitOfWork, envelope: Envelope) -> None:
        number = envelope.case_number
        if store.insert_case(uow, number, {}, CaseStatus.WITHDRAWN.value):
            return  # withdrawn before routing reached us: CaseRouted will find it closed
        case = store.load_case(uow, number, lock=True)
        if case["status"] != CaseStatus.IN_HANDLING:
            return
        store.update_case(uow, number, status=CaseStatus.WITHDRAWN.value, concluded_at=uow.time.now())
        self._withdraw_open(uow, store.case_tasks(uow, number))

    def _withdraw_open(self, uow: UnitOfWork, tasks: list[Task]) -> None:
        """A case ended without them: its undecided tasks are withdrawn and their departments told."""
        open_tasks = [t for t in tasks if t.status != TaskStatus.DECIDED]
        for task in open_tasks:
            store.save_task(uow, replace(task, status=TaskStatus.WITHDRAWN), self.ref.calendar)
        store.feed(uow, [(t.department, t.id, "withdrawn") for t in open_tasks])

    def lapse(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """The promised materials of a 容缺 case did not come in time: the case ends
        (补正超时驳回), its open tasks are withdrawn, and the decisions so far are kept."""
        number = envelope.case_number
        if not store.insert_case(uow, number, {}, CaseStatus.CONCLUDED.value):
            case = store.load_case(uow, number, lock=True)
            if case["status"] != CaseStatus.IN_HANDLING:
                return  # concluded, withdrawn or lapsed already
        store.update_case(uow, number, status=CaseStatus.CONCLUDED.value, result=ResultCode.SUPPLEMENT_TIMEOUT.value,
                          concluded_at=uow.time.now())
        tasks = store.case_tasks(uow, number)
        self._withdraw_open(uow, tasks)
        uow.emit("CaseConcluded", number, {
            "result": ResultCode.SUPPLEMENT_TIMEOUT, "concluded_on": self._today(uow),
            "reasons": [f"承诺补齐的材料未在 {envelope.payload['deadline']} 前提交（补正超时驳回）"],
            "decisions": _decisions(tasks), **_ended_in(tasks)})

    def suspensions_due(self, uow: UnitOfWork) -> list[tuple[str, str]]:
        """(department, task id) of suspended tasks whose `until` day has come."""
        return store.suspensions_due(uow, self._today(uow))

    def end_due_suspensions(self, unit_of_work, stopping=lambda: False) -> None:
        """A suspension ends on its `until` day (挂起期满): the task resumes with no extension,
        each in a transaction of its own (the bus process's timer)."""
        with unit_of_work() as uow:
            due = self.suspensions_due(uow)
        for department, task_id in due:
            if stopping():
                return
            try:
                with unit_of_work() as uow:
                    self.act(uow, Caller(Role.DEPARTMENT, department), Resume(task_id, extension_days=0))
            except NotAllowedNow:  # resumed meanwhile, by its department or another replica
                log.info("suspension of %s already ended", task_id)

    # --- the desk (API side) -----------------------------------------------------------------

    def _own(self, uow: UnitOfWork, actor: Caller, task_id: str) -> tuple[dict, Task, list[Task]]:
        """The task if the actor may handle it, with its case (row locked) and all the case's tasks."""
        case = store.load_case(uow, store.case_of(task_id), lock=True) if task_id else None
        tasks = store.case_tasks(uow, case["case_number"]) if case else []
        task = next((t for t in tasks if t.id == task_id), None)
        if task is None:
            raise NotFound(f"no task {task_id!r}")
        may_handle(actor, task)
        if case["status"] != CaseStatus.IN_HANDLING and task.status != TaskStatus.DECIDED:
            raise NotAllowedNow(f"case {task.case_number} is {case['status']}")
        return case, task, tasks

    def act(self, uow: UnitOfWork, actor: Caller, command: TaskCommand) -> Task:
        """Claim, supplement request, special procedure, suspension: one rule, one save, one event,
        each naming who did it."""
        case, task, _ = self._own(uow, actor, command.task_id)
        department = task.department
        today = self._today(uow)
        by = actor.actor()
        match command:
            case Claim():
                changed = desk.claim(task, actor.person)
                if changed != task:
                    uow.emit("TaskClaimed", task.case_number, {"task_id": task.id, "department": department,
                                                               "organisation": task.organisation,
                                                               "holder": changed.holder or "", "by": by})
            case RequestSupplement(materials=materials, note=note):
                self._check_supplement(task, materials, note)
                changed = desk.request_supplement(task, self.ref.calendar, today, materials)
                uow.emit("SupplementRequested", task.case_number, {
                    "task_id": task.id, "department": department, "note": note, "late": changed.supplement_late,
                    "materials": [{"code": c, "problem": p} for c, p in materials], "by": by})
            case StartSpecialProcedure(procedure=procedure, note=note, planned_days=planned_days):
                v = Violations()
                if len(note) > NOTE_CHARS:
                    v.add("note", f"at most {NOTE_CHARS} characters")
                if not 0 <= planned_days <= PLANNED_DAYS:
                    v.add("planned_days", f"0 (not known) or 1 to {PLANNED_DAYS} working days")
                v.check()
                changed = desk.start_special_procedure(task, today, procedure)
                uow.emit("TaskPaused", task.case_number, {"task_id": task.id, "department": department,
                                                          "reason": "special_procedure", "procedure": procedure,
                                                          "note": note, "planned_days": planned_days or None,
                                                          "expected_end": self._expected_end(today, planned_days),
                                                          "by": by})
            case EndSpecialProcedure():
                changed = desk.end_special_procedure(task, today)
                uow.emit("TaskResumed", task.case_number, {"task_id": task.id, "department": department,
                                                           "reason": "special_procedure", "extension_days": 0,
                                                           "by": by})
            case Suspend(until=until, reason=reason):
                v = Violations()
                v.require(reason, "reason", NOTE_CHARS)
                v.check()
                changed = desk.suspend(task, today, until)
                uow.emit("TaskPaused", task.case_number, {"task_id": task.id, "department": department,
                                                          "reason": "suspension", "note": reason, "until": until,
                                                          "by": by})
            case Resume(extension_days=extension_days):
                changed = desk.resume(task, today, extension_days)
                uow.emit("TaskResumed", task.case_number, {"task_id": task.id, "department": department,
                                                           "reason": "suspension", "extension_days": extension_days,
                                                           "by": by})
        if changed != task:
            store.save_task(uow, changed, self.ref.calendar)
        return changed

    def _expected_end(self, start: dt.date, planned_days: int) -> dt.date | None:
        """The planned_days-th working day after a special procedure starts, on the county calendar;
        None when no length was planned, or when the calendar does not reach that far yet: the
        applicant is then told the length alone, and a year still to be loaded stops no procedure."""
        if not planned_days:
            return None
        try:
            return self.ref.calendar.add(start, planned_days)
        except CalendarYearMissing:
            return None

    def _check_supplement(self, task: Task, materials: list[tuple[str, str]], note: str) -> None:
        """Each material once, of the item (intake takes only the item's materials: a request for
        another could never be met), with its problem; the texts bounded."""
        item = self.ref.catalogue.item(task.item_code)
        v, seen = Violations(), set()
        for i, (code, problem) in enumerate(materials):
            if not code or not problem:
                v.add(f"materials[{i}]", "material_code and problem are required")
            elif item.material(code) is None:
                v.add(f"materials[{i}].material_code", f"item {item.code} has no material {code!r}")
            elif code in seen:
                v.add(f"materials[{i}].material_code", f"material {code!r} listed twice")
            elif len(problem) > PROBLEM_CHARS:
                v.add(f"materials[{i}].problem", f"at most {PROBLEM_CHARS} characters")
            seen.add(code)
        if len(note) > NOTE_CHARS:
            v.add("note", f"at most {NOTE_CHARS} characters")
        v.check()

    def request_co_handling(self, uow: UnitOfWork, actor: Caller, task_id: str,
                            asks: list[tuple[str, str, int]], cause: str | None) -> Task:
        case, lead, tasks = self._own(uow, actor, task_id)
        department = lead.department
        earlier = [t for t in tasks if t.lead_task_id == lead.id]
        # the village committee decides its own matters at its room, co-handling nobody's
        departments = {d.code for d in self.ref.org.departments if d.code != VILLAGE_COMMITTEE}
        new, growth = desk.co_handling(lead, asks, cause, earlier, departments,
                                       self._today(uow))
        lead_office = self.ref.org.organisation(lead.organisation)
        centre = lead_office.parent or lead_office.code
        new = self._assign(uow, [replace(t, organisation=self.ref.org.office_for(t.department, centre).code)
                                 for t in new])
        store.insert_tasks(uow, new, self.ref.calendar)
        store.feed(uow, [(t.department, t.id, "assigned") for t in new])
        if growth:
            lead = replace(lead, extension_days=lead.extension_days + growth)
            store.save_task(uow, lead, self.ref.calendar)
        uow.emit("CoHandlingRequested", lead.case_number, {
            "lead_task_id": lead.id, "department": department, "cause": cause, "lead_extension_days": growth,
            "asks": [{"task_id": t.id, "department": t.department, "ask": t.ask, "limit_days": t.limit_days,
                      "organisation": t.organisation, "holder": t.holder or ""} for t in new],
            "by": actor.actor()})
        self._warn_pooled(uow, new)
        return lead

    def decide(self, uow: UnitOfWork, actor: Caller, task_id: str, decision: Decision | None, opinion: str,
               legal_basis: str, documents: list[str], signed_off: list[str] = ()) -> DecisionOutcome:
        """A decision; on an item signed off by a chain, a person's is a proposal waiting for the
        chain, and a department's system names who signed it off in its own system."""
        desk.check_decision(decision, opinion, legal_basis, documents)
        case, task, tasks = self._own(uow, actor, task_id)
        item = self.ref.catalogue.item(task.item_code)
        chain = item.sign_off if item else []
        if signed_off and (actor.person or not chain):
            raise InvalidRequest([("signed_off", "only a department's system names its signers, on an item whose "
                                                 "decision is signed off")])
        open_co = sum(1 for t in tasks if t.lead_task_id == task.id and t.status != TaskStatus.DECIDED)
        if chain and actor.person:
            proposed = desk.propose(task, decision, opinion, legal_basis, documents, open_co, actor.actor(), chain)
            store.save_task(uow, proposed, self.ref.calendar)
            store.feed(uow, [(task.department, task.id, "awaiting_sign_off")])
            uow.emit("DecisionProposed", task.case_number, {
                "task_id": task.id, "department": task.department, "organisation": task.organisation,
                "decision": decision, "awaiting": proposed.proposal.awaiting, "by": actor.actor()})
            return DecisionOutcome(proposed)
        signers = desk.checked_signers(chain, [
            self._signer(staff, task.organisation, chain[i]) if i < len(chain) else (staff, None, False)
            for i, staff in enumerate(signed_off)]) if chain else ()
        decided = desk.decide(task, decision, opinion, legal_basis, documents, open_co, uow.time.now(),
                              actor.actor(), signers)
        return self._decided(uow, case, decided, tasks)

    def _signer(self, staff_number: str, organisation: str, kind: str) -> tuple[str, dict | None, bool]:
        person = self.staff.register.person(staff_number)
        if person is None or not person.active:
            return staff_number, None, False
        post = next((h.post_id for h in person.posts if h.at == organisation and h.post == kind), "")
        return staff_number, {"person": person.staff_number, "name": person.name, "post": post,
                              "organisation": organisation, "holder": ""}, bool(post)

    def sign_off(self, uow: UnitOfWork, actor: Caller, task_id: str, agree: bool, opinion: str) -> DecisionOutcome:
        """A signature of the chain (审批, 核准) by the person at the post whose turn it is."""
        case, task, tasks = self._own(uow, actor, task_id)
        kind = post_kind(actor)
        if kind not in (PostKind.APPROVER, PostKind.CHECKER):
            raise Forbidden("a decision is signed off by a person at an approver or checker post")
        open_co = sum(1 for t in tasks if t.lead_task_id == task.id and t.status != TaskStatus.DECIDED)
        signed = desk.sign_off(task, kind.value, actor.actor(), agree, opinion, open_co, uow.time.now())
        uow.emit("DecisionSigned", task.case_number, {
            "task_id": task.id, "department": task.department, "organisation": task.organisation,
            "step": kind.value, "agreed": agree, "opinion": opinion, "by": actor.actor(),
            "awaiting": signed.proposal.awaiting if signed.proposal else ""})
        if signed.status != TaskStatus.DECIDED:
            store.save_task(uow, signed, self.ref.calendar)
            if signed.proposal is not None:  # on to the next post of the chain
                store.feed(uow, [(task.department, task.id, "awaiting_sign_off")])
            return DecisionOutcome(signed)
        return self._decided(uow, case, signed, tasks)

    def _decided(self, uow: UnitOfWork, case: dict, decided: Task, tasks: list[Task]) -> DecisionOutcome:
        """A decision taken: saved, announced, and the stage joined when it was the last."""
        task = decided
        store.save_task(uow, decided, self.ref.calendar)
        uow.emit("TaskDecided", task.case_number, {
            "task_id": task.id, "department": task.department, "stage": task.stage, "role": task.role,
            "decision": decided.decision, "opinion": decided.opinion, "legal_basis": decided.legal_basis,
            "organisation": task.organisation, "by": decided.decided_by, "signed_off": list(decided.signed_off)})
        if task.role == CO_HANDLING:
            store.feed(uow, [(t.department, t.id, "co_handling_answered") for t in tasks if t.id == task.lead_task_id])
            return DecisionOutcome(decided)
        whole_stage = [decided if t.id == task.id else t for t in tasks if t.stage == task.stage]
        stage = [t for t in whole_stage if t.role != CO_HANDLING]
        joined = desk.join(stage, last_stage=task.stage == case["stages"], reported_up=case["reported_up"])
        if not joined.complete:
            return DecisionOutcome(decided)
        if joined.result is None:
            store.update_case(uow, task.case_number, current_stage=task.stage + 1)
            self._open_stage(uow, task.case_number, case["plan"], task.stage + 1, whole_stage)
            return DecisionOutcome(decided, stage_completed=True, next_stage=task.stage + 1)
        self._conclude(uow, task.case_number, joined, [decided if t.id == task.id else t for t in tasks])
        return DecisionOutcome(decided, stage_completed=True, concluded=True, result=joined.result.value)

    def _conclude(self, uow: UnitOfWork, case_number: str, joined: desk.Join, tasks: list[Task]) -> None:
        store.update_case(uow, case_number, status=CaseStatus.CONCLUDED.value, result=joined.result.value,
                          concluded_at=uow.time.now())
        uow.emit("CaseConcluded", case_number, {
            "result": joined.result, "concluded_on": self._today(uow), "reasons": list(joined.reasons),
            "decisions": _decisions(tasks), **_ended_in(tasks)})

    # --- posts: away notices, the pool, moving tasks ----------------------------------------------

    def set_away(self, uow: UnitOfWork, actor: Caller, staff_number: str, back_at: dt.datetime, note: str) -> dict:
        """去向留言: a person records being away until `back_at`, or the centre manager marks them
        absent; while it lasts their new work goes to their B holder."""
        staff_number = staff_number or actor.person
        person = self.staff.register.person(staff_number)
        may_mark_away(actor, person, self.ref.org)
        v = Violations()
        now = uow.time.now()
        if back_at <= now:
            v.add("back_at", "a time still to come")
        elif back_at > now + dt.timedelta(days=AWAY_DAYS):
            v.add("back_at", f"at most {AWAY_DAYS} days ahead: a longer absence is the manager's, who moves the tasks")
        v.require(note, "note", NOTE_CHARS)
        v.check()
        return store.set_away(uow, staff_number, back_at, note, actor.actor())

    def clear_away(self, uow: UnitOfWork, actor: Caller, staff_number: str) -> dict | None:
        """Back: new work goes to the person again. None when no notice was in force."""
        staff_number = staff_number or actor.person
        may_mark_away(actor, self.staff.register.person(staff_number), self.ref.org)
        return store.clear_away(uow, staff_number)

    def away_notices(self, uow: UnitOfWork, actor: Caller) -> list[dict]:
        """The away notices in force of the persons at the organisations the caller oversees."""
        register = self.staff.register
        people = [p.staff_number for p in register.persons if p.active
                  and any(may_oversee(actor, h.at, self.ref.org) for h in p.posts)]
        return store.away_notices(uow, people, uow.time.now())

    def pool(self, uow: UnitOfWork, actor: Caller, after: int, limit: int) -> list[tuple[int, Task]]:
        """The open tasks nobody holds at the organisations the caller oversees."""
        organisations = [o.code for o in self.ref.org.organisations if may_oversee(actor, o.code, self.ref.org)]
        return store.pool(uow, organisations, after, limit)

    def move(self, uow: UnitOfWork, actor: Caller, task_ids: list[str], to: str, reason: str) -> list[Task]:
        """The centre manager gives open tasks to another holder, all or none: a person holding the
        handler post of the task's window or office (a long absence, a person who leaves)."""
        v = Violations()
        if not task_ids or len(task_ids) > MOVE_AT_ONCE:
            v.add("task_ids", f"1 to {MOVE_AT_ONCE} tasks")
        if len(set(task_ids)) != len(task_ids):
            v.add("task_ids", "each task once")
        v.require(to, "to_staff_number", 32)
        v.require(reason, "reason", NOTE_CHARS)
        v.check()
        register = self.staff.register
        moved = []
        for task_id in sorted(task_ids):  # case rows locked in one order: two moves never deadlock
            case = store.load_case(uow, store.case_of(task_id), lock=True)
            task = store.load_task(uow, task_id) if case else None
            if task is None:
                raise NotFound(f"no task {task_id!r}")
            if not may_oversee(actor, task.organisation, self.ref.org):
                raise Forbidden(f"task {task_id} is handled at {task.organisation}, outside {actor.organisation}")
            post = next((p for p in deciding_posts(register, task.organisation)
                         if to in {h.staff_number for h in register.holders(p).values()}), None)
            if post is None:
                raise InvalidRequest([("to_staff_number", f"{to} holds no handler post at {task.organisation}")])
            changed = desk.move(task, to, post)
            store.save_task(uow, changed, self.ref.calendar)
            uow.emit("TaskMoved", task.case_number, {
                "task_id": task.id, "department": task.department, "organisation": task.organisation,
                "from_holder": task.holder or "", "to_holder": to, "reason": reason, "by": actor.actor()})
            moved.append(changed)
        store.feed(uow, [(t.department, t.id, "moved") for t in moved])
        return moved

    def fill_due(self, unit_of_work) -> int:
        """Worklist sort keys for open tasks written before they were kept (at the desk API's start)."""
        filled = 0
        while True:
            with unit_of_work() as uow:
                n = store.fill_due(uow, self.ref.calendar)
            filled += n
            if not n:
                return filled

    def projects(self, uow: UnitOfWork, actor: Caller, ended: bool, after: str, limit: int
                 ) -> list[tuple[dict, list[Task]]]:
        """The parallel-approval projects the caller's department leads (the department of an item with
        stages, per the catalogue: e.g. 发改 coordinates investment projects), each with its current
        stage's tasks, in case number order after `after`."""
        items = [i.code for i in self.ref.catalogue.items if i.stages and i.department == actor.code]
        if not items:
            return []  # a department that leads no parallel-approval item has no projects to follow
        cases = store.projects(uow, items, ended, after, limit)
        tasks = store.stage_tasks(uow, [(c["case_number"], c["current_stage"]) for c in cases])
        return [(c, tasks.get(c["case_number"], [])) for c in cases]

    def progress(self, uow: UnitOfWork, department: str | None, case_number: str) -> tuple[dict, list[Task]]:
        """Every department's tasks on a case, for a department that has a task in it (None: the
        supervision office, which reads every case)."""
        case = store.load_case(uow, case_number) if case_number else None
        if case is None:
            raise NotFound(f"no case {case_number!r} in handling")
        tasks = store.case_tasks(uow, case_number)
        if department is not None and not any(t.department == department for t in tasks):
            raise Forbidden(f"{department} has no task in case {case_number}")
        return case, tasks



def _decisions(tasks, co_handling: bool = False) -> list[dict]:
    """The decisions of stage tasks, each with who made it and who signed it off; with
    `co_handling`, the co-handlers' answers instead (contributions, not decisions)."""
    return [{"department": t.department, "stage": t.stage, "decision": t.decision, "opinion": t.opinion,
             "legal_basis": t.legal_basis, "task_id": t.id, "organisation": t.organisation, "by": t.decided_by,
             "signed_off": list(t.signed_off), "decided_at": t.decided_at}
            for t in tasks if (t.role == CO_HANDLING) == co_handling and t.status == TaskStatus.DECIDED]


def _ended_in(tasks: list[Task]) -> dict:
    """What a conclusion reports of the stage it ended in (the last one opened): its number and its
    co-handling answers (the decisions of earlier stages were reported as each stage ended)."""
    stage = max((t.stage for t in tasks), default=0)
    return {"stage": stage, "co_handling_answers": _decisions([t for t in tasks if t.stage == stage], True)}
