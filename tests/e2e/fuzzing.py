"""The harness of the gRPC fuzz (tests/e2e/test_fuzz_grpc.py): the running system seeded with cases
for each API's fuzz, what the fuzz knows of it (values by field name, who owns what), who calls,
the calls themselves, and the judging of every answer."""
from __future__ import annotations

import collections
import datetime as dt
import string
import uuid

import grpc
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb

from approval_svc.access import ROLES as DESK_ROLES
from hall.holders import holder_role
from hall.reference import load_reference
from intake_svc.acceptance import with_check_digit
from intake_svc.access import ROLES as INTAKE_ROLES
from services.access import Role
from services.grpcutil import field_violations
from services.timesource import SystemTime, local_day
from supervision_svc.access import ROLES as SUPERVISION_ROLES
from tests.e2e.protofuzz import messages, mutated, plausible
from tests.flow.test_access import holder_of
from tests.flow_steps import CATALOGUE, approve, case_status, id_number, submission, tasks_of
from tests.support import wait_until
from tooling.settings import SystemSettings

ORG = load_reference(SystemSettings()).org

# The APIs' message limit here: under grpc's own default of 4 MiB, so a refusal between the two shows
# that the setting is applied, and over 3 MB, so that a 3 MB field reaches the validators.
LIMIT = 3_500_000
CALL_SECONDS = 30  # generous: the machine is shared and loaded; a stuck call still fails the test
WATCH_SECONDS = 0.1  # a watch is read for one item at most: no item by then is fine (a refusal comes at once)
ROLES = {"intake": INTAKE_ROLES, "desk": DESK_ROLES, "supervision": SUPERVISION_ROLES}
SERVICES = {"intake": ipb.DESCRIPTOR.services_by_name["Intake"],
            "desk": dpb.DESCRIPTOR.services_by_name["DepartmentDesk"],
            "supervision": spb.DESCRIPTOR.services_by_name["Supervision"]}
PROCESS = {"intake": "intake-api", "desk": "approval-api", "supervision": "supervision-api"}
C = grpc.StatusCode
REFUSED = {C.INVALID_ARGUMENT, C.NOT_FOUND, C.FAILED_PRECONDITION, C.PERMISSION_DENIED, C.UNAUTHENTICATED}
NOBODY = "<no token>"
HEADER = "header:"  # a caller label: the authorization header as given, no known token in it
PERSON = "person:"  # a caller label: a person of the register signed in at a post of the role named
# Roles no system token has: their methods are called by a person at such a post (post kind, organisation)
PERSONS = {Role.MANAGER: ("centre_manager", "county-centre"), Role.LEADER: ("leader", "county-centre")}
PLACES = [("MZ-001", "county-desk", {}), ("TZ-002", "county-window-development-reform", {}),
          ("SC-001", "county-desk", {}), ("MZ-001", "county-desk", {"commitment_signed": True}),
          ("MZ-001", "zhangqiao-liugang-room", {"channel": ipb.PROXY_AGENT, "agent": "agent-zhangqiao-liugang",
                                                "consent_ref": "WT-2026-0001"})]


# The shared broker is restarted now and then by other suites on this machine; kombu logs the lost
# connection of a bus process with a traceback, and reconnects. Any other traceback is a failure.
BROKER_GONE = ("ConnectionResetError", "ConnectionRefusedError", "BrokenPipeError", "OSError: Server unexpectedly",
               "amqp.exceptions.ConnectionForced", "amqp.exceptions.RecoverableConnectionError",
               "kombu.exceptions.OperationalError")


def _exceptions(log: str) -> list[str]:
    """The exception line that ends each traceback in a log."""
    lines, found = log.splitlines(), []
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last):"):
            end = next((ln for ln in lines[i + 1:] if ln and not ln.startswith(" ")), "(cut short)")
            found.append(end)
    return found


def _submission(place, uid: uuid.UUID, missing: int) -> ipb.SubmitRequest:
    """A valid application at one of PLACES, from hypothesis' own draws (so that it replays)."""
    item, organisation, fields = place
    request = submission(item, organisation, **fields)
    request.request_id = uid.hex
    request.applicant.id_number = id_number(uid.int)
    request.applicant.phone = f"139{uid.int % 10**8:08d}"
    if missing and len(request.materials) > 1:
        del request.materials[missing % len(request.materials)]
    return request


