"""Supervision's use cases: keep a clock per case and per step from the other services' events,
and scan for the warnings that fall due (yellow: urge the department; red: escalate; repeated red
in a month: a supervision suggestion)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.clock import Clock, PauseReason, local_day
from services.contracts import Envelope
from services.reference import Reference
from services.uow import UnitOfWork

from . import store
from .timing import marks

CASE, TASK, CO_HANDLING, COMMITMENT = "case", "task", "co_handling", "commitment"
_PAUSES = {"supplement": PauseReason.SUPPLEMENT, "special_procedure": PauseReason.SPECIAL_PROCEDURE,
           "suspension": PauseReason.SUSPENSION}


@dataclass
class Supervision:
    ref: Reference
    warn_share: float
    suggestion_after_reds: int

    def _open(self, uow, case: str, step: str, ref: str, department: str | None, start: dt.date, limit: int):
        clock = Clock(start, limit)
        store.open_clock(uow, case, step, ref, department, clock, marks(clock, self.ref.calendar, self.warn_share))

    def _change(self, uow, row: dict, change, holder: str | None = None, release: str | None = None) -> None:
        """Apply `change` (Clock -> Clock) to a clock row and recompute when it warns."""
        clock = change(store.clock_of(row))
        holders = [h for h in row["paused_by"] if h != release] + ([holder] if holder else [])
        store.save(uow, row["id"], clock, marks(clock, self.ref.calendar, self.warn_share), holders)

    # --- events --------------------------------------------------------------------------------

    def record(self, uow: UnitOfWork, envelope: Envelope) -> None:
        getattr(self, f"_on_{envelope.type}")(uow, envelope.case_number, envelope.payload,
                                              local_day(envelope.occurred_at))

    def _on_ApplicationAccepted(self, uow, case, p, day):
        accepted = dt.date.fromisoformat(p["accepted_on"])
        item = self.ref.catalogue.item(p["item_code"])
        self._open(uow, case, CASE, "", None, accepted, item.promised_limit_days)
        if p.get("commitment_deadline"):
            days = self.ref.calendar.between(accepted, dt.date.fromisoformat(p["commitment_deadline"]))
            self._open(uow, case, COMMITMENT, "", None, accepted, days)

    def _on_MaterialsSupplied(self, uow, case, p, day):
        if p["answers"] == "commitment":
            for row in store.clocks(uow, case, (COMMITMENT,)):
                self._finish(uow, row, day)

    def _on_StageOpened(self, uow, case, p, day):
        for task in p["tasks"]:
            self._open(uow, case, TASK, task["task_id"], task["department"], day, task["limit_days"])

    def _on_CoHandlingRequested(self, uow, case, p, day):
        for ask in p["asks"]:
            self._open(uow, case, CO_HANDLING, ask["task_id"], ask["department"], day, ask["limit_days"])
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

    def _on_SupplementRequested(self, uow, case, p, day):
        if not p["late"]:  # a late request's wait is the department's: its clock runs on
            self._pause(uow, case, p["task_id"], PauseReason.SUPPLEMENT, day)

    def _on_TaskPaused(self, uow, case, p, day):
        self._pause(uow, case, p["task_id"], _PAUSES[p["reason"]], day)

    def _on_TaskResumed(self, uow, case, p, day):
        self._resume(uow, case, p["task_id"], p["extension_days"], day)

    def _on_TaskDecided(self, uow, case, p, day):
        for row in store.clocks(uow, case, (TASK, CO_HANDLING), p["task_id"]):
            self._finish(uow, row, day)

    def _on_CaseConcluded(self, uow, case, p, day):
        for row in store.clocks(uow, case, (CASE, TASK, CO_HANDLING, COMMITMENT)):
            if row["stopped_on"] is None:
                self._finish(uow, row, day)

    def _on_ApplicationWithdrawn(self, uow, case, p, day):
        self._on_CaseConcluded(uow, case, p, day)

    def _finish(self, uow, row: dict, day: dt.date) -> None:
        if row["stopped_on"] is not None:
            return
        if row["deadline"] is not None and day <= row["deadline"]:
            store.withdraw_yellow(uow, row["id"], day)
        self._change(uow, row, lambda c: (c.resume(day) if c.paused else c).stop(day))

    # --- the scan ------------------------------------------------------------------------------

    def scan(self, uow: UnitOfWork, today: dt.date, limit: int = 200) -> int:
        """Raise the warnings due today; returns how many were raised."""
        raised = 0
        for row in store.due(uow, today, limit):
            colour = "red" if row["red_on"] is not None and row["red_on"] <= today else "yellow"
            if not store.raise_warning(uow, row, colour, today):
                continue
            raised += 1
            uow.emit("WarningRaised", row["case_number"], {"colour": colour, "step": row["step"],
                                                           "department": row["department"],
                                                           "deadline": row["deadline"]})
            if colour == "red" and row["department"]:
                reds = store.reds_this_month(uow, row["department"], today)
                if reds >= self.suggestion_after_reds:
                    store.suggest(uow, row["department"], today, reds)
        return raised

