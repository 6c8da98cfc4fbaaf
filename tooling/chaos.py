"""`onewindow chaos`: the load generator runs while faults are injected one after another; after
each, the system drains and its books are checked against the store (tooling.audit).

The faults, each with a batch of load of its own:
- `kill-<process>`: `kill -9` of the process (each service's bus side and API side), started
  again at once, as a supervisor would;
- `rabbitmq`: the broker stopped (`rabbitmqctl stop_app`) for `outage` seconds, then started;
- `postgres`: the database server stopped in immediate mode (a crash: no checkpoint, recovery
  from the WAL) for `outage` seconds, then started;
- `poison`: messages a handler rejects every time (NoticeDelivered for cases that do not exist):
  they must end in the dead-letter queue with their error while the rest flows on;
- `duplicates`: events every service already published, published again twice, newest first:
  the inboxes must drop every copy;
- the cluster faults (tooling.clusterfaults: `rabbitmq-node`, `rabbitmq-leader`,
  `postgres-failover`, `relay-during-failover`), only when named: the run then has three
  RabbitMQ nodes and a PostgreSQL primary with two standbys (tooling.clusters).

Everything runs on a PostgreSQL and a RabbitMQ of the run's own (tooling.sandbox), with a
stand-in SMS gateway that records every message it receives, so that a notice sent twice shows.

Figures per fault (`recovery_s` is the recovery time):
- `cases`: the cases of the fault's batch in the store (accepted, whether or not the client got
  its receipt); `in_flight`: those accepted and not yet concluded when the fault was injected;
- `ready_s`: from the injection until the fault is undone and every process is ready again
  (its /readyz and the gRPC health answer);
- `recovery_s`: from the injection until every process is ready again and every case in flight
  at the injection is concluded in the store (for `poison`: and every poison message is
  dead-lettered);
- `lost`, `duplicated`, `broken`: the audit's new findings after the batch drained, plus what
  the clients saw twice (a task fed twice, a conclusion told twice). A case counts as lost only
  if the store accepted it and it never concluded (or a receipt names a case the store lacks);
- `degraded`: cases accepted and concluded per second from the injection until the fault is
  undone (a cluster fault: its node back, at least `outage` seconds later; the others: until
  recovered), beside the rate offered.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from notify_svc.store import LEASE_SECONDS
from services.contracts import new_envelope
from services.relay import DEAD_LETTER_QUEUE, Publisher

from .audit import BROKEN, CONCLUDED, LOST, WAITING, Store, audit, tally, unsettled_cases
from .clusterfaults import CLUSTER_FAULTS, baseline
from .events import subscriptions
from .loadgen import Books, run_load
from .processes import SERVICES, commands
from .sandbox import Gateway, free_port, free_port_block, sandbox
from .settings import SystemSettings
from .system import System

OUTAGE_SECONDS = 5.0
READY_SECONDS = 120.0
RECOVERY_SECONDS = 180.0
DRAIN_SECONDS = 180.0
CLIENT_DRAIN_SECONDS = 120.0
POISON_MESSAGES = 3
REPUBLISHED_PER_SERVICE = 20
PROCESSES = [name for name, _ in commands("python")]


class Run:
    """One chaos run: the system, its private servers, and what the faults left to expect."""

    def __init__(self, system: System, postgres, rabbit, gateway: Gateway, outage: float, echo):
        self.system, self.postgres, self.rabbit, self.gateway, self.echo = system, postgres, rabbit, gateway, echo
        self.outage = outage
        self.settings = system.settings
        self.poison: set[str] = set()
        self.seen: set[tuple[str, str]] = set()  # findings already reported by an earlier fault
        self.cursors: dict[str, int] = {}  # where the departments' watches resume, batch after batch
        self.later = None  # what undoes a cluster fault once its recovery is measured: () -> detail

    def query(self, sql: str, params=()) -> list[tuple] | None:
        """A fresh connection per query, so that polling survives the database restarting; None
        while it is away."""
        try:
            with psycopg.connect(self.settings.database_url, autocommit=True, connect_timeout=2) as conn:
                return conn.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            return None

    def until(self, ready, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def unsettled(self) -> set[str] | None:
        try:
            with Store(self.settings.database_url) as store:
                return {n for n, _ in unsettled_cases(store)}
        except psycopg.OperationalError:
            return None

    def ready(self) -> list[str]:
        """Every process ready; a process that died meanwhile is started again and named."""
        died = [name for name, proc in self.system.procs.items() if proc.poll() is not None]
        for name in died:
            self.system.start(name)
        self.system.wait_ready(timeout=READY_SECONDS)
        return died

    def drained(self, final: bool) -> bool:
        """Nothing left to do: every case settled, every outbox row published, every queue but the
        dead letters empty (unacknowledged messages included), no notice due. Notices a killed
        sender held wait for its lease; only the final drain waits for them."""
        waiting = "status IN ('pending', 'sending')" if final else "status = 'pending' AND next_at <= now()"
        outstanding = self.query(
            "SELECT (SELECT count(*) FROM intake.cases WHERE NOT status = ANY(%s))"
            + "".join(f" + (SELECT count(*) FROM {s.name}.outbox WHERE published_at IS NULL)" for s in SERVICES)
            + f" + (SELECT count(*) FROM notify.deliveries WHERE {waiting})", [sorted(CONCLUDED | WAITING)])
        if outstanding is None or outstanding[0][0]:
            return False
        try:
            depths = self.rabbit.queue_depths()
        except RuntimeError:  # the node not answering yet
            return False
        return not any(n for name, n in depths.items() if name != DEAD_LETTER_QUEUE)

    def drain(self, final: bool = False) -> None:
        if not self.until(lambda: self.drained(final), DRAIN_SECONDS + (LEASE_SECONDS if final else 0)):
            self.echo("chaos: the system did not drain in time; auditing as it stands")

    def audit(self) -> list[tuple[str, str]]:
        # the gateway's record is read after the store's: notices still being sent (a batch's drain
        # does not wait for leased ones) are then either not yet marked sent, or already at the gateway
        return audit(self.settings.database_url, self.settings.amqp_url, self.poison, self.gateway.snapshot)

    def play(self, fault: str, cases: int, rate: float) -> dict:
        before = {n for (n,) in self.query("SELECT case_number FROM intake.cases")}
        books, outcome = Books(), {}

        def load():
            try:
                outcome["load"] = run_load(self.settings, cases=cases, rate=rate, concurrency=16, progress=False,
                                           echo=lambda _: None, drain=CLIENT_DRAIN_SECONDS, books=books,
                                           cursors=self.cursors)
            except Exception as exc:  # reported as a finding: the clients themselves broke
                outcome["error"] = f"{type(exc).__name__}: {exc}"

        flow = threading.Thread(target=load, name=f"load-{fault}", daemon=True)  # not waited for at a SIGTERM
        flow.start()
        self.until(lambda: not flow.is_alive() or len(self.query("SELECT case_number FROM intake.cases") or [])
                   - len(before) >= max(2, cases // 4), RECOVERY_SECONDS)
        in_flight = (self.unsettled() or set()) - before
        counted = self.counts()
        injected = time.monotonic()
        self.later = None
        detail = ALL_FAULTS[fault](self) or {}
        died = self.ready()
        ready_s = time.monotonic() - injected
        recovered = self.until(lambda: self._recovered(in_flight), RECOVERY_SECONDS)
        recovery_s = time.monotonic() - injected
        if self.later is not None:  # a cluster runs short of a node for the outage at least
            time.sleep(max(0.0, injected + self.outage - time.monotonic()))
        degraded = self.degraded(counted, time.monotonic() - injected, rate)
        if self.later is not None:
            detail.update(self.later())
        flow.join()
        self.drain()
        if fault == "duplicates":
            detail["dropped"] = self.duplicates_dropped() - detail.pop("dropped_before")
        found = self.audit()
        found += [(BROKEN, f"{name} exited during the fault") for name in died]
        found += [(BROKEN, f"the clients failed: {outcome['error']}")] if "error" in outcome else []
        if not recovered:
            found.append((BROKEN, f"cases in flight not concluded {RECOVERY_SECONDS:.0f}s after the fault"))
        if fault == "duplicates" and detail["dropped"] != detail["expected_drops"]:
            found.append((BROKEN, f"the inboxes dropped {detail['dropped']} copies, "
                                  f"{detail['expected_drops']} expected"))
        batch = {n for (n,) in self.query("SELECT case_number FROM intake.cases")} - before
        found += [(LOST, f"receipt for {n}, which the store does not have") for n in sorted(set(books.cases) - batch)]
        new = [f for f in found if f not in self.seen]
        self.seen.update(found)
        counts = tally(new)
        client = outcome.get("load", {})
        counts["duplicated"] += client.get("duplicated", 0)
        row = {"fault": fault, "cases": len(batch), "in_flight": len(in_flight), **counts,
               "ready_s": round(ready_s, 1), "recovery_s": round(recovery_s, 1), "degraded": degraded,
               "client": {"receipts": len(books.cases), "told_concluded": client.get("concluded", 0),
                          "errors": client.get("errors", dict(books.errors))},
               "detail": detail, "findings": [f"{kind}: {text}" for kind, text in new[:20]]}
        self.echo(f"chaos: {fault}: {row['cases']} cases, {row['in_flight']} in flight, lost {row['lost']}, "
                  f"duplicated {row['duplicated']}, broken {row['broken']}, recovered in {row['recovery_s']} s")
        return row

    def counts(self) -> tuple[int, int]:
        """Cases accepted and concluded so far."""
        found = None
        while found is None:  # after a recovery the database answers; before a fault it does
            found = self.query("SELECT count(*), count(*) FILTER (WHERE status = ANY(%s)) FROM intake.cases",
                               [sorted(CONCLUDED)])
        return found[0]

    def degraded(self, counted: tuple[int, int], seconds: float, rate: float) -> dict:
        accepted, concluded = (now - then for now, then in zip(self.counts(), counted))
        return {"s": round(seconds, 1), "offered_per_s": rate, "accepted_per_s": round(accepted / seconds, 1),
                "concluded_per_s": round(concluded / seconds, 1)}

    def _recovered(self, in_flight: set[str]) -> bool:
        open_now = self.unsettled()
        if open_now is None or open_now & in_flight:
            return False
        if not self.poison:
            return True
        dead = self.query("SELECT count(*) FROM intake.inbox WHERE outcome = 'dead_lettered' "
                          "AND message_id::text = ANY(%s)", [sorted(self.poison)])
        return dead is not None and dead[0][0] == len(self.poison)

    def duplicates_dropped(self) -> int:
        """Messages the bus processes' inboxes found already handled, from their /metrics."""
        total = 0
        for name, port in self.system.metrics_ports.items():
            if not name.endswith("-bus"):
                continue
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            total += sum(s.value for f in text_string_to_metric_families(text) if f.name == "onewindow_messages_handled"
                         for s in f.samples if s.name.endswith("_total") and s.labels.get("outcome") == "duplicate")
        return int(total)