def _rating(case_number: str, uid: uuid.UUID, on_site: bool, level: int) -> spb.RateRequest:
    return spb.RateRequest(request_id=uid.hex, case_number=case_number, channel=spb.ON_SITE if on_site else spb.ONLINE,
                           act="acceptance" if on_site else "", level=level, rater="applicant", named=level <= 2)


LIMITED = {"Track", "LookUpComplaint", "Complain"}  # the public's methods limited per client


class Fuzz:
    """The running system, what the fuzz knows of it, and the calls."""

    def __init__(self, running):
        self.running = running
        self.channels = {"intake": running.intake_channel, "desk": running.desk_channel,
                         "supervision": running.supervision_channel}
        self.roles = {h: holder_role(h, ORG).role for h in running.tokens}
        self.known, self.owners = _seed(running)
        self.log_offsets: dict[str, int] = {}
        self.answers: collections.Counter = collections.Counter()
        self._requests: dict[str, st.SearchStrategy] = {}
        self.credentials: dict[str, str] = {}  # of the persons signed in (PERSONS)

    # --- what to send, and as whom -----------------------------------------------------------

    def requests(self, api: str, method) -> st.SearchStrategy:
        if method.full_name not in self._requests:
            known = self.known[api]
            kinds = [messages(method.input_type, known), mutated(plausible(method.input_type, known), known)]
            if method.name == "Submit":  # a whole application is too much to come about by chance
                kinds.append(mutated(st.builds(_submission, st.sampled_from(PLACES), st.uuids(),
                                               st.integers(0, 3)), known))
            if method.name == "Rate":  # so is a rating of a case with its channel and act agreeing
                kinds.append(mutated(st.builds(_rating, st.sampled_from(known["case_number"]), st.uuids(),
                                               st.booleans(), st.integers(1, 5)), known))
            self._requests[method.full_name] = st.one_of(kinds)
        return self._requests[method.full_name]

    def callers(self, api: str, method, request) -> st.SearchStrategy[str]:
        """Mostly a holder who may call the method, the one the request's case or task belongs to
        above all; sometimes a holder of another role, a made-up token, or none."""
        allowed = ROLES[api][method.name]
        entitled = sorted(h for h, role in self.roles.items() if role in allowed)
        others = sorted(h for h, role in self.roles.items() if role not in allowed)
        owners = [h for h in self._owners(request) if h in entitled] or entitled
        header = st.text(alphabet=string.printable[:95], max_size=40)
        strangers = [st.just(NOBODY), st.one_of(header, header.map("Bearer ".__add__)).map(HEADER.__add__)]
        if others:
            strangers.append(st.sampled_from(others))
        if not entitled:  # a method for persons only (a manager's, a leader's): mostly called as one
            persons = [f"{PERSON}{role.value}" for role in sorted(allowed) if role in PERSONS]
            if not persons:
                return st.one_of(strangers)
            kinds = {"person": st.sampled_from(persons), "stranger": st.one_of(strangers)}
            return st.sampled_from(["person"] * 9 + ["stranger"]).flatmap(kinds.__getitem__)
        kinds = {"owner": st.sampled_from(owners), "entitled": st.sampled_from(entitled),
                 "stranger": st.one_of(strangers)}
        return st.sampled_from(["owner"] * 6 + ["entitled"] * 3 + ["stranger"]).flatmap(kinds.__getitem__)

    def _owners(self, request) -> list[str]:
        fields = request.DESCRIPTOR.fields_by_name
        found = []
        for name in ("case_number", "task_id", "rating_id", "complaint_id"):
            if name in fields:
                found += self.owners.get((name, getattr(request, name)), [])
        return found + [getattr(request, n) for n in ("organisation", "agent") if n in fields]

    def entitled(self, api: str, method: str) -> str:
        """A holder who may call the method (the supervision office where it may)."""
        allowed = ROLES[api][method]
        return min((h for h, role in self.roles.items() if role in allowed), key=lambda h: h != "supervision")

    def metadata(self, caller: str) -> tuple:
        if caller == NOBODY:
            return ()
        if caller.startswith(PERSON):  # signed in once, at the post of PERSONS
            if caller not in self.credentials:
                role = Role(caller[len(PERSON):])
                self.credentials[caller] = self.running.sign_in(*holder_of(*PERSONS[role]))
            return (("authorization", f"Bearer {self.credentials[caller]}"),)
        if caller.startswith(HEADER):
            return (("authorization", caller[len(HEADER):]),)
        return (("authorization", f"Bearer {self.running.tokens[caller]}"),)

    # --- calling and judging -----------------------------------------------------------------

    def call(self, api: str, method, payload, metadata, serializer=None) -> grpc.RpcError | None:
        """The error of the call, None for OK. A watch is read for one item at most."""
        path = f"/{SERVICES[api].full_name}/{method.name}"
        reply = GetMessageClass(method.output_type).FromString
        serialize = serializer or (lambda m: m.SerializeToString())
        channel = self.channels[api]
        try:
            if method.server_streaming:
                stream = channel.unary_stream(path, request_serializer=serialize, response_deserializer=reply)(
                    payload, metadata=metadata, timeout=WATCH_SECONDS)
                next(stream, None)
                stream.cancel()
            else:
                channel.unary_unary(path, request_serializer=serialize, response_deserializer=reply)(
                    payload, metadata=metadata, timeout=CALL_SECONDS)
        except grpc.RpcError as error:
            if error.code() == C.CANCELLED and method.server_streaming:
                return None  # our own cancel after the first item
            return error
        return None

    def judge(self, api: str, method, error: grpc.RpcError | None, size: int) -> None:
        code = error.code() if error else C.OK
        self.answers[(api, method.name, code.name)] += 1
        details = (error.details() or "") if error else ""
        clear = REFUSED | {C.OK}
        if method.name in LIMITED or size > LIMIT:  # the guess and flood limits; the message limit
            clear.add(C.RESOURCE_EXHAUSTED)
        if method.server_streaming:
            clear.add(C.DEADLINE_EXCEEDED)
        assert code in clear, f"{api}.{method.name} answered {code.name}: {details[:300]!r}"
        if code == C.INVALID_ARGUMENT:
            violations = field_violations(error)
            assert violations and all(f for f, _ in violations), f"no field named: {details[:300]!r}"
        assert len(details) <= 1_000, f"an answer of {len(details)} characters: {details[:300]!r}…"
        self.alive_and_quiet(PROCESS[api])

    def alive_and_quiet(self, process: str) -> None:
        assert self.running.system.procs[process].poll() is None, f"{process} died"
        path = self.running.system.log_dir / f"{process}.log"
        with path.open("rb") as log:
            log.seek(self.log_offsets.get(process, 0))
            new = log.read().decode(errors="replace")
            self.log_offsets[process] = log.tell()
        unexpected = [e for e in _exceptions(new) if not (process.endswith("-bus") and e.startswith(BROKER_GONE))]
        assert not unexpected, f"{process} logged {unexpected}:\n{new[-3000:]}"

    def fuzz(self, api: str, examples: int) -> None:
        service = SERVICES[api]

        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def one(data):
            method = service.methods_by_name[data.draw(st.sampled_from([m.name for m in service.methods]),
                                                       label="method")]
            request = data.draw(self.requests(api, method), label="request")
            caller = data.draw(self.callers(api, method, request), label="caller")
            error = self.call(api, method, request, self.metadata(caller))
            self.judge(api, method, error, request.ByteSize())

        one()


