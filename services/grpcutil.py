"""gRPC glue for the API processes: callers, domain errors as status codes, client channels.

A servicer method is wrapped with `@rpc`: the caller is identified from its token and checked
against its API's roles table (the servicer's `ROLES`) before the method runs, then given to it.
`InvalidRequest` becomes INVALID_ARGUMENT with a `google.rpc.BadRequest` detail naming each
field, `NotFound` NOT_FOUND, `Unauthenticated` UNAUTHENTICATED, `Forbidden` PERMISSION_DENIED,
`NotAllowedNow` FAILED_PRECONDITION, `TooManyAttempts` RESOURCE_EXHAUSTED, a database outage
UNAVAILABLE (retry). Before the method runs, every text of the request is checked (no NUL, no text
or list longer than any request needs), and a request body that is not a message of its type is
refused with INVALID_ARGUMENT (`add_servicer`), where grpcio would answer INTERNAL.
"""
from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import grpc
import psycopg
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from . import auditlog
from .access import Caller, authorize
from .errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, TooManyAttempts, Unauthenticated, Unavailable
from .metrics import GRPC_REQUESTS, GRPC_SECONDS
from .uow import CURRENT_ACT, Act

log = logging.getLogger(__name__)

# What a client of the APIs should do, as the load generator and the demo do: retry, with backoff,
# a call the server refused with UNAVAILABLE (a process stopping or restarting, the database away).
# A refused call did nothing, so retrying it is safe; gRPC allows at most 5 attempts.
RETRY_UNAVAILABLE = json.dumps({"methodConfig": [{"name": [{}], "retryPolicy": {
    "maxAttempts": 5, "initialBackoff": "0.2s", "maxBackoff": "3s", "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"]}}]})


def client_channel(target: str, root_certificates: Path | None = None, asyncio: bool = False) -> grpc.Channel:
    """A channel that retries UNAVAILABLE; over TLS when given the certificates to trust; an
    asyncio one (grpc.aio) for a client on an event loop."""
    kind = grpc.aio if asyncio else grpc
    options = [("grpc.enable_retries", 1), ("grpc.service_config", RETRY_UNAVAILABLE)]
    if root_certificates is None:
        return kind.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates.read_bytes())
    return kind.secure_channel(target, credentials, options=options)


def api_channel(settings, port: int, host: str = "127.0.0.1", asyncio: bool = False) -> grpc.Channel:
    """A channel to one of the configured APIs, over TLS when the servers serve it."""
    return client_channel(f"{host}:{port}", settings.tls_ca or settings.tls_cert, asyncio)


_CODES = {NotFound: grpc.StatusCode.NOT_FOUND, Forbidden: grpc.StatusCode.PERMISSION_DENIED,
          Unauthenticated: grpc.StatusCode.UNAUTHENTICATED, NotAllowedNow: grpc.StatusCode.FAILED_PRECONDITION,
          TooManyAttempts: grpc.StatusCode.RESOURCE_EXHAUSTED, Unavailable: grpc.StatusCode.UNAVAILABLE}


# An error answer travels in trailers, and a client accepts about 8 KiB of them: what an answer
# quotes of the request (a case number of megabytes, thousands of violations) is cut to fit.
_MESSAGE_BYTES = 512  # percent-encoded on the wire: up to three times this
_DETAIL_BYTES = 3000  # the field violations, base64 on the wire: 4/3 of this
_FIELD_BYTES, _REASON_BYTES = 128, 256


def _cut(text: str, limit: int) -> str:
    """The text within `limit` bytes of UTF-8, marked where it was cut."""
    data = text.encode()
    return text if len(data) <= limit else data[:limit - 3].decode(errors="ignore") + "…"


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str,
          violations: list[tuple[str, str]] = ()) -> None:
    status = status_pb2.Status(code=code.value[0])
    if violations:
        bad = error_details_pb2.BadRequest()
        for f, d in violations:
            bad.field_violations.add(field=_cut(f, _FIELD_BYTES), description=_cut(d, _REASON_BYTES))
            if bad.ByteSize() > _DETAIL_BYTES:
                del bad.field_violations[-1]
                shown = "; ".join(f"{v.field}: {v.description}" for v in bad.field_violations)
                message = f"{len(violations)} problems, the first {len(bad.field_violations)}: {shown}"
                break
        status.details.add().Pack(bad)
    status.message = _cut(message, _MESSAGE_BYTES)
    context.abort_with_status(rpc_status.to_status(status))


