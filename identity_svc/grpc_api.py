"""The identity gRPC API (onewindow.identity.v1): parse the request, run the use case, answer."""
from __future__ import annotations

import datetime as dt

from onewindow.identity.v1 import identity_pb2 as pb
from onewindow.identity.v1 import identity_pb2_grpc

from hall.catalogue import OrgChart
from hall.rota import Rota
from hall.staff import Holding, Person, Staff
from hall.wiring import ApiWiring
from services.access import Credentials
from services.errors import DomainError, InvalidRequest, Violations
from services.grpcutil import add_servicer, refusing, rpc
from services.timesource import TimeSource
from services.watched import WatchedFile

from . import store
from .access import QUIET, ROLES
from .duty import DutyDesk, DutyView
from .keys import read_keys
from .register import DEFAULT_PAGE, MAX_PAGE, PostChange, Register
from .rules import AddressLimit, Backoff
from .settings import IdentitySettings
from .use_cases import SOURCE, Identity, Issued

SETTINGS, PORT_SETTING = IdentitySettings, "identity_port"


def post_view(holding: Holding, org: OrgChart) -> pb.Post:
    organisation = org.organisation(holding.at)
    return pb.Post(post_id=holding.post_id, kind=holding.post.value, label=holding.post.label,
                   organisation=holding.at, organisation_name=organisation.name if organisation else "",
                   holder=holding.holder, agent=holding.agent or "")


def person_view(person: Person, org: OrgChart) -> pb.Person:
    return pb.Person(staff_number=person.staff_number, name=person.name, work_phone=person.work_phone,
                     posts=[post_view(h, org) for h in person.posts])


def duty_view(view: DutyView) -> pb.Duty:
    by = view.set_by or {}
    return pb.Duty(organisation=view.organisation.code, organisation_name=view.organisation.name,
                   day=view.day.isoformat(), working_day=view.working_day,
                   persons=[pb.OnDuty(staff_number=p.person.staff_number, name=p.person.name,
                                      post_id=p.holding.post_id, work_phone=p.person.work_phone)
                            for p in view.persons],
                   source=view.source, reason=view.reason, set_by=by.get("person", ""),
                   set_by_name=by.get("name", ""), set_by_post=by.get("post", ""),
                   set_at=view.set_at.isoformat() if view.set_at else "", no_longer_holding=view.no_longer_holding)


def _required(**fields: str) -> None:
    missing = [(name, "required") for name, value in fields.items() if not value]
    if missing:
        raise InvalidRequest(missing)


