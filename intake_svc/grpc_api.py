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
from services.timesource import TimeSource

from .access import QUIET, ROLES
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
    return [ProvidedMaterial(m.code, m.defect or None) for m in items]


def application(request: pb.SubmitRequest) -> Application:
    if request.channel not in _CHANNELS:
        raise InvalidRequest([("channel", "one of WINDOW, VILLAGE_ROOM, PROXY_AGENT, ONLINE")])
    a = request.applicant
    return Application(
        item_code=request.item_code, applicant=Applicant(a.name, a.id_number, a.phone, a.email),
        channel=_CHANNELS[request.channel], organisation=request.organisation, first_clerk=request.first_clerk,
        materials=tuple(_materials(request.materials)), form=dict(request.form), agent=request.agent or None,
        consent_ref=request.consent_ref or None, project_code=request.project_code or None,
        request_id=request.request_id, commitment_signed=request.commitment_signed)


def receipt(r: dict) -> pb.Receipt:
    return pb.Receipt(case_number=r["case_number"], kind=_KINDS[r["kind"]], status=_STATUSES[r["status"]],
                      accepted_on=r["accepted_on"], promised_deadline=r["promised_deadline"],
                      commitment_deadline=r["commitment_deadline"], reasons=r["reasons"], item_name=r["item_name"],
                      one_time_notice=[pb.NoticeLine(**line) for line in r["one_time_notice"]])


def case_view(row: dict) -> pb.CaseView:
    a = row["applicant"]
    return pb.CaseView(
        case_number=row["case_number"], item_code=row["item_code"], item_name=row["item_name"],
        kind=_KINDS[row["kind"]], status=row["status"], level=row["level"], organisation=row["organisation"],
        channel={v.value: k for k, v in _CHANNELS.items()}[row["channel"]],
        applicant=pb.Applicant(name=a["name"], id_number=a["id_number"], phone=a["phone"], email=a.get("email", "")),
        received_at=row["received_at"].isoformat(), accepted_on=str(row["accepted_on"] or ""),
        promised_deadline=str(row["promised_deadline"] or ""), result=row["result"] or "",
        archived=row["archived_at"] is not None,
        history=[pb.HistoryEntry(seq=e.seq, at=e.data["at"], kind=e.data["kind"], actor=e.data["actor"] or "",
                                 detail_json=e.body, hash=e.hash, prev_hash=e.prev_hash) for e in row["history"]])


class IntakeApi(intake_pb2_grpc.IntakeServicer):
    API = "intake"
    ROLES = ROLES
    QUIET = QUIET

    def __init__(self, intake: Intake, unit_of_work, credentials: Credentials):
        self.intake = intake
        self.unit_of_work = unit_of_work
        self.credentials = credentials

    @rpc
    def Submit(self, request, context, caller):
        app = application(request)
        with self.unit_of_work() as uow:
            return receipt(self.intake.submit(uow, caller, app))

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
            steps=[pb.PublicStep(at=at, summary=summary) for at, summary in row["steps"]])


def build(settings: IntakeSettings, server, time: TimeSource | None = None) -> ApiWiring:
    wiring = ApiWiring.open(settings, SOURCE, time)
    limits = TrackLimits(settings.track_failures_per_case, settings.track_failures_per_address,
                         dt.timedelta(minutes=settings.track_window_minutes))
    intake = Intake(wiring.reference, settings.commitment_days, limits)
    add_servicer(server, IntakeApi(intake, wiring.unit_of_work, wiring.credentials),
                 pb.DESCRIPTOR.services_by_name["Intake"])
    return wiring