def _kill(name: str):
    def inject(run: Run) -> dict:
        proc = run.system.procs[name]
        proc.kill()
        proc.wait()
        run.system.start(name)
        return {}
    return inject


def _rabbitmq(run: Run) -> dict:
    run.rabbit.stop_app()
    time.sleep(run.outage)  # the outage itself: how long the broker stays away
    run.rabbit.start_app()
    return {"outage_s": run.outage}


def _postgres(run: Run) -> dict:
    run.postgres.stop("immediate")
    time.sleep(run.outage)  # the outage itself
    run.postgres.start()
    return {"outage_s": run.outage}


def _poison(run: Run) -> dict:
    publisher = Publisher.for_events(run.settings.amqp_url, "notify")
    try:
        for _ in range(POISON_MESSAGES):
            envelope = new_envelope("notify", "NoticeDelivered", f"NOSUCHCASE{uuid.uuid4().hex[:8]}",
                                    {"notice": "receipt", "channel": "sms", "recipient": "139****0000"},
                                    dt.datetime.now(dt.timezone.utc))
            publisher.publish(envelope.to_wire(), envelope.type, str(envelope.id))
            run.poison.add(str(envelope.id))
    finally:
        publisher.close()
    return {"poison": POISON_MESSAGES}


def _subscribers() -> Counter:
    """(source, event type) → how many handlers consume it."""
    return Counter((handler.source, handler.event) for _, handler in subscriptions())