class IdentityApi(identity_pb2_grpc.IdentityServicer):
    API = "identity"
    ROLES = ROLES
    QUIET = QUIET

    def __init__(self, identity: Identity, duty: DutyDesk, register: Register, unit_of_work,
                 credentials: Credentials):
        self.identity = identity
        self.duty = duty
        self.register = register
        self.unit_of_work = unit_of_work
        self.credentials = credentials

    def _issued(self, outcome: Issued | DomainError) -> pb.SignInReply:
        if isinstance(outcome, DomainError):  # committed (the wrong guess counted), then refused
            raise outcome
        org = self.identity.org
        return pb.SignInReply(credential=outcome.credential, expires_at=outcome.expires_at.isoformat(),
                              person=person_view(outcome.person, org), post=post_view(outcome.holding, org))

    def _account(self, uow, person: Person, account: dict | None) -> pb.Account:
        locked = self.identity.locked_until(account)
        return pb.Account(
            person=person_view(person, self.identity.org), active=self.identity.active(person, account),
            password_set=bool(account and account["password_hash"]),
            must_change_password=bool(account and account["must_change"]),
            failures=account["failures"] if account else 0,
            locked_until=locked.isoformat() if locked and locked > uow.time.now() else "",
            revoked_at=account["revoked_at"].isoformat() if account and account["revoked_at"] else "",
            revoke_reason=(account or {}).get("revoke_reason") or "")

    @rpc
    def SignIn(self, request, context, caller):
        _required(staff_number=request.staff_number, password=request.password)
        with self.unit_of_work() as uow:
            outcome = self.identity.sign_in(uow, request.staff_number, request.password, request.post_id,
                                            caller.client)
            if isinstance(outcome, DomainError):
                refusing(outcome)
        return self._issued(outcome)

    @rpc
    def ChangePassword(self, request, context, caller):
        _required(staff_number=request.staff_number, current_password=request.current_password,
                  new_password=request.new_password)
        with self.unit_of_work() as uow:
            outcome = self.identity.change_password(uow, request.staff_number, request.current_password,
                                                    request.new_password, request.post_id, caller.client)
            if isinstance(outcome, DomainError):
                refusing(outcome)
        return self._issued(outcome)

    @rpc
    def Refresh(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._issued(self.identity.refresh(caller, uow.time.now()))

    @rpc
    def WhoAmI(self, request, context, caller):
        return person_view(self.identity.who_am_i(caller), self.identity.org)

    @rpc
    def GetAccount(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._account(uow, *self.identity.account(uow, request.staff_number))

    @rpc
    def ResetPassword(self, request, context, caller):
        with self.unit_of_work() as uow:
            password, person, account = self.identity.reset_password(uow, request.staff_number)
            return pb.ResetPasswordReply(account=self._account(uow, person, account), first_password=password)

    @rpc
    def Unlock(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._account(uow, *self.identity.unlock(uow, request.staff_number))

    @rpc
    def Revoke(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._account(uow, *self.identity.revoke(uow, caller, request.staff_number, request.reason))

    @rpc
    def Reinstate(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._account(uow, *self.identity.reinstate(uow, request.staff_number))

    @rpc
    def Trust(self, request, context, caller):
        with self.unit_of_work() as uow:
            view = self.identity.trust(uow, request.version)
        if view is None:
            return pb.TrustReply(version=request.version, unchanged=True)
        return pb.TrustReply(version=view.version,
                             keys=[pb.VerifyingKey(key_id=k, public_key_pem=v) for k, v in view.keys.items()],
                             holdings=[pb.Holding(staff_number=s, post_id=p, not_before=n)
                                       for s, p, n in view.holdings])

    @rpc
    def GetDuty(self, request, context, caller):
        with self.unit_of_work() as uow:
            return duty_view(self.duty.get(uow, request.organisation, request.day))

    @rpc
    def SetDuty(self, request, context, caller):
        with self.unit_of_work() as uow:
            return duty_view(self.duty.set(uow, caller, request.organisation, request.day,
                                           list(request.staff_numbers), request.reason))

    @rpc
    def ListPersons(self, request, context, caller):
        size, token = request.page_size or DEFAULT_PAGE, request.page_token
        problems = Violations()
        if not 0 < size <= MAX_PAGE:
            problems.add("page_size", f"1 to {MAX_PAGE}")
        if len(request.query) > 64:
            problems.add("query", "at most 64 characters")
        if token and not (token.isdigit() and len(token) < 9):
            problems.add("page_token", "a token of a previous answer")
        problems.check()
        found = self.register.search(request.query, int(token or 0), size + 1)
        with self.unit_of_work() as uow:
            accounts = store.accounts(uow, [p.staff_number for _, p in found[:size]])
            views = [self._account(uow, p, accounts.get(p.staff_number)) for _, p in found[:size]]
        return pb.ListPersonsReply(accounts=views, next_page_token=str(found[size][0]) if len(found) > size else "")

    @rpc
    def GetCentre(self, request, context, caller):
        view = self.register.centre(caller, request.centre)
        return pb.Centre(code=view.centre.code, name=view.centre.name, organisations=[
            pb.CentreOrganisation(code=o.code, name=o.name, kind=o.kind.value, department=o.department or "", seats=[
                pb.Seat(post_id=s.post_id, kind=s.kind.value, label=s.kind.label, holders=[
                    pb.PostHolder(holder=mark, staff_number=p.staff_number, name=p.name, work_phone=p.work_phone)
                    for mark, p in s.holders]) for s in seats])
            for o, seats in view.organisations])

    @rpc
    def SetPosts(self, request, context, caller):
        _required(staff_number=request.staff_number)
        changes = [PostChange(p.kind, p.organisation, p.seat, p.holder, p.agent) for p in request.posts]
        with self.unit_of_work() as uow:
            person = self.register.set_posts(uow, caller, request.staff_number, changes)
            return self._account(uow, person, store.account(uow, person.staff_number))


def build(settings: IdentitySettings, server, time: TimeSource | None = None) -> ApiWiring:
    wiring = ApiWiring.open(settings, SOURCE, time)
    org = wiring.reference.org
    staff = Staff(settings.staff, org)
    identity = Identity(
        staff, WatchedFile(settings.signing_keys, read_keys), org,
        dt.timedelta(minutes=settings.credential_minutes),
        Backoff(settings.sign_in_backoff_after, dt.timedelta(seconds=settings.sign_in_backoff_seconds),
                dt.timedelta(minutes=settings.sign_in_backoff_max_minutes)),
        AddressLimit(settings.sign_in_failures_per_address, dt.timedelta(minutes=settings.sign_in_window_minutes)))
    duty = DutyDesk(Rota(settings.rota, org, staff, wiring.reference.calendar), staff, org)
    register = Register(staff, org, settings.staff)
    add_servicer(server, IdentityApi(identity, duty, register, wiring.unit_of_work, wiring.credentials),
                 pb.DESCRIPTOR.services_by_name["Identity"])
    return wiring