def _fail(context, exc: Exception) -> None:
    name = status_name(exc)
    if name == "INTERNAL":
        raise exc
    if isinstance(exc, (psycopg.OperationalError, TimeoutError)):
        log.warning("store unavailable: %r", exc)
        abort(context, grpc.StatusCode.UNAVAILABLE, "the store is unavailable, retry")
    abort(context, grpc.StatusCode[name], str(exc), getattr(exc, "violations", []))


def nul_fields(message, prefix: str = "") -> list[str]:
    """Paths of string fields holding NUL characters, which no text column can store."""
    found = []
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        items = list(enumerate(value)) if field.is_repeated else [(None, value)]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            found += [f"{path}[{k!r}]" for k, v in value.items() if "\x00" in k or (isinstance(v, str) and "\x00" in v)]
        elif field.message_type is not None:
            for i, item in items:
                found += nul_fields(item, f"{path}[{i}]." if i is not None else f"{path}.")
        elif field.type == field.TYPE_STRING:
            found += [f"{path}[{i}]" if i is not None else path for i, v in items if "\x00" in v]
    return found


# No text or list of any request is longer (the longest is a complaint's text); the use cases set
# tighter limits per field. Checked before the use case runs, so that a megabyte of text is refused
# whatever the field, and never stored.
LONGEST_TEXT = 10_000
MOST_ENTRIES = 1_000


def oversized_fields(message, prefix: str = "") -> list[tuple[str, str]]:
    """(path, reason) of every text longer than LONGEST_TEXT and list or map longer than MOST_ENTRIES."""
    found = []
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.is_repeated and len(value) > MOST_ENTRIES:
            found.append((path, f"at most {MOST_ENTRIES} entries"))
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            found += [(f"{path}[{k[:20]!r}]", f"at most {LONGEST_TEXT} characters") for k, v in value.items()
                      if len(k) > LONGEST_TEXT or (isinstance(v, str) and len(v) > LONGEST_TEXT)]
        elif field.message_type is not None:
            items = enumerate(value) if field.is_repeated else [(None, value)]
            for i, item in items:
                found += oversized_fields(item, f"{path}[{i}]." if i is not None else f"{path}.")
        elif field.type == field.TYPE_STRING:
            items = enumerate(value) if field.is_repeated else [(None, value)]
            found += [(f"{path}[{i}]" if i is not None else path, f"at most {LONGEST_TEXT} characters")
                      for i, v in items if len(v) > LONGEST_TEXT]
    return found


class Undecodable:
    """A request body that is not a message of its type (see `add_servicer`)."""

    def __init__(self, type_name: str):
        self.type_name = type_name


def _check_request(request) -> None:
    if isinstance(request, Undecodable):
        raise InvalidRequest([("request", f"not a valid {request.type_name} (protobuf)")])
    if bad := oversized_fields(request):
        raise InvalidRequest(bad)
    if bad := nul_fields(request):
        raise InvalidRequest([(f, "contains a NUL character") for f in bad])


def _decoder(cls):
    def decode(data: bytes):
        try:
            return cls.FromString(data)
        except DecodeError:
            return Undecodable(cls.DESCRIPTOR.full_name)
    return decode


def add_servicer(server: grpc.Server, servicer, service: ServiceDescriptor) -> None:
    """Serve the methods of `service` with `servicer`, as the generated add_*_to_server does, except
    that a body that does not decode reaches the method as `Undecodable`, which `rpc` refuses with
    INVALID_ARGUMENT: grpcio itself would answer INTERNAL and log a traceback."""
    handlers = {}
    for method in service.methods:
        make = grpc.unary_stream_rpc_method_handler if method.server_streaming \
            else grpc.unary_unary_rpc_method_handler
        handlers[method.name] = make(getattr(servicer, method.name),
                                     request_deserializer=_decoder(GetMessageClass(method.input_type)),
                                     response_serializer=GetMessageClass(method.output_type).SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)


def _caller(servicer, context, name: str):
    caller = servicer.credentials.caller(context.invocation_metadata(), peer_address(context))
    authorize(caller, f"{servicer.API}.{name}", servicer.ROLES)
    return caller


# What names the thing an act is done to, in the order looked for in the request.
_TARGETS = ("case_number", "task_id", "staff_number", "warning_id", "rating_id", "complaint_id", "suggestion_id",
            "bulletin_id")
REFUSALS = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})


def _target(request) -> str:
    if isinstance(request, Undecodable):
        return ""
    for name in _TARGETS:
        if name in request.DESCRIPTOR.fields_by_name and (value := getattr(request, name)):
            return str(value)[:200]
    return ""