def _duplicates(run: Run) -> dict:
    subscribers, expected, republished = _subscribers(), 0, 0
    before = run.duplicates_dropped()
    for service in SERVICES:
        envelopes = [e for (e,) in run.query(f"SELECT envelope FROM {service.name}.outbox WHERE published_at "
                                             "IS NOT NULL ORDER BY seq DESC LIMIT %s", [REPUBLISHED_PER_SERVICE])]
        publisher = Publisher.for_events(run.settings.amqp_url, service.name)
        try:
            for _ in range(2):  # twice, newest first: copies, and out of their order
                for envelope in envelopes:
                    publisher.publish(envelope, envelope["type"], envelope["id"])
        finally:
            publisher.close()
        republished += 2 * len(envelopes)
        expected += 2 * sum(subscribers[(service.name, e["type"])] for e in envelopes)
    return {"republished": republished, "expected_drops": expected, "dropped_before": before}


FAULTS = {**{f"kill-{name}": _kill(name) for name in PROCESSES},
          "rabbitmq": _rabbitmq, "postgres": _postgres, "poison": _poison, "duplicates": _duplicates}
# FAULTS: the default run's, on single servers. `baseline` injects nothing: its row's throughput,
# over the same window as a cluster fault's, is what the faults' rows compare with.
ALL_FAULTS = {**FAULTS, **CLUSTER_FAULTS, "baseline": baseline}


def check_faults(names: list[str]) -> list[str]:
    """The names, if every one is a fault; ValueError naming the others and the known ones."""
    unknown = [n for n in names if n not in ALL_FAULTS]
    if unknown:
        raise ValueError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(ALL_FAULTS)}")
    return names


