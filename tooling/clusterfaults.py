"""The faults of `onewindow chaos` that need a cluster (tooling.clusters): named with `--fault`,
they make the run start three RabbitMQ nodes and a PostgreSQL primary with two standbys, and the
processes declare quorum queues.

- `rabbitmq-node`: `kill -9` of the node most processes are connected to; the processes move
  to the others, its quorum queue replicas elect leaders elsewhere. Started again once the cases
  in flight are concluded (and at least `outage` seconds later): `node_back_s`.
- `rabbitmq-leader`: the node leading the busiest quorum queues stopped (`stop_app`): the
  queues elect new leaders; started again the same way.
- `postgres-failover`: `kill -9` of the primary (every server process: a machine lost), the
  standby that received the most WAL promoted (`promoted_s`) and the other pointed at it; later
  the old primary rewound (`pg_rewind`, else a fresh base backup) and started as a standby of
  the new one (`rebuilt_s`). The processes find the new primary through their multi-host URL.
- `relay-during-failover`: a memory alarm on the most connected node blocks every publisher, so
  the outbox relays hold publishes the broker has not confirmed, their rows locked and not marked
  published (`unpublished_at_kill`: every outbox's rows not yet marked); then that node is
  killed. Each relay's transaction rolls back, it reconnects to another node and publishes
  again; the inboxes drop what had arrived.

Each returns its detail and sets `run.later`, which undoes the fault after the recovery has been
measured, and the figures of the run while degraded are taken before it.
"""
from __future__ import annotations

import time

from .clusters import wait_until
from .processes import SERVICES

HOLD_SECONDS = 15.0  # how long the relay-during-failover fault waits for the relays to hold publishes


def _timed(call) -> float:
    started = time.monotonic()
    call()
    return round(time.monotonic() - started, 1)


def _rabbitmq_node(run) -> dict:
    node = run.rabbit.most_connected()
    run.rabbit.kill(node)
    run.later = lambda: {"node_back_s": _timed(lambda: run.rabbit.restart(node))}
    return {"node": node.node}


def _rabbitmq_leader(run) -> dict:
    weights = run.rabbit.leaders()
    node = max(run.rabbit.nodes, key=lambda n: weights[n.node])
    run.rabbit.stop_node_app(node)
    run.later = lambda: {"node_back_s": _timed(lambda: run.rabbit.start_node_app(node))}
    return {"node": node.node, "leader_weight": weights[node.node]}


def _postgres_failover(run) -> dict:
    started = time.monotonic()
    old = run.postgres.kill_primary()
    new = run.postgres.promote()
    promoted_s = round(time.monotonic() - started, 1)

    def rebuild() -> dict:
        began = time.monotonic()
        how = run.postgres.rebuild(old)
        return {"rebuilt_by": how, "rebuilt_s": round(time.monotonic() - began, 1)}

    run.later = rebuild
    return {"killed": old.name, "promoted": new.name, "promoted_s": promoted_s}


def _unpublished(run) -> int:
    found = run.query("SELECT " + " + ".join(f"(SELECT count(*) FROM {s.name}.outbox WHERE published_at IS NULL)"
                                             for s in SERVICES))
    return found[0][0] if found else 0


def _relay_during_failover(run) -> dict:
    node = run.rabbit.most_connected()
    node.ctl_run("set_vm_memory_high_watermark", "0")  # an alarm: the broker stops reading from publishers
    wait_until(lambda: _unpublished(run) >= 3, HOLD_SECONDS)
    held = _unpublished(run)
    run.rabbit.kill(node)
    run.later = lambda: {"node_back_s": _timed(lambda: run.rabbit.restart(node))}
    return {"node": node.node, "unpublished_at_kill": held}


def baseline(run) -> dict:
    """No fault: the same batch and the same window, for the throughput the others are held against."""
    run.later = dict
    return {}


CLUSTER_FAULTS = {"rabbitmq-node": _rabbitmq_node, "rabbitmq-leader": _rabbitmq_leader,
                  "postgres-failover": _postgres_failover, "relay-during-failover": _relay_during_failover}
