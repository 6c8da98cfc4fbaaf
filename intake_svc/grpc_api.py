"""The intake gRPC API (onewindow.intake.v1): parse the request, run the use case, answer."""
from __future__ import annotations

import datetime as dt

from onewindow.intake.v1 import intake_pb2 as pb
from onewindow.intake.v1 import intake_pb2_grpc

from hall.domain import Applicant, Application, Channel, ProvidedMaterial
from hall.wiring import ApiWiring
from services.access import Credentials
from services.errors import InvalidRequest, NotFound
from services.grpcutil import add_servicer, rpc
from services.timesource import SystemTime, TimeSource, local_day

from . import agents, fees
from .acceptance import ClerkChoice
from .access import QUIET, ROLES
from .board import BoardRow, Counts
from .guide import Guide, GuideItem
from .ledger import AgentLedger
from .settings import IntakeSettings
from .use_cases import SOURCE, Intake, TrackLimits

SETTINGS, PORT_SETTING = IntakeSettings, "intake_port"
_CHANNELS = {pb.WINDOW: Channel.WINDOW, pb.VILLAGE_ROOM: Channel.VILLAGE_ROOM,
             pb.PROXY_AGENT: Channel.PROXY_AGENT, pb.ONLINE: Channel.ONLINE}
_KINDS = {"immediate": pb.IMMEDIATE, "promised": pb.PROMISED, "joint": pb.JOINT, "reported": pb.REPORTED,
          "returned": pb.RETURNED}
_STATUSES = {"accepted": pb.ACCEPTED, "accepted_with_commitment": pb.ACCEPTED_WITH_COMMITMENT,
             "supplement_required": pb.SUPPLEMENT_REQUIRED, "not_accepted": pb.NOT_ACCEPTED, "consulted": pb.CONSULTED}


def _materials(items) -> list[ProvidedMaterial]:
    return [ProvidedMaterial(m.code, m.defect or None, m.certificate or None) for m in items]


def application(request: pb.SubmitRequest) -> Application:
    if request.channel not in _CHANNELS:
        raise InvalidRequest([("channel", "one of WINDOW, VILLAGE_ROOM, PROXY_AGENT, ONLINE")])
    a = request.applicant
    return Application(
        item_code=request.item_code, applicant=Applicant(a.name, a.id_number, a.phone, a.email),
        channel=_CHANNELS[request.channel], organisation=request.organisation, first_clerk=request.first_clerk,
        materials=tuple(_materials(request.materials)), form=dict(request.form), agent=request.agent or None,
        consent_ref=request.consent_ref or None, project_code=request.project_code or None,
        request_id=request.request_id, commitment_signed=request.commitment_signed,
        accompanied_by=request.accompanied_by or None)


def clerk_choice(request: pb.SubmitRequest) -> ClerkChoice:
    return ClerkChoice(tuple(request.refusal_reasons), request.consultation)


def _owed(materials) -> list[pb.OwedMaterial]:
    return [pb.OwedMaterial(code=code, name=name, owed_for=why) for code, name, why in materials]


def receipt(r: dict) -> pb.Receipt:
    return pb.Receipt(case_number=r["case_number"], kind=_KINDS[r["kind"]], status=_STATUSES[r["status"]],
                      accepted_on=r["accepted_on"], promised_deadline=r["promised_deadline"],
                      commitment_deadline=r["commitment_deadline"], reasons=r["reasons"], item_name=r["item_name"],
                      one_time_notice=[pb.NoticeLine(**line) for line in r["one_time_notice"]])


def actor(by: dict) -> pb.Actor:
    return pb.Actor(staff_number=by.get("person", ""), name=by.get("name", ""), post=by.get("post", ""),
                    organisation=by.get("organisation", ""), holder=by.get("holder", ""))


