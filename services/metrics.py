"""Prometheus metrics of the kernel (every process serves them: `services.health`).

Labels are bounded sets (service, handler, event type): never case numbers or people.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter("onewindow_outbox_published_total", "Outbox rows published and confirmed", ["service"])
OUTBOX_UNPUBLISHED = Gauge("onewindow_outbox_unpublished", "Outbox rows committed but not yet published", ["service"])
OUTBOX_LAG = Histogram(
    "onewindow_outbox_lag_seconds", "Commit to confirmed publish, oldest row of each batch", ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
MESSAGES_HANDLED = Counter(
    "onewindow_messages_handled_total", "Messages handled, by outcome (done, duplicate, early, retried, dead_lettered)",
    ["service", "handler", "outcome"],
)
HANDLER_SECONDS = Histogram("onewindow_handler_seconds",
                            "Time in an event handler, inbox included (in a batch: the batch's time per message)",
                            ["service", "handler"])
BATCH_MESSAGES = Histogram("onewindow_batch_messages", "Delivered messages a bus process handled together",
                           ["service"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))

GRPC_REQUESTS = Counter("onewindow_grpc_requests_total", "gRPC calls answered, by status code", ["api", "method", "code"])
GRPC_SECONDS = Histogram("onewindow_grpc_seconds", "Time to answer a unary gRPC call", ["api", "method"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

NOTICES = Counter("onewindow_notices_total", "Notices tried, by outcome (sent, retried, dead)",
                  ["notice", "channel", "outcome"])

