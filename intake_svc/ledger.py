"""The proxy agent's use cases over a unit of work (代办制): the ledger of its own cases and the 办结反馈单
it records; the rules are in `agents`."""
from __future__ import annotations

from dataclasses import dataclass

from services.access import Caller
from services.timesource import local_day
from services.uow import UnitOfWork

from . import agents, store, window
from .use_cases import Intake


@dataclass
class AgentLedger:
    intake: Intake

    def list(self, uow: UnitOfWork, caller: Caller, view: agents.View, page_size: int, page_token: str) -> dict:
        """代办台账: a page of the agent's own cases in a view, newest first, with the counts of each view."""
        query = agents.ledger_query(caller, view, page_size, page_token)
        rows = store.list_agent_cases(uow, query)
        shown = rows[:query.size]
        token = window.page_token(shown[-1]["received_at"], shown[-1]["case_number"]) if len(rows) > query.size else ""
        ref, today = self.intake.ref, local_day(uow.time.now())
        return {"cases": [agents.ledger_row(r, query.agent, ref.catalogue, ref.calendar, today) for r in shown],
                "next_page_token": token, "counts": store.ledger_counts(uow, query.agent)}

    def record_card(self, uow: UnitOfWork, caller: Caller, case_number: str, card: agents.ResultCard) -> dict:
        """办结反馈单: recorded once on the case, in its history with who recorded it, and ResultCardSigned
        (supervision stops the agent's clock)."""
        row = self.intake._case(uow, case_number, caller, lock=True)
        if agents.may_record_card(caller, row, card, local_day(uow.time.now())):
            by = caller.actor()
            store.append(uow, case_number, "result_card_signed", caller.person or caller.code, {
                "signed_on": str(card.signed_on), "mark": card.mark, "agent": row["agent"]}, by=by, changes={
                "card_request_id": card.request_id, "card_signed_on": card.signed_on, "card_mark": card.mark})
            uow.emit("ResultCardSigned", case_number, {"agent": row["agent"], "organisation": row["organisation"],
                                                       "signed_on": card.signed_on, "mark": card.mark, "by": by})
        return self.intake.read(uow, caller, case_number)

    def hand_over(self, uow: UnitOfWork, caller: Caller, case_number: str, to_agent: str, note: str) -> dict:
        """The village agent hands a county matter to a township agent (乡级代办员): pending until confirmed,
        in the case history with who handed it over."""
        row = self.intake._case(uow, case_number, caller, lock=True)
        if agents.may_hand_over(caller, row, to_agent, note, self.intake.ref.org, self.intake.ref.catalogue):
            store.append(uow, case_number, "handed_over", caller.person or caller.code,
                         {"from_agent": row["agent"], "to_agent": to_agent, "note": note or ""}, by=caller.actor(),
                         changes={"handover_to": to_agent, "handover_note": note or None})
        return self.intake.read(uow, caller, case_number)

    def confirm_hand_over(self, uow: UnitOfWork, caller: Caller, case_number: str) -> dict:
        """The township agent confirms receiving the case and carries it from then on; in the case history."""
        row = self.intake._case(uow, case_number, caller, lock=True)
        if agents.may_confirm_hand_over(caller, row):
            store.append(uow, case_number, "handover_confirmed", caller.person or caller.code,
                         {"from_agent": row["agent"], "carrier": caller.code}, by=caller.actor(),
                         changes={"carrier": caller.code, "handover_to": None})
            _agents_changed(uow, row, {"carrier": caller.code}, caller)
        return self.intake.read(uow, caller, case_number)

    def carry_list(self, uow: UnitOfWork, caller: Caller, on_or_after: str) -> dict:
        """携带清单: a village agent's cases for its township centre's next fixed day, each with what goes there
        or comes back (agents.carry); those with nothing to carry are left out."""
        ref = self.intake.ref
        township = agents.village_agents_township(caller, ref.org)
        today = local_day(uow.time.now())
        start = agents.day_of(on_or_after, "on_or_after") if on_or_after else today
        day, before = agents.carry_days(start, ref.org.organisation(township).carry_weekdays())
        rows = []
        for row in store.active_agent_cases(uow, caller.code, agents.CARRY_LIMIT):
            listed = agents.ledger_row(row, caller.code, ref.catalogue, ref.calendar, today)
            listed["carry"] = agents.carry(row, listed["summary"]["owed"], ref.catalogue, before, day)
            if listed["carry"]:
                rows.append(listed)
        return {"carry_day": day, "previous_day": before, "township": township, "cases": rows}

    def reassign(self, uow: UnitOfWork, caller: Caller, from_agent: str, to_agent: str, reason: str) -> list[str]:
        """An agent leaving office (or its township's manager) gives every case it holds to another agent of
        the township; each case's history records it with who did it."""
        agents.may_reassign(caller, from_agent, to_agent, reason, self.intake.ref.org)
        moved = []
        for row in store.held_cases(uow, from_agent):
            changes = agents.reassigned(row, from_agent, to_agent)
            store.append(uow, row["case_number"], "agent_reassigned", caller.person or caller.code,
                         {"from_agent": from_agent, "to_agent": to_agent, "reason": reason}, by=caller.actor(),
                         changes=changes)
            if {"agent", "carrier"} & set(changes):  # not a hand-over still waiting for its confirmation
                _agents_changed(uow, row, changes, caller)
            moved.append(row["case_number"])
        return moved


def _agents_changed(uow: UnitOfWork, row: dict, changes: dict, caller: Caller) -> None:
    """CaseAgentsChanged: supervision counts the case for its agents and puts the card's clock on the agent
    who answers for it; notify texts that agent."""
    uow.emit("CaseAgentsChanged", row["case_number"], {
        "agent": changes.get("agent", row["agent"]), "carrier": changes.get("carrier", row["carrier"]),
        "organisation": row["organisation"], "by": caller.actor()})