def run_chaos(settings: SystemSettings, *, cases_per_fault: int = 100, rate: float = 15.0,
              faults: list[str] | None = None, echo=print, log_dir: Path | None = None,
              outage: float = OUTAGE_SECONDS) -> dict:
    """Every fault named (those of FAULTS by default, in its order), each during a batch of
    `cases_per_fault` cases submitted at `rate` per second, on servers of the run's own (only
    the reference files and tuning of `settings` are used): clusters if a cluster fault is named.
    Returns the figures, `ok` False if anything was lost, duplicated or broken. Logs go to
    `log_dir` (default: a new temporary one)."""
    names = check_faults(list(faults or FAULTS))
    cluster = any(name in CLUSTER_FAULTS for name in names)
    work = log_dir or Path(tempfile.mkdtemp(prefix="onewindow-chaos-"))
    started = time.monotonic()
    with sandbox(work / "servers", cluster=cluster) as (postgres, rabbit), Gateway() as gateway:
        intake_port, desk_port, supervision_port = free_port(), free_port(), free_port()
        run_settings = settings.model_copy(update={
            "database_url": postgres.url("onewindow"), "amqp_url": rabbit.url(), "intake_port": intake_port,
            "desk_port": desk_port, "supervision_port": supervision_port, "identity_port": free_port(),
            "desk_tokens": work / "tokens.yaml", "signing_keys": work / "signing-keys.yaml",
            "web_port": free_port(), "web_secret": work / "web-secret.yaml", "sms_gateway_url": gateway.url,
            "sms_gateway_token": None, "smtp_host": None, "notify_webhooks": None,
            "metrics_port": 0, "queue_type": "quorum" if cluster else settings.queue_type})
        echo(f"chaos: private PostgreSQL on port {postgres.port}, RabbitMQ node {rabbit.node} on port {rabbit.port}; "
             f"logs in {work / 'logs'}")
        system = System(run_settings, work / "logs", metrics_base=free_port_block(len(PROCESSES)), scratch=True)
        with system:
            run = Run(system, postgres, rabbit, gateway, outage, echo)
            rows = [run.play(name, cases_per_fault, rate) for name in names]
            run.drain(final=True)
            final = run.audit()
    totals = {key: sum(r[key] for r in rows) for key in ("cases", "in_flight", "lost", "duplicated", "broken")}
    end = tally(final)
    ok = not any(totals[k] for k in ("lost", "duplicated", "broken")) and not any(end.values())
    return {"faults": rows, "totals": {**totals, "recovery_max_s": max((r["recovery_s"] for r in rows), default=0.0)},
            "final": {**end, "findings": [f"{kind}: {text}" for kind, text in final[:50]]},
            "gateway": {"messages": sum(gateway.received.values()), "repeated_with_same_key": gateway.repeated},
            "ok": ok, "cases_per_fault": cases_per_fault, "rate": rate, "outage_s": outage, "cores": os.cpu_count(),
            "duration_s": round(time.monotonic() - started, 1)}


def report_lines(result: dict) -> list[str]:
    """The table: one row per fault, the totals, the final audit, and the findings if any."""
    from tabulate import tabulate

    rows = [[r["fault"], r["cases"], r["in_flight"], r["lost"], r["duplicated"], r["broken"], r["ready_s"],
             r["recovery_s"], r["degraded"]["accepted_per_s"], r["degraded"]["concluded_per_s"]]
            for r in result["faults"]]
    t = result["totals"]
    rows.append(["total", t["cases"], t["in_flight"], t["lost"], t["duplicated"], t["broken"], "",
                 f"max {t['recovery_max_s']}", "", ""])
    lines = tabulate(rows, headers=["fault", "cases", "in flight", "lost", "duplicated", "failed checks",
                                    "ready s", "recovery s", "accepted/s", "concluded/s"],
                     tablefmt="simple", floatfmt=".1f").splitlines()
    f = result["final"]
    lines.append(f"after the last fault, drained: lost {f['lost']}, duplicated {f['duplicated']}, "
                 f"failed checks {f['broken']}; {result['cores']} cores, {result['duration_s']} s")
    lines.append(f"accepted/s, concluded/s: while degraded, at {result['rate']}/s offered")
    for r in result["faults"]:
        if r["fault"] in CLUSTER_FAULTS:
            lines.append(f"  {r['fault']}: " + ", ".join(f"{k} {v}" for k, v in r["detail"].items())
                         + f"; degraded {r['degraded']['s']} s")
        lines += [f"  {r['fault']}: {finding}" for finding in r["findings"]]
    lines += [f"  final: {finding}" for finding in f["findings"]]
    lines.append("chaos: " + ("every case concluded once, nothing lost, nothing twice" if result["ok"] else "FAILED"))
    return lines