def history_entry(e) -> pb.HistoryEntry:
    data = e.data
    detail = data["detail"] if isinstance(data["detail"], dict) else {}
    return pb.HistoryEntry(seq=e.seq, at=data["at"], kind=data["kind"], actor=data["actor"] or "",
                           detail_json=e.body, hash=e.hash, prev_hash=e.prev_hash,
                           by=actor(data["by"]) if data.get("by") else None,
                           signed_off=[actor(a) for a in detail.get("signed_off") or ()])


def case_view(row: dict) -> pb.CaseView:
    a = row["applicant"]
    cited = row["application"].get("certificates", {})  # 村委会证明、意见 standing for materials
    return pb.CaseView(
        case_number=row["case_number"], item_code=row["item_code"], item_name=row["item_name"],
        kind=_KINDS[row["kind"]], status=row["status"], level=row["level"], organisation=row["organisation"],
        channel={v.value: k for k, v in _CHANNELS.items()}[row["channel"]],
        applicant=pb.Applicant(name=a["name"], id_number=a["id_number"], phone=a["phone"], email=a.get("email", "")),
        received_at=row["received_at"].isoformat(), accepted_on=str(row["accepted_on"] or ""),
        promised_deadline=str(row["promised_deadline"] or ""), result=row["result"] or "",
        archived=row["archived_at"] is not None,
        history=[history_entry(e) for e in row["history"]],
        window=row["window"], window_phone=row["window_phone"],
        commitment_deadline=str(row["commitment_deadline"] or ""),
        one_time_notice=[pb.NoticeLine(**line) for line in row["receipt"]["one_time_notice"]],
        reasons=row["receipt"]["reasons"],
        materials=[pb.ProvidedMaterial(code=code, defect=defect or "", certificate=cited.get(code, ""))
                   for code, defect in row["materials"]],
        promised_materials=[code for code, _ in row["promised"]],
        form=row["application"]["form"],
        first_clerk=row["first_clerk"], agent=row["agent"] or "", consent_ref=row["application"]["consent_ref"] or "",
        project_code=row["application"]["project_code"] or "", fee_yuan=row["fee_yuan"], fee_basis=row["fee_basis"],
        fee_collected_yuan=row["fee_collected_yuan"], fee_receipt_number=row["fee_receipt_number"] or "",
        fee_reduction_reason=row["fee_reduction_reason"] or "",
        fee_collected_on=str(local_day(row["fee_collected_at"])) if row["fee_collected_at"] else "",
        owed=_owed(row["owed"]), card_signed_on=str(row.get("card_signed_on") or ""),
        card_mark=row.get("card_mark") or "", carrier=row.get("carrier") or "",
        handover_to=row.get("handover_to") or "", accompanied_by=row.get("accompanied_by") or "")


def case_summary(row: dict) -> pb.CaseSummary:
    return pb.CaseSummary(
        case_number=row["case_number"], item_code=row["item_code"], item_name=row["item_name"],
        kind=_KINDS[row["kind"]], status=row["status"], received_at=row["received_at"].isoformat(),
        accepted_on=str(row["accepted_on"] or ""), promised_deadline=str(row["promised_deadline"] or ""),
        commitment_deadline=str(row["commitment_deadline"] or ""), applicant_name=row["applicant_name"],
        id_number=row["id_number"], phone=row["phone"], first_clerk=row["first_clerk"], agent=row["agent"] or "",
        owed=_owed(row["owed"]))


_VIEWS = {pb.LEDGER_VIEW_UNSPECIFIED: agents.View.ALL, pb.LEDGER_OPEN: agents.View.OPEN,
          pb.LEDGER_WAITING: agents.View.WAITING, pb.LEDGER_CONCLUDED: agents.View.CONCLUDED}
_MARKS = {pb.SIGNATURE: "signature", pb.THUMBPRINT: "thumbprint"}