def status_name(exc: Exception) -> str:
    """The gRPC status a domain error is answered with (`_fail`), by name."""
    if isinstance(exc, InvalidRequest):
        return "INVALID_ARGUMENT"
    for kind, code in _CODES.items():
        if isinstance(exc, kind):
            return code.name
    if isinstance(exc, (psycopg.OperationalError, TimeoutError)):
        return "UNAVAILABLE"
    return "INTERNAL"


def refusing(exc: Exception) -> None:
    """The call's act is a refusal that its transaction commits (a wrong password counted): its
    audit entry says so. Call it inside that transaction, then raise `exc` after it."""
    act = CURRENT_ACT.get()
    if act is not None:  # the notes say more than the answer does (why a sign-in was refused)
        act.refused(status_name(exc), "; ".join(getattr(exc, "__notes__", ())) or str(exc))


def _identify(act: Act, caller: Caller) -> None:
    act.entry = replace(act.entry, person=caller.person, post=caller.post, organisation=caller.organisation,
                        holder="" if caller.person else caller.code, client=caller.client)


def _record(servicer, act: Act, result: str) -> None:
    """An act's entry when no transaction of the call recorded it: a refusal, a failure, a read that
    wrote nothing. A quiet method (lists, the public lookup) is recorded only when it is refused."""
    if act.recorded or (act.quiet and result not in REFUSALS):
        return
    try:
        with servicer.unit_of_work() as uow:
            auditlog.append(uow.conn, act.entry, uow.time.now())
    except Exception as exc:  # noqa: BLE001 - the answer stands; the store being away is alerted on anyway
        log.warning("audit entry of %s (%s) not written: %r", act.entry.action, act.entry.result, exc)


def rpc(method):
    """Authorize the caller of a unary or server-streaming servicer method and pass it on, map
    domain errors to gRPC statuses, record the act in the service's audit log, and count the
    answers. The servicer names its API in `API` and holds the `credentials`
    (services.access.Credentials), its `ROLES` (method name -> roles) and `QUIET` (methods whose
    answered calls are not recorded: lists and lookups without personal data), from its service's
    access.py, and its `unit_of_work`."""
    name = method.__name__

    def begin(self, request, context) -> tuple[Act, object]:
        act = Act(auditlog.AuditEntry(f"{self.API}.{name}", client=peer_address(context), target=_target(request)),
                  quiet=name in self.QUIET)
        return act, CURRENT_ACT.set(act)

    if _is_generator(method):
        @functools.wraps(method)
        def streaming(self, request, context):
            act, token = begin(self, request, context)
            result = "OK"
            try:
                caller = _caller(self, context, name)
                _identify(act, caller)
                _check_request(request)
                yield from method(self, request, context, caller)
            except grpc.RpcError:
                raise
            except Exception as exc:  # noqa: BLE001 - mapped or re-raised
                result = status_name(exc)
                act.refused(result, str(exc))
                _fail(context, exc)
            finally:
                CURRENT_ACT.reset(token)
                _record(self, act, result)
                GRPC_REQUESTS.labels(self.API, name, _code(context)).inc()
        return streaming

    @functools.wraps(method)
    def unary(self, request, context):
        started = time.perf_counter()
        act, token = begin(self, request, context)
        result = "OK"
        try:
            caller = _caller(self, context, name)
            _identify(act, caller)
            _check_request(request)
            return method(self, request, context, caller)
        except grpc.RpcError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped or re-raised
            result = status_name(exc)
            act.refused(result, str(exc))
            _fail(context, exc)
        finally:
            CURRENT_ACT.reset(token)
            _record(self, act, result)
            GRPC_REQUESTS.labels(self.API, name, _code(context)).inc()
            GRPC_SECONDS.labels(self.API, name).observe(time.perf_counter() - started)
    return unary


def peer_address(context: grpc.ServicerContext) -> str:
    """The client's address without its port ("ipv4:10.0.0.7:53211" → "ipv4:10.0.0.7")."""
    return context.peer().rpartition(":")[0] or context.peer()


def _code(context) -> str:
    code = context.code()
    return code.name if isinstance(code, grpc.StatusCode) else "OK" if code is None else str(code)


def _is_generator(fn) -> bool:
    import inspect

    return inspect.isgeneratorfunction(fn)


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The (field, reason) pairs of an INVALID_ARGUMENT answer (for clients and tests)."""
    status = rpc_status.from_call(error)
    out = []
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            out += [(v.field, v.description) for v in bad.field_violations]
    return out
