"""Message contracts: one envelope for every event, and a registry of every event type.

Events are named in the past tense and published by exactly one service (to its nameko events
exchange `<service>.events`, routing key = event name). On the wire each is the JSON of an
`Envelope`; its payload is checked against the registered schema of that name and version both
when it is written to the outbox and when a handler receives it.

Each service declares the events it publishes in its own `events.py` with `@event`; the registry
gathers those modules through the `onewindow.events` entry point (pyproject.toml) the first time
an event is looked up, so that a consumer checks a producer's contract without importing the
producer. Who consumes an event is not declared here: it is derived from the services' handler
tables (`./onewindow events`).
"""
from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError


class ContractError(ValueError):
    """A message that does not match its contract: never retried, it goes to the dead letters."""


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: uuid.UUID
    type: str
    version: int
    occurred_at: AwareDatetime
    source: str
    case_number: str | None
    payload: dict[str, Any]

    def to_wire(self) -> dict:
        return self.model_dump(mode="json")

    @property
    def body(self) -> Payload:
        """The payload as its producer's contract class (dates as dates, enums as enums): a consumer
        reads typed fields without importing the producer (`envelope.body.accepted_on`)."""
        return spec_of(self.type, self.version).schema.model_validate(self.payload)


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(Payload):
    """Who did an act (every act names its person and post): a signed-in person at a post, or a
    system by its token's holder (a department's own system, which names no person)."""

    person: str = ""  # staff number; '' for a system
    name: str = ""
    post: str = ""  # the post id: organisation/kind/seat
    organisation: str = ""  # where the act was done: the post's window, desk, office or centre
    holder: str = ""  # the caller's code: a department, an organisation, an agent, `supervision` …


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    producer: str
    schema: type[Payload]
    meaning: str
    outside: str = ""  # who outside the services reads it, for an event no service consumes


REGISTRY: dict[tuple[str, int], EventType] = {}
EVENT_MODULES = "onewindow.events"  # entry point group: one module of events per producing service


def event(name: str, producer: str, meaning: str, version: int = 1, outside: str = ""):
    """Register a payload class as the contract of event `name` published by `producer`."""
    def register(schema: type[Payload]) -> type[Payload]:
        REGISTRY[(name, version)] = EventType(name, version, producer, schema, meaning, outside)
        return schema

    return register


@functools.cache
def load_events() -> dict[tuple[str, int], EventType]:
    """Import every service's events module (once) and return the registry."""
    for entry in importlib.metadata.entry_points(group=EVENT_MODULES):
        entry.load()
    return REGISTRY


def spec_of(name: str, version: int) -> EventType:
    spec = REGISTRY.get((name, version)) or load_events().get((name, version))
    if spec is None:
        raise ContractError(f"unknown event {name} v{version}")
    return spec


def new_envelope(source: str, name: str, case_number: str | None, payload: dict, now: dt.datetime,
                 version: int = 1) -> Envelope:
    spec = spec_of(name, version)
    if spec.producer != source:
        raise ContractError(f"{name} is published by {spec.producer}, not {source}")
    try:
        checked = spec.schema.model_validate(payload).model_dump(mode="json")
    except ValidationError as exc:
        raise ContractError(f"{name} v{version}: {exc}") from None
    return Envelope(id=uuid.uuid4(), type=name, version=version, occurred_at=now, source=source,
                    case_number=case_number, payload=checked)


def parse_envelope(raw: Any) -> Envelope:
    """A received message, checked against its contract."""
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise ContractError(f"not an onewindow envelope: {exc}") from None
    spec = spec_of(envelope.type, envelope.version)
    try:
        spec.schema.model_validate(envelope.payload)
    except ValidationError as exc:
        raise ContractError(f"{envelope.type} v{envelope.version}: {exc}") from None
    return envelope
