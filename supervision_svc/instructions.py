"""督办: the supervision office acts on a warning by instructing the warned department, which
replies within a limit of working days. The reply has a clock of its own (step `instruction`), so a
reply left late warns in turn like any other step.

A warning on a case as a whole (or on its transfer) names no department: the instruction goes to
the item's department, which decides the case or coordinates its stages. A warning on a 容缺
commitment is the applicant's to answer, not a department's, and takes no instruction.
"""
from __future__ import annotations

from dataclasses import dataclass

from hall.holders import SUPERVISION_OFFICE
from services.access import Caller
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, Violations
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store
from .use_cases import COMMITMENT, INSTRUCTION, Supervision

TEXT_CHARS = 2000
MAX_REPLY_DAYS = 30


@dataclass
class Instructions:
    supervision: Supervision
    reply_days: int  # the default limit for a reply

    def instruct(self, uow: UnitOfWork, caller: Caller, warning_id: int, instruction: str,
                 reply_days: int = 0) -> dict:
        v = Violations()
        v.require(warning_id, "warning_id")
        v.require(instruction, "instruction", max_len=TEXT_CHARS)
        if not 0 <= reply_days <= MAX_REPLY_DAYS:
            v.add("reply_days", f"1 to {MAX_REPLY_DAYS} working days, or 0 for the default ({self.reply_days})")
        v.check()
        if caller.code != SUPERVISION_OFFICE:
            raise Forbidden("only the supervision office instructs on a warning")
        warning = self._warning(uow, warning_id)
        if warning["instructed_on"] is not None:
            if warning["instruction"] == instruction:  # the same call again: answered as the first time
                return warning
            raise NotAllowedNow(f"warning {warning_id} was instructed on {warning['instructed_on']}")
        if warning["withdrawn_on"] is not None:
            raise NotAllowedNow(f"warning {warning_id} was withdrawn on {warning['withdrawn_on']}: "
                                "the step ended in time")
        if warning["step"] == COMMITMENT:
            raise NotAllowedNow(f"warning {warning_id} is on the applicant's 容缺 commitment, not a department's work")
        department = warning["department"] or self._case_department(uow, warning)
        today = local_day(uow.time.now())
        reply_by = self.supervision.open_clock(uow, None, INSTRUCTION, str(warning_id), department, today,
                                               reply_days or self.reply_days)
        by = caller.actor()
        store.update_warning(uow, warning_id, department=department, instruction=instruction, instructed_on=today,
                             reply_by=reply_by, instructed_by=by)
        uow.emit("WarningInstructed", warning["case_number"], {
            "warning_id": warning_id, "colour": warning["colour"], "step": warning["step"],
            "department": department, "instruction": instruction, "reply_by": reply_by, "by": by})
        return store.warning(uow, warning_id)

    def reply(self, uow: UnitOfWork, caller: Caller, warning_id: int, reply: str) -> dict:
        v = Violations()
        v.require(warning_id, "warning_id")
        v.require(reply, "reply", max_len=TEXT_CHARS)
        v.check()
        warning = self._warning(uow, warning_id)
        if warning["department"] and caller.code != warning["department"]:
            raise Forbidden(f"warning {warning_id} is {warning['department']}'s to reply to")
        if warning["instructed_on"] is None:
            raise NotAllowedNow(f"warning {warning_id} has no instruction to reply to")
        if warning["replied_on"] is not None:
            if warning["reply"] == reply:
                return warning
            raise NotAllowedNow(f"warning {warning_id} was replied to on {warning['replied_on']}")
        today = local_day(uow.time.now())
        store.update_warning(uow, warning_id, reply=reply, replied_on=today, replied_by=caller.actor())
        self.supervision.finish(uow, INSTRUCTION, str(warning_id), today)
        return store.warning(uow, warning_id)

    @staticmethod
    def _warning(uow: UnitOfWork, warning_id: int) -> dict:
        warning = store.warning(uow, warning_id, lock=True)
        if warning is None:
            raise NotFound(f"no warning {warning_id}")
        return warning

    @staticmethod
    def _case_department(uow: UnitOfWork, warning: dict) -> str:
        facts = store.case(uow, warning["case_number"]) if warning["case_number"] else None
        if facts is None:  # every clock without a department belongs to a case supervision knows
            raise InvalidRequest([("warning_id", f"warning {warning['id']} names no department to instruct")])
        return facts["department"]