def _seed(running) -> tuple[dict[str, dict], dict]:
    """Cases for each API's fuzz to act on: the intake fuzz's own (it may withdraw them), the desk
    fuzz's own (in handling), concluded and rated ones for the supervision fuzz; the values each
    API's fuzz draws from (`known`), and who owns what (`owners`)."""
    submit = running.intake.Submit
    ours = {"intake": [submit(submission("MZ-001", "county-desk")),
                       submit(submission("MZ-001", "county-desk", missing=("application",))),
                       submit(submission("MZ-001", "county-desk", missing=("sickness_or_disability_proof",),
                                         commitment_signed=True)),
                       submit(submission("MZ-001", "zhangqiao-liugang-room", channel=ipb.PROXY_AGENT,
                                         agent="agent-zhangqiao-liugang", consent_ref="WT-2026-0001")),
                       submit(submission("TZ-002", "county-window-development-reform"))],
            "desk": [submit(submission("MZ-001", "county-desk")) for _ in range(2)]
            + [submit(submission("TZ-002", "county-window-development-reform")) for _ in range(2)],
            "supervision": [submit(submission("MZ-001", "county-desk")) for _ in range(2)]}
    ours = {api: [r.case_number for r in receipts] for api, receipts in ours.items()}
    civil = running.desk("civil_affairs")
    for number in ours["desk"][:2]:
        tasks_of(civil, number)
    for number in ours["desk"][2:]:
        tasks_of(running.desk("water"), number)
    for number in ours["supervision"]:
        approve(civil, tasks_of(civil, number)[0].task_id)
        case_status(running, number, "concluded")
    wait_until(lambda: running.sql("supervision", "SELECT count(*) FROM cases WHERE case_number = ANY(%s) "
                                                  "AND concluded_on IS NOT NULL", [ours["supervision"]])[0][0] == 2,
               what="supervision to see the conclusions")
    device, office = running.supervision("county-desk"), running.supervision()
    first, second = ours["supervision"]
    ratings = [device.Rate(spb.RateRequest(request_id=uuid.uuid4().hex, case_number=number, channel=channel,
                                           act=act, level=level, rater="applicant", comment="等了很久", named=True))
               for number, channel, act, level in [(first, spb.ONLINE, "", 1), (first, spb.ON_SITE, "acceptance", 2),
                                                   (second, spb.ONLINE, "", 1)]]
    complaints = [office.Complain(spb.ComplainRequest(request_id=uuid.uuid4().hex, channel=spb.PHONE,
                                                      case_number=first, text="窗口解释不清")),
                  office.Complain(spb.ComplainRequest(request_id=uuid.uuid4().hex, channel=spb.LETTER,
                                                      department="water", text="办理室无人"))]

    cases = {c[0]: c for c in running.sql("intake", "SELECT case_number, organisation, agent, request_id, "
                                                    "applicant->>'phone' FROM cases")}
    tasks = running.sql("approval", "SELECT id, department, case_number FROM tasks")
    owners = {("case_number", c): [o] + ([a] if a else []) for c, o, a, _, _ in cases.values()}
    owners.update({("task_id", t): [d] for t, d, _ in tasks})
    owners.update({("rating_id", r.id): [r.department] if r.department else [] for r in ratings})
    owners.update({("complaint_id", c.id): [c.department] for c in complaints})
    today = local_day(SystemTime().now())
    days = [str(today + dt.timedelta(days=n)) for n in (-30, 0, 1, 20, 80, 100)]
    # the materials of the items the fuzz's cases are of, so that a list of them fits a case now and then
    materials = sorted({m.code for code in ("MZ-001", "TZ-002", "SC-001") for m in CATALOGUE.item(code).materials})
    words = ["符合条件，同意", "材料不全", "x"]
    known = {
        "item_code": [i.code for i in CATALOGUE.items], "organisation": [o.code for o in ORG.organisations],
        "department": [d.code for d in ORG.departments], "agent": [a.code for a in ORG.agents],
        "code": materials, "material_code": materials,
        "request_id": [f"fuzz-{i}" for i in range(50)] + [c[3] for c in cases.values()],
        "rating_id": [r.id for r in ratings], "complaint_id": [c.id for c in complaints],
        "until": days, "from": days, "to": days, "month": [f"{today:%Y-%m}", "2026-01"],
        "page_token": ["0", "1", "3"], "page_size": [1, 2, 50, 500], "after_cursor": [0, 1, 3],
        "rater": ["applicant", "clerk-01"], "name": ["王小明"], "id_number": [id_number(7)],
        "phone": ["13912345678"], "email": ["wang@example.cn"],
        "project_code": [with_check_digit("2026-340521-65-03-00015")], "first_clerk": ["clerk-01"],
        "clerk": ["clerk-01"], "consent_ref": ["WT-2026-0001"], "opinion": words, "legal_basis": ["《行政许可法》"],
        "documents": ["批复-001"], "reason": words, "note": words, "text": words, "answer": words,
        "outcome": words, "comment": words, "instruction": words, "reply": words, "reply_days": [0, 1, 5, 31],
        "warning_id": [1, 2], "ask": words, "problem": words, "defect": ["", "复印件不清"],
        "contact_name": ["王小明"], "contact_phone": ["13912345678"], "contact_email": ["wang@example.cn"],
        "limit_days": [1, 5, 60, 61], "extension_days": [0, 1, 3], "level": [1, 2, 3, 5], "planned_days": [5],
    }
    by_api = {}
    for api, numbers in ours.items():
        numbers = list(cases) if api == "supervision" else numbers  # ratings and complaints name any case
        task_ids = [t for t, _, c in tasks if c in numbers]
        by_api[api] = {**known, "case_number": numbers, "task_id": task_ids, "act": ["acceptance"] + task_ids,
                       "phone_last4": [cases[n][4][-4:] for n in numbers]}
    return by_api, owners
