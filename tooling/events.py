"""The table of every event: producer and meaning from the registry (each service's events.py),
consumers from the services' handler tables, so that the table says what the code does."""
from __future__ import annotations

from collections import defaultdict

from services.bus import Handler
from services.contracts import EventType, load_events

from .processes import SERVICES


def subscriptions() -> list[tuple[str, Handler]]:
    """(consuming service, handler) of every row of every service's handler table."""
    return [(service.name, handler) for service in SERVICES for handler in service.handlers()]


def consumers() -> dict[tuple[str, str], list[str]]:
    """(producer, event) -> the services that handle it, in the order of SERVICES."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for service, handler in subscriptions():
        if service not in found[(handler.source, handler.event)]:
            found[(handler.source, handler.event)].append(service)
    return found


def readers(spec: EventType, consumed: dict[tuple[str, str], list[str]]) -> str:
    names = consumed.get((spec.producer, spec.name), [])
    outside = [f"outside: {spec.outside}"] if spec.outside else []
    return ", ".join(names + outside)


def events_table() -> str:
    """Markdown table of every registered event: the one docs/architecture.md shows."""
    consumed = consumers()
    lines = ["| event | version | producer | consumers | meaning |", "| --- | --- | --- | --- | --- |"]
    ours = {service.name for service in SERVICES}
    specs = [spec for spec in load_events().values() if spec.producer in ours]  # not a test's own events
    for spec in sorted(specs, key=lambda s: (s.producer, s.name, s.version)):
        lines.append(f"| `{spec.name}` | {spec.version} | {spec.producer} | {readers(spec, consumed)} | {spec.meaning} |")
    return "\n".join(lines)