def agent_case(row: dict) -> pb.AgentCase:
    return pb.AgentCase(summary=case_summary(row["summary"]), days_used=row["days_used"], limit_days=row["limit_days"],
                        waiting_for=row["waiting_for"], ended_on=str(row["ended_on"] or ""), result=row["result"],
                        card_signed_on=str(row["card_signed_on"] or ""), role=row["role"],
                        carry=row.get("carry", []))


def guide_item(item: GuideItem) -> pb.GuideItem:
    return pb.GuideItem(
        code=item.code, name=item.name, department=item.department, department_name=item.department_name,
        kind=_KINDS[item.kind], legal_limit_days=item.legal_limit_days, promised_limit_days=item.promised_limit_days,
        fee_yuan=item.fee_yuan, fee_basis=item.fee_basis, legal_basis=item.legal_basis,
        materials=[pb.GuideMaterial(code=m.code, name=m.name, essential=m.essential, copies=m.copies,
                                    certificate=m.certificate) for m in item.materials],
        agent_may_carry=item.agent_may_carry, levels=item.levels, decided_at=item.decided_at,
        consult_only=item.consult_only, requires_project_code=item.requires_project_code,
        stages=[pb.GuideStage(name=s.name, lead=s.lead, departments=s.departments, limit_days=s.limit_days)
                for s in item.stages],
        fields=[pb.GuideField(code=f.code, label=f.label, required=f.required, max_length=f.max_length)
                for f in item.fields])


def _counts(c: Counts) -> pb.BoardCounts:
    return pb.BoardCounts(accepted_today=c.accepted_today, in_handling=c.in_handling,
                          concluded_today=c.concluded_today, overdue=c.overdue)


def _board_row(row: BoardRow) -> pb.BoardRow:
    return pb.BoardRow(code=row.code, name=row.name, centre=row.centre, counts=_counts(row.counts))


