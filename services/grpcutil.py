"""gRPC glue for the API processes: callers, domain errors as status codes, client channels.

A servicer method is wrapped with `@rpc`: the caller is identified from its token and checked
against the access table (services.access) before the method runs, then given to it.
`InvalidRequest` becomes INVALID_ARGUMENT with a `google.rpc.BadRequest` detail naming each
field, `NotFound` NOT_FOUND, `Unauthenticated` UNAUTHENTICATED, `Forbidden` PERMISSION_DENIED,
`NotAllowedNow` FAILED_PRECONDITION, `TooManyAttempts` RESOURCE_EXHAUSTED, a database outage
UNAVAILABLE (retry).
"""
from __future__ import annotations

import functools
import json
import logging
import time
from pathlib import Path

import grpc
import psycopg
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from .access import authorize
from .errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, TooManyAttempts, Unauthenticated
from .metrics import GRPC_REQUESTS, GRPC_SECONDS

log = logging.getLogger(__name__)

# What a client of the APIs should do, as the load generator and the demo do: retry, with backoff,
# a call the server refused with UNAVAILABLE (a process stopping or restarting, the database away).
# A refused call did nothing, so retrying it is safe; gRPC allows at most 5 attempts.
RETRY_UNAVAILABLE = json.dumps({"methodConfig": [{"name": [{}], "retryPolicy": {
    "maxAttempts": 5, "initialBackoff": "0.2s", "maxBackoff": "3s", "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"]}}]})


def client_channel(target: str, root_certificates: Path | None = None) -> grpc.Channel:
    """A channel that retries UNAVAILABLE; over TLS when given the certificates to trust."""
    options = [("grpc.enable_retries", 1), ("grpc.service_config", RETRY_UNAVAILABLE)]
    if root_certificates is None:
        return grpc.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates.read_bytes())
    return grpc.secure_channel(target, credentials, options=options)


def api_channel(settings, port: int, host: str = "127.0.0.1") -> grpc.Channel:
    """A channel to one of the configured APIs, over TLS when the servers serve it."""
    return client_channel(f"{host}:{port}", settings.tls_ca or settings.tls_cert)


_CODES = {NotFound: grpc.StatusCode.NOT_FOUND, Forbidden: grpc.StatusCode.PERMISSION_DENIED,
          Unauthenticated: grpc.StatusCode.UNAUTHENTICATED, NotAllowedNow: grpc.StatusCode.FAILED_PRECONDITION,
          TooManyAttempts: grpc.StatusCode.RESOURCE_EXHAUSTED}


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str,
          violations: list[tuple[str, str]] = ()) -> None:
    status = status_pb2.Status(code=code.value[0], message=message)
    if violations:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations]))
        status.details.append(detail)
    context.abort_with_status(rpc_status.to_status(status))


def _fail(context, exc: Exception) -> None:
    if isinstance(exc, InvalidRequest):
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc), exc.violations)
    for kind, code in _CODES.items():
        if isinstance(exc, kind):
            abort(context, code, str(exc))
    if isinstance(exc, (psycopg.OperationalError, TimeoutError)):
        log.warning("store unavailable: %r", exc)
        abort(context, grpc.StatusCode.UNAVAILABLE, "the store is unavailable, retry")
    raise exc


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


def _check_text(request) -> None:
    if bad := nul_fields(request):
        raise InvalidRequest([(f, "contains a NUL character") for f in bad])


def _caller(servicer, context, name: str):
    caller = servicer.credentials.caller(context.invocation_metadata())
    authorize(caller, f"{servicer.API}.{name}")
    return caller


def rpc(method):
    """Authorize the caller of a unary or server-streaming servicer method and pass it on, map
    domain errors to gRPC statuses, and count the answers. The servicer names its API in `API` and
    holds the `credentials` (services.access.Credentials)."""
    name = method.__name__
    if _is_generator(method):
        @functools.wraps(method)
        def streaming(self, request, context):
            try:
                caller = _caller(self, context, name)
                _check_text(request)
                yield from method(self, request, context, caller)
            except grpc.RpcError:
                raise
            except Exception as exc:  # noqa: BLE001 - mapped or re-raised
                _fail(context, exc)
            finally:
                GRPC_REQUESTS.labels(self.API, name, _code(context)).inc()
        return streaming

    @functools.wraps(method)
    def unary(self, request, context):
        started = time.perf_counter()
        try:
            caller = _caller(self, context, name)
            _check_text(request)
            return method(self, request, context, caller)
        except grpc.RpcError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped or re-raised
            _fail(context, exc)
        finally:
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
