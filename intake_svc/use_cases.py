"""Intake's use cases over a unit of work: submit, supply materials, withdraw, read, track, the hall
board, and the case timeline kept from the events of routing and approval. The gRPC API and the bus
side both call these; the rules themselves are in `acceptance` and `board`."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass, field

from hall.domain import Application, CaseStatus, ProvidedMaterial
from hall.reference import Reference
from services.access import Caller
from services.contracts import Envelope
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, TooManyAttempts, Violations
from services.privacy import applicant_key, mask_id, mask_name, mask_phone
from services.timesource import CHINA, local_day
from services.uow import UnitOfWork

from . import fees, store, window
from .acceptance import (
    ClerkAnswer,
    ClerkChoice,
    certificate_problem,
    certificate_shape,
    check_materials,
    examine,
    first_contact,
    validate,
)
from .access import may_see_case, may_submit
from .board import Board, Counts, board, board_scope
from .history import canonical, verify

SOURCE = "intake"
OPEN = {CaseStatus.ACCEPTED.value, CaseStatus.ACCEPTED_WITH_COMMITMENT.value, CaseStatus.IN_HANDLING.value,
        CaseStatus.WAITING_SUPPLEMENT.value}


def _receipt(case_number: str | None, item_name: str, outcome: ClerkAnswer, accepted_on) -> dict:
    return {"case_number": case_number or "", "kind": outcome.kind, "item_name": item_name,
            "status": outcome.status.value if outcome.status else CaseStatus.CONSULTED.value,
            "accepted_on": str(accepted_on or ""), "promised_deadline": str(outcome.promised_deadline or ""),
            "commitment_deadline": str(outcome.commitment_deadline or ""), "reasons": list(outcome.reasons),
            "one_time_notice": [dataclasses.asdict(line) for line in outcome.notice]}


def _origin(organisation: str, channel: str, first_clerk: str, agent: str | None, project_code: str | None,
            id_number: str, item_code: str, accompanied_by: str | None = None) -> dict:
    return {"organisation": organisation, "channel": channel, "first_clerk": first_clerk, "agent": agent,
            "project_code": project_code, "applicant_key": applicant_key(id_number, item_code),
            "accompanied_by": accompanied_by}


def _contact(applicant: dict) -> dict:
    return {"name": applicant["name"], "phone": applicant["phone"], "email": applicant.get("email", "")}


def _request_hash(app: Application, choice: ClerkChoice = ClerkChoice()) -> str:
    """The digest that tells a retried request from another under the same request id; the clerk's own
    answer counts only when given, so that requests from before it hash as they did."""
    body = dataclasses.asdict(app)
    if body["accompanied_by"] is None:  # as requests from before 带领 was recorded hash
        del body["accompanied_by"]
    for material in body["materials"]:  # and those from before a certificate could be cited
        if material["certificate"] is None:
            del material["certificate"]
    if choice:
        body["clerk_choice"] = dataclasses.asdict(choice)
    return hashlib.sha256(canonical(body).encode()).hexdigest()


@dataclass(frozen=True)
class TrackLimits:
    """Failed guesses of the public Track allowed in a window, per case number (against guessing
    one applicant's 4 phone digits) and per client address (against trying many numbers)."""
    per_case: int = 5
    per_peer: int = 30
    window: dt.timedelta = dt.timedelta(hours=1)


@dataclass
class Intake:
    ref: Reference
    commitment_days: int
    track_limits: TrackLimits = field(default_factory=TrackLimits)

    # --- commands (API side) ---------------------------------------------------------------

    def submit(self, uow: UnitOfWork, caller: Caller, app: Application, choice: ClerkChoice = ClerkChoice()) -> dict:
        """Examine an application and answer with a receipt; one case (or one consultation) per request
        id. `choice`: the clerk's own answer, not to accept or a consultation, instead of the rules'."""
        may_submit(caller, app.organisation, app.agent)
        app = dataclasses.replace(app, first_clerk=first_contact(app.first_clerk, caller.person))
        item = validate(app, self.ref.catalogue, self.ref.org, choice)
        certificates = self._certificates(uow, item, app.materials, app.applicant.id_number)
        request_hash = _request_hash(app, choice)
        existing = store.case_by_request(uow, app.request_id)
        if existing:
            return self._same_request(existing, request_hash)
        if store.consultation_hash(uow, app.request_id) not in (None, "", request_hash):
            raise InvalidRequest([("request_id", "already used for a different application")])
        now = uow.time.now()
        today = local_day(now)
        outcome = examine(app, item, self.ref.org, self.ref.calendar, today, self.commitment_days, choice)
        by = caller.actor()
        if outcome.status is None:  # a consultation (咨询): answered and recorded, no case
            if store.insert_consultation(uow, app, now, request_hash):
                uow.emit("ConsultationAnswered", None, {
                    "item_code": item.code, "organisation": app.organisation, "channel": app.channel.value,
                    "first_clerk": app.first_clerk, "agent": app.agent, "answered_on": today, "by": by})
            return _receipt(None, item.name, outcome, None)
        number = store.next_case_number(uow, today)
        accepted_on = today if outcome.accepted else None
        receipt = _receipt(number, item.name, outcome, accepted_on)
        inserted = store.insert_case(uow, {
            "case_number": number, "request_id": app.request_id, "request_hash": request_hash,
            "item_code": item.code, "item_name": item.name, "kind": outcome.kind, "status": outcome.status.value,
            "level": outcome.level.value, "organisation": app.organisation, "channel": app.channel.value,
            "first_clerk": app.first_clerk, "agent": app.agent, "accompanied_by": app.accompanied_by,
            "applicant": dataclasses.asdict(app.applicant),
            "application": {"form": app.form, "project_code": app.project_code, "consent_ref": app.consent_ref,
                            "commitment_signed": app.commitment_signed}
            | ({"certificates": certificates} if certificates else {}),
            "receipt": receipt, "provided": {m.code: m.defect or None for m in app.materials},
            "received_at": now, "accepted_on": accepted_on,
            # 建档 at once for a case not accepted: nothing more will happen to it
            "archived_at": now if outcome.status == CaseStatus.NOT_ACCEPTED else None, "promised_deadline": outcome.promised_deadline,
            "commitment_deadline": outcome.commitment_deadline,
            "promised_materials": list(outcome.promised_materials)})
        if not inserted:  # the same request arrived twice at once: the first one's receipt
            return self._same_request(store.case_by_request(uow, app.request_id), request_hash)
        actor = app.agent or app.first_clerk
        received = {"channel": app.channel.value, "organisation": app.organisation, "first_clerk": app.first_clerk,
                    "agent": app.agent} | ({"accompanied_by": app.accompanied_by} if app.accompanied_by else {})
        if certificates:  # 村委会证明、意见 standing for materials, by their case numbers
            received["certificates"] = certificates
        store.append(uow, number, "received", actor, received, by=by)
        self._announce(uow, number, item.code, outcome, _origin(app.organisation, app.channel.value, app.first_clerk,
                                                               app.agent, app.project_code, app.applicant.id_number,
                                                               item.code, app.accompanied_by),
                       today, actor, _contact(dataclasses.asdict(app.applicant)), by)
        return receipt

    def _certificates(self, uow: UnitOfWork, item, materials, id_number: str) -> dict[str, str]:
        """{material code: case number} of the village committee's certificates cited for materials, each
        checked against its case (acceptance.certificate_problem); every problem at once."""
        found, problems = {}, []
        for i, material in enumerate(materials):
            if not material.certificate:
                continue
            cited = store.load_case(uow, material.certificate)
            problem = certificate_problem(item.material(material.code), material.certificate, cited, id_number)
            if problem:
                problems.append((f"materials[{i}].certificate", problem))
            found[material.code] = material.certificate
        if problems:
            raise InvalidRequest(problems)
        return found

    def _same_request(self, row: dict, request_hash: str) -> dict:
        if row["request_hash"] != request_hash:
            raise InvalidRequest([("request_id", "already used for a different application")])
        return row["receipt"]

    def _announce(self, uow: UnitOfWork, number: str, item_code: str, outcome: ClerkAnswer, origin: dict,
                  today, actor: str, contact: dict, by: dict) -> None:
        """The history entry and the event of an outcome; `origin` says where the case came in, `by`
        who examined it."""
        status = outcome.status
        if status == CaseStatus.NOT_ACCEPTED:
            store.append(uow, number, "not_accepted", actor, {"reasons": list(outcome.reasons)}, by=by)
            uow.emit("ApplicationRejected", number, {"item_code": item_code, "organisation": origin["organisation"],
                                                     "reasons": list(outcome.reasons), "contact": contact, "by": by})
        elif status == CaseStatus.SUPPLEMENT_REQUIRED:
            notice = [dataclasses.asdict(line) for line in outcome.notice]
            store.append(uow, number, "one_time_notice", actor, {"materials": notice}, by=by)
            uow.emit("SupplementNoticeIssued", number, {
                "item_code": item_code, "organisation": origin["organisation"],
                "missing": [n.material_code for n in outcome.notice if n.problem == "missing"],
                "defective": {n.material_code: n.problem for n in outcome.notice if n.problem != "missing"},
                "contact": contact, "by": by})
        else:
            store.append(uow, number, "accepted", actor, {
                "promised_deadline": str(outcome.promised_deadline),
                "commitment": list(outcome.promised_materials),
                "commitment_deadline": str(outcome.commitment_deadline or "")}, by=by)
            uow.emit("ApplicationAccepted", number, {
                "item_code": item_code, "kind": outcome.kind, "level": outcome.level.value, **origin,
                "accepted_on": today,
                "promised_deadline": outcome.promised_deadline,
                "commitment_deadline": outcome.commitment_deadline,
                "promised_materials": list(outcome.promised_materials), "contact": contact, "by": by})

    def supply_materials(self, uow: UnitOfWork, caller: Caller, case_number: str, materials: list[ProvidedMaterial],
                         clerk: str) -> dict:
        """Materials the applicant brings: for a one-time notice, a department's request or a commitment."""
        row = self._case(uow, case_number, caller, lock=True)
        item = self.ref.catalogue.item(row["item_code"])
        problems, seen = [], set()
        for i, m in enumerate(materials):
            if item.material(m.code) is None:
                problems.append((f"materials[{i}].code", f"item {item.code} has no material {m.code!r}"))
            elif m.code in seen:
                problems.append((f"materials[{i}].code", f"material {m.code!r} listed twice"))
            seen.add(m.code)
            if len(m.defect or "") > 500:
                problems.append((f"materials[{i}].defect", "at most 500 characters"))
            if m.certificate is not None:
                shape = Violations()
                certificate_shape(shape, i, m, item)
                problems += shape.items
        if not materials:
            problems.append(("materials", "at least one material"))
        if len(clerk) > 64:
            problems.append(("clerk", "at most 64 characters"))
        if problems:
            raise InvalidRequest(problems)
        certificates = self._certificates(uow, item, materials, row["applicant"]["id_number"])
        clerk = first_contact(clerk, caller.person, "clerk")
        by = caller.actor()
        provided = {**row["provided"], **{m.code: m.defect or None for m in materials}}
        cited = {"certificates": certificates} if certificates else {}
        if certificates:
            store.update_case(uow, case_number, application={
                **row["application"], "certificates": {**row["application"].get("certificates", {}), **certificates}})
        codes = [m.code for m in materials]
        today = local_day(uow.time.now())
        actor = clerk or "applicant"
        if row["status"] == CaseStatus.SUPPLEMENT_REQUIRED.value:
            outcome = check_materials(item, provided, row["application"]["commitment_signed"],
                                      self.ref.org.organisation(row["organisation"]).level,
                                      self.ref.calendar, today, self.commitment_days)
            accepted_on = today if outcome.accepted else None
            receipt = _receipt(case_number, item.name, outcome, accepted_on)
            store.update_case(uow, case_number, provided=provided, status=outcome.status.value, receipt=receipt,
                              accepted_on=accepted_on, promised_deadline=outcome.promised_deadline,
                              commitment_deadline=outcome.commitment_deadline,
                              promised_materials=list(outcome.promised_materials))
            store.append(uow, case_number, "materials_supplied", actor, {"materials": codes, **cited}, by=by)
            if outcome.accepted:
                origin = _origin(row["organisation"], row["channel"], row["first_clerk"], row["agent"],
                                 row["application"]["project_code"], row["applicant"]["id_number"], item.code,
                                 row["accompanied_by"])
                self._announce(uow, case_number, item.code, outcome, origin, today, actor, _contact(row["applicant"]),
                               by)
            return receipt
        pending = row["pending_supplement"]
        if row["status"] == CaseStatus.WAITING_SUPPLEMENT and pending:
            missing = sorted(set(pending["materials"]) - {c for c, d in provided.items() if not d})
            if missing:
                raise InvalidRequest([("materials", f"the department asked for {', '.join(missing)}")])
            store.update_case(uow, case_number, provided=provided, status=CaseStatus.IN_HANDLING.value, pending_supplement=None)
            store.append(uow, case_number, "materials_supplied", actor,
                         {"materials": codes, "for": "department", **cited}, by=by)
            uow.emit("MaterialsSupplied", case_number, {"materials": codes, "answers": "department",
                                                         "task_id": pending["task_id"], "by": by})
            return row["receipt"]
        if row["status"] in OPEN and row["promised_materials"]:
            still = [c for c in row["promised_materials"] if c not in provided or provided[c]]
            store.update_case(uow, case_number, provided=provided, promised_materials=still)
            store.append(uow, case_number, "materials_supplied", actor,
                         {"materials": codes, "for": "commitment", **cited}, by=by)
            if not still:
                uow.emit("MaterialsSupplied", case_number, {"materials": codes, "answers": "commitment", "by": by})
            return row["receipt"]
        raise NotAllowedNow(f"case {case_number} is {row['status']}: no material is awaited")

    def withdraw(self, uow: UnitOfWork, caller: Caller, case_number: str, reason: str, phone_last4: str) -> dict:
        row = self._case(uow, case_number, caller, lock=True)
        if not phone_last4 or not row["applicant"]["phone"].endswith(phone_last4) or len(phone_last4) != 4:
            raise Forbidden("only the applicant may withdraw: the phone digits do not match")
        if row["status"] not in OPEN | {CaseStatus.SUPPLEMENT_REQUIRED.value}:
            raise NotAllowedNow(f"case {case_number} is {row['status']}: it can no longer be withdrawn")
        v = Violations()
        v.require(reason, "reason", 2000)
        v.check()
        store.update_case(uow, case_number, status=CaseStatus.WITHDRAWN.value, archived_at=uow.time.now())
        by = caller.actor()
        store.append(uow, case_number, "withdrawn", "applicant", {"reason": reason}, by=by)
        uow.emit("ApplicationWithdrawn", case_number, {"reason": reason, "by": by})
        return self.read(uow, caller, case_number)

    # --- queries ---------------------------------------------------------------------------

    def _case(self, uow: UnitOfWork, case_number: str, caller: Caller | None = None, lock: bool = False) -> dict:
        """The case, for a caller allowed to see it (None: the system itself)."""
        row = store.load_case(uow, case_number, lock) if case_number else None
        if row is None:
            raise NotFound(f"no case {case_number!r}")
        if caller is not None:
            may_see_case(caller, row["organisation"], row["agent"], self.ref.org.centres_over(row["organisation"]),
                         (row["carrier"], row["handover_to"], row["accompanied_by"]))
        return row

    def read(self, uow: UnitOfWork, caller: Caller, case_number: str) -> dict:
        """The whole case for staff, with what its printed documents need (window.documents)."""
        row = self._case(uow, case_number, caller)
        return {**row, **window.documents(row, self.ref), "history": store.history(uow, case_number)}

    def list_cases(self, uow: UnitOfWork, caller: Caller, accepted_on: str, waiting: bool, page_size: int,
                   page_token: str) -> dict:
        """The desk's own cases (本窗口今日), a page of them newest first (window.case_query), with the
        total of a day's or of those waiting."""
        query = window.case_query(caller, accepted_on, waiting, page_size, page_token)
        rows, total = store.list_cases(uow, query)
        shown = rows[:query.size]
        token = window.page_token(shown[-1]["received_at"], shown[-1]["case_number"]) if len(rows) > query.size else ""
        return {"cases": [window.summary(r, self.ref.catalogue) for r in shown], "next_page_token": token,
                "total": total}

    def record_fee(self, uow: UnitOfWork, caller: Caller, case_number: str, pay: fees.FeePayment) -> dict:
        """一次性收费 on a case of the caller's organisation (fees.collect), in its history with who
        collected it, and FeeCollected; the same request again answers the same."""
        row = self._case(uow, case_number, caller, lock=True)
        if fees.collect(pay, self.ref.catalogue.item(row["item_code"]), row):
            now = uow.time.now()
            by = caller.actor()
            store.append(uow, case_number, "fee_collected", caller.person or caller.code, {
                "amount_yuan": fees.yuan(pay.amount_fen), "receipt_number": pay.receipt_number,
                "reduction_reason": pay.reduction_reason}, by=by, changes={
                "fee_request_id": pay.request_id, "fee_collected_fen": pay.amount_fen,
                "fee_receipt_number": pay.receipt_number, "fee_reduction_reason": pay.reduction_reason or None,
                "fee_collected_at": now})
            uow.emit("FeeCollected", case_number, {
                "item_code": row["item_code"], "organisation": row["organisation"], "amount_fen": pay.amount_fen,
                "receipt_number": pay.receipt_number, "collected_on": local_day(now), "by": by})
        return self.read(uow, caller, case_number)

    def track(self, uow: UnitOfWork, case_number: str, phone_last4: str, peer: str) -> dict | None:
        """The applicant's view: found only with the right phone digits, personal data masked; the
        steps without the persons who took them, the responsible window by its name and public phone.

        None for a wrong number or digits, recorded as a failed guess of `peer` (the caller commits
        it and answers NOT_FOUND); past the limits every answer is TooManyAttempts for a while.
        """
        limits = self.track_limits
        by_case, by_peer = store.failed_guesses(uow, case_number, peer, uow.time.now() - limits.window)
        if by_case >= limits.per_case or by_peer >= limits.per_peer:
            raise TooManyAttempts("too many failed attempts: try again later, or ask at any service window")
        row = store.load_case(uow, case_number) if case_number else None
        if row is None or len(phone_last4) != 4 or not row["applicant"]["phone"].endswith(phone_last4):
            store.record_failed_guess(uow, case_number, peer, uow.time.now() - limits.window)
            return None
        applicant = row["applicant"]
        steps = sorted((e.data["at"], _PUBLIC.get(e.data["kind"], e.data["kind"]))
                       for e in store.history(uow, case_number))
        window = self.ref.org.organisation(row["organisation"])
        return {**row, "applicant_name": mask_name(applicant["name"]), "id_number": mask_id(applicant["id_number"]),
                "phone": mask_phone(applicant["phone"]), "steps": steps, "window": window.name if window else "",
                "window_phone": self.ref.org.public_phone(row["organisation"])}

    def board(self, uow: UnitOfWork, centre: str) -> Board:
        """The hall board (大屏): today's counts by centre and accepting organisation, of every centre
        or of `centre` and those under it; one query, cheap enough to be polled every few seconds."""
        scope = board_scope(self.ref.org, centre)
        now = uow.time.now()
        today = local_day(now)
        start = dt.datetime.combine(today, dt.time(), CHINA)
        rows = store.board_counts(uow, today, start, start + dt.timedelta(days=1), sorted(OPEN))
        return board(self.ref.org, scope, {code: Counts(*numbers) for code, *numbers in rows}, today, now, centre)

    def verify(self, uow: UnitOfWork, case_number: str) -> list[str]:
        row = self._case(uow, case_number)
        return verify(case_number, store.history(uow, case_number), row["history_seq"], row["history_head"])

    # --- the timeline from other services' events (bus side) --------------------------------

    def routed(self, uow: UnitOfWork, envelope: Envelope) -> None:
        self._append(uow, envelope, "routed", lambda status: {"status": CaseStatus.IN_HANDLING.value} if status in OPEN else {})

    def stage_opened(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """A stage's tasks sent out; first, each decision and co-handling answer of the stage before."""
        p = envelope.payload
        self._append(uow, envelope, "stage_opened",
                     decided=_decided(envelope, p.get("previous_decisions", []), p.get("co_handling_answers", [])))

    def supplement_requested(self, uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload

        def waiting(status):
            if status not in OPEN:
                return {}
            return {"status": CaseStatus.WAITING_SUPPLEMENT.value,
                    "pending_supplement": {"task_id": p["task_id"], "department": p["department"],
                                           "materials": [m["code"] for m in p["materials"]]}}
        self._append(uow, envelope, "supplement_requested", waiting)

    def task_paused(self, uow: UnitOfWork, envelope: Envelope) -> None:
        self._append(uow, envelope, "task_paused")

    def task_resumed(self, uow: UnitOfWork, envelope: Envelope) -> None:
        self._append(uow, envelope, "task_resumed")

    def co_handling_requested(self, uow: UnitOfWork, envelope: Envelope) -> None:
        self._append(uow, envelope, "co_handling_requested")

    def task_claimed(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """签收: a person (or a department's system) took the task."""
        self._append(uow, envelope, "task_claimed")

    def task_pooled(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """Neither A nor B of the handler post was there: the task waits in its organisation's pool."""
        self._append(uow, envelope, "task_pooled")

    def task_moved(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """The centre manager gave an open task to another holder."""
        self._append(uow, envelope, "task_moved")

    def decision_proposed(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """拟办: the handler's proposal, waiting for the item's sign-off chain."""
        self._append(uow, envelope, "decision_proposed")

    def decision_signed(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """An approver or checker agreed to the proposal, or sent it back."""
        self._append(uow, envelope, "decision_signed")

    def concluded(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """办结, and 建档: the record is complete from here on. First, each decision and co-handling
        answer of the stage it ended in (an event from before names no stage: none)."""
        p = envelope.payload
        stage = p.get("stage")
        self._append(uow, envelope, "concluded", lambda status: {
            "status": CaseStatus.CONCLUDED.value, "result": p["result"], "pending_supplement": None,
            "archived_at": uow.time.now()},
            decided=_decided(envelope, [d for d in p["decisions"] if d["stage"] == stage],
                             [a for a in p.get("co_handling_answers", []) if a["stage"] == stage]))

    def notice_delivered(self, uow: UnitOfWork, envelope: Envelope) -> None:
        self._append(uow, envelope, "notice_delivered")

    def _append(self, uow: UnitOfWork, envelope: Envelope, kind: str, changes=lambda status: {},
                decided: list[store.Act] = ()) -> None:
        """Append an event of another service to the case history, with the status change it makes.
        Who did the act is the event's `by` when it names one (an event from before posts were
        recorded does not): the entry's own, not repeated in its detail; the entry's actor is then
        the person's staff number, as a signed-in clerk's is on intake's own acts, else the
        department or the service."""
        number, p = envelope.case_number, envelope.payload
        head = store.lock_head(uow, number)
        if head is None:
            raise NotFound(f"{envelope.type} for unknown case {number}")  # retried, then dead-lettered
        store.append_all(uow, number, [*decided, _act(kind, p, envelope.source, envelope.occurred_at)],
                         changes(head.status), head)


def _act(kind: str, p: dict, source: str, at) -> store.Act:
    """A history entry of another service's act: the person of its `by`, kept out of its detail."""
    by = p.get("by")
    actor = (by or {}).get("person") or p.get("department") or source
    detail = {k: v for k, v in p.items() if k != "by"} if "by" in p else p
    return store.Act(kind, actor, detail, at, by)


def _decided(envelope: Envelope, decisions: list[dict], answers: list[dict]) -> list[store.Act]:
    """Each department's decision (by its handler, with the approver and checker who signed it
    off in `signed_off`) and each co-handler's answer that an event reports, as entries of their
    own at the time they were made. Reported with a stage's end rather than each by itself: one
    message per stage instead of one per department."""
    def at(record):
        return dt.datetime.fromisoformat(record["decided_at"]) if record.get("decided_at") else envelope.occurred_at
    return ([_act("decided", d, envelope.source, at(d)) for d in decisions]
            + [_act("co_handling_answered", a, envelope.source, at(a)) for a in answers])


_PUBLIC = {"received": "已收件", "accepted": "已受理", "one_time_notice": "一次性告知：请补齐材料",
           "not_accepted": "不予受理", "materials_supplied": "已补交材料", "routed": "已转办",
           "stage_opened": "部门审批中", "supplement_requested": "部门要求补正材料", "task_paused": "特别程序或中止",
           "task_resumed": "恢复办理", "co_handling_requested": "协办中", "task_pooled": "待分配承办人", "task_claimed": "部门已签收",
           "task_moved": "部门调整承办人", "decision_proposed": "已拟办，待审核签批", "decision_signed": "审核签批",
           "decided": "部门已作出审批决定", "co_handling_answered": "协办部门已答复",
           "concluded": "已办结", "withdrawn": "已撤回", "notice_delivered": "已发送通知",
           "fee_collected": "已缴费", "result_card_signed": "已签收办理结果（代办员送达）",
           "handed_over": "村代办员已移交乡级代办员", "handover_confirmed": "乡级代办员已接收，代为办理",
           "agent_reassigned": "代办员变更"}