class IntakeApi(intake_pb2_grpc.IntakeServicer):
    API = "intake"
    ROLES = ROLES
    QUIET = QUIET

    def __init__(self, intake: Intake, guide: Guide, unit_of_work, credentials: Credentials):
        self.intake = intake
        self.ledger = AgentLedger(intake)
        self.guide = guide
        self.unit_of_work = unit_of_work
        self.credentials = credentials

    @rpc
    def Submit(self, request, context, caller):
        app = application(request)
        with self.unit_of_work() as uow:
            return receipt(self.intake.submit(uow, caller, app, clerk_choice(request)))

    @rpc
    def SupplyMaterials(self, request, context, caller):
        with self.unit_of_work() as uow:
            return receipt(self.intake.supply_materials(uow, caller, request.case_number,
                                                        _materials(request.materials), request.clerk))

    @rpc
    def Withdraw(self, request, context, caller):
        with self.unit_of_work() as uow:
            return case_view(self.intake.withdraw(uow, caller, request.case_number, request.reason,
                                                  request.phone_last4))

    @rpc
    def GetCase(self, request, context, caller):
        with self.unit_of_work() as uow:
            return case_view(self.intake.read(uow, caller, request.case_number))

    @rpc
    def Track(self, request, context, caller):
        with self.unit_of_work() as uow:
            row = self.intake.track(uow, request.case_number, request.phone_last4, caller.client)
        if row is None:  # the failed guess is committed before the answer
            raise NotFound("no case with this number and phone")
        return pb.PublicCaseView(
            case_number=row["case_number"], item_name=row["item_name"], status=row["status"],
            applicant_name=row["applicant_name"], id_number=row["id_number"], phone=row["phone"],
            promised_deadline=str(row["promised_deadline"] or ""), result=row["result"] or "",
            steps=[pb.PublicStep(at=at, summary=summary) for at, summary in row["steps"]],
            window=row["window"], window_phone=row["window_phone"])

    @rpc
    def ListItems(self, request, context, caller):
        page = self.guide.page(request.query, request.department, request.page_size, request.page_token)
        return pb.ListItemsReply(items=[guide_item(i) for i in page.items], next_page_token=page.next_page_token,
                                 total=page.total, departments=[pb.GuideDepartment(code=code, name=name)
                                                                for code, name in page.departments])

    @rpc
    def GetItem(self, request, context, caller):
        return guide_item(self.guide.item(request.code))

    @rpc
    def GetBoard(self, request, context, caller):
        with self.unit_of_work() as uow:
            b = self.intake.board(uow, request.centre)
        return pb.Board(day=str(b.day), as_of=b.as_of.isoformat(timespec="seconds"), total=_counts(b.total),
                        centres=[_board_row(r) for r in b.centres], windows=[_board_row(r) for r in b.windows])


    @rpc
    def ListCases(self, request, context, caller):
        with self.unit_of_work() as uow:
            page = self.intake.list_cases(uow, caller, request.accepted_on, request.waiting, request.page_size,
                                          request.page_token)
        return pb.ListCasesReply(cases=[case_summary(r) for r in page["cases"]],
                                 next_page_token=page["next_page_token"], total=page["total"])

    @rpc
    def RecordFee(self, request, context, caller):
        pay = fees.payment(request.request_id, request.case_number, request.amount_yuan, request.receipt_number,
                           request.reduction_reason)
        with self.unit_of_work() as uow:
            return case_view(self.intake.record_fee(uow, caller, request.case_number, pay))

    @rpc
    def ListAgentCases(self, request, context, caller):
        if request.view not in _VIEWS:
            raise InvalidRequest([("view", "one of LEDGER_OPEN, LEDGER_WAITING, LEDGER_CONCLUDED, or unset")])
        with self.unit_of_work() as uow:
            page = self.ledger.list(uow, caller, _VIEWS[request.view], request.page_size, request.page_token)
        open_, waiting, concluded = page["counts"]
        return pb.ListAgentCasesReply(cases=[agent_case(r) for r in page["cases"]],
                                      next_page_token=page["next_page_token"],
                                      counts=pb.LedgerCounts(open=open_, waiting=waiting, concluded=concluded))

    @rpc
    def RecordResultCard(self, request, context, caller):
        card = agents.result_card(request.request_id, request.signed_on, _MARKS.get(request.mark, ""))
        with self.unit_of_work() as uow:
            return case_view(self.ledger.record_card(uow, caller, request.case_number, card))

    @rpc
    def HandOver(self, request, context, caller):
        with self.unit_of_work() as uow:
            return case_view(self.ledger.hand_over(uow, caller, request.case_number, request.to_agent,
                                                   request.note))

    @rpc
    def ReassignAgentCases(self, request, context, caller):
        with self.unit_of_work() as uow:
            moved = self.ledger.reassign(uow, caller, request.from_agent, request.to_agent, request.reason)
        return pb.ReassignAgentCasesReply(case_numbers=moved)

    @rpc
    def GetCarryList(self, request, context, caller):
        with self.unit_of_work() as uow:
            found = self.ledger.carry_list(uow, caller, request.on_or_after)
        return pb.CarryList(carry_day=str(found["carry_day"]), previous_day=str(found["previous_day"]),
                            township=found["township"], cases=[agent_case(r) for r in found["cases"]])

    @rpc
    def ConfirmHandOver(self, request, context, caller):
        with self.unit_of_work() as uow:
            return case_view(self.ledger.confirm_hand_over(uow, caller, request.case_number))


def build(settings: IntakeSettings, server, time: TimeSource | None = None) -> ApiWiring:
    wiring = ApiWiring.open(settings, SOURCE, time)
    limits = TrackLimits(settings.track_failures_per_case, settings.track_failures_per_address,
                         dt.timedelta(minutes=settings.track_window_minutes))
    intake = Intake(wiring.reference, settings.commitment_days, limits)
    guide = Guide(wiring.reference, time or SystemTime())
    add_servicer(server, IntakeApi(intake, guide, wiring.unit_of_work, wiring.credentials),
                 pb.DESCRIPTOR.services_by_name["Intake"])
    return wiring
