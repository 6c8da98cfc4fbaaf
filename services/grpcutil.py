"""gRPC glue for the API processes: domain errors as status codes, department tokens, the server.

A servicer method is wrapped with `@rpc`: `InvalidRequest` becomes INVALID_ARGUMENT with a
`google.rpc.BadRequest` detail naming each field, `NotFound` NOT_FOUND, `Forbidden`
PERMISSION_DENIED, `NotAllowedNow` FAILED_PRECONDITION, a database outage UNAVAILABLE (retry).
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from pathlib import Path

import grpc
import psycopg
import yaml
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from .errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound
from .metrics import GRPC_REQUESTS, GRPC_SECONDS

log = logging.getLogger(__name__)

# What a client of the APIs should do, as the load generator and the demo do: retry, with backoff,
# a call the server refused with UNAVAILABLE (a process stopping or restarting, the database away).
# A refused call did nothing, so retrying it is safe; gRPC allows at most 5 attempts.
RETRY_UNAVAILABLE = json.dumps({"methodConfig": [{"name": [{}], "retryPolicy": {
    "maxAttempts": 5, "initialBackoff": "0.2s", "maxBackoff": "3s", "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"]}}]})


def client_channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target, options=[("grpc.enable_retries", 1),
                                                  ("grpc.service_config", RETRY_UNAVAILABLE)])


_CODES = {NotFound: grpc.StatusCode.NOT_FOUND, Forbidden: grpc.StatusCode.PERMISSION_DENIED,
          NotAllowedNow: grpc.StatusCode.FAILED_PRECONDITION}


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


def rpc(method):
    """Map domain errors of a unary or server-streaming servicer method to gRPC statuses, and
    count the answers (the servicer names its API in `API`)."""
    name = method.__name__
    if _is_generator(method):
        @functools.wraps(method)
        def streaming(self, request, context):
            try:
                _check_text(request)
                yield from method(self, request, context)
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
            _check_text(request)
            return method(self, request, context)
        except grpc.RpcError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped or re-raised
            _fail(context, exc)
        finally:
            GRPC_REQUESTS.labels(self.API, name, _code(context)).inc()
            GRPC_SECONDS.labels(self.API, name).observe(time.perf_counter() - started)
    return unary


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


SUPERVISION_OFFICE = "supervision"  # the tokens file's name for the supervision office (电子监察)


class DepartmentTokens:
    """Department tokens from a YAML secrets file `{department: token}`; looked up by hash."""

    def __init__(self, tokens: dict[str, str]):
        self._by_hash = {self._hash(t): dept for dept, t in tokens.items()}

    @staticmethod
    def _hash(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    @classmethod
    def from_file(cls, path: Path) -> DepartmentTokens:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(v) >= 16
                                                 for k, v in data.items()):
            raise ValueError(f"{path}: expected a mapping of department code to a token of 16+ characters")
        return cls(data)

    def department(self, context: grpc.ServicerContext) -> str:
        """The calling department, from the `authorization: Bearer <token>` metadata."""
        header = dict(context.invocation_metadata()).get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        dept = self._by_hash.get(self._hash(token)) if token else None
        if dept is None:
            abort(context, grpc.StatusCode.UNAUTHENTICATED, "a department token is required (authorization: Bearer ...)")
        return dept


def read_tokens(path: Path) -> dict[str, str]:
    """The secrets file's department -> token mapping; empty while the file does not exist."""
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def write_tokens(path: Path, departments: list[str]) -> list[str]:
    """Give every department without a token in the secrets file a fresh random one (a new file
    for a local install; a department added to the org chart later gets its own). Returns them."""
    import secrets

    tokens = read_tokens(path)
    added = [d for d in departments if d not in tokens]
    if not added:
        return []
    tokens.update({d: secrets.token_urlsafe(24) for d in added})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(tokens, sort_keys=True), encoding="utf-8")
    return added
