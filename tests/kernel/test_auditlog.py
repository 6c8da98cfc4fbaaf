"""The audit log on the real PostgreSQL: the chain verifies, and tampering by someone with database
rights (triggers disabled) shows at the entry where it happened; the normal path cannot change or
delete an entry; pruning keeps the chain verifiable; concurrent appends make one gapless chain."""
from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest

from services import auditlog
from services.auditlog import AuditEntry, append, check_entries, export, prune, verify
from services.db import open_pool
from services.timesource import CHINA

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=CHINA)


@pytest.fixture
def pool(database_url, schema):
    pool = open_pool(database_url, schema, max_size=10)
    yield pool
    pool.close()


def entry(n: int, **fields) -> AuditEntry:
    return AuditEntry(**{"action": "desk.Claim", "person": "1001", "post": "zhangqiao-desk/acceptance_clerk/1",
                         "organisation": "zhangqiao-desk", "client": "10.0.0.7", "target": f"TASK-{n}",
                         "detail": "认领 张三", **fields})


def fill(pool, count: int, start: dt.datetime = T0, step: dt.timedelta = dt.timedelta(days=1)) -> list[int]:
    seqs = []
    for n in range(count):
        with pool.connection() as conn:
            seqs.append(append(conn, entry(n), start + n * step))
    return seqs


def tamper(pool, *statements: str, params=None) -> None:
    """What a superuser can do: switch the triggers off, change the table, switch them on."""
    with pool.connection() as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        for statement in statements:
            conn.execute(statement, params)
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER ALL")


def check(pool) -> auditlog.ChainCheck:
    with pool.connection() as conn:
        return verify(conn)


def test_appends_make_a_chain_that_verifies(pool):
    assert check(pool) == auditlog.ChainCheck(0, True)
    assert fill(pool, 5) == [1, 2, 3, 4, 5]
    with pool.connection() as conn:
        append(conn, AuditEntry("identity.SignIn", "UNAUTHENTICATED", person="1002", client="10.0.0.8"), T0)
        rows = conn.execute("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq").fetchall()
        head = conn.execute("SELECT last_seq, last_hash FROM audit_head").fetchone()
    assert check(pool) == auditlog.ChainCheck(6, True)
    assert rows[0][1] == auditlog.GENESIS and all(rows[i][1] == rows[i - 1][2] for i in range(1, 6))
    assert head == (6, rows[-1][2])


def test_the_server_hashes_the_very_bytes_python_checks_whatever_the_fields_hold(pool):
    tricky = ['"seq":0', '"prev_hash":""', '\\"seq\\":0 ,"seq":1}', "认领 «引号» \\ \u2028", "\t\n\u0001"]
    with pool.connection() as conn:
        for n, text in enumerate(tricky, start=1):
            assert append(conn, AuditEntry("desk.Claim", detail=text, target=text, person=f"{n}"), T0) == n
        rows = conn.execute("SELECT seq, at, action, result, person, post, organisation, holder, client, target, "
                            "detail, prev_hash, hash FROM audit_log ORDER BY seq").fetchall()
    for row in rows:
        body = dict(zip(auditlog.COLUMNS, row))
        body["at"] = auditlog.utc_iso(body["at"])
        assert auditlog.entry_hash(body) == body["hash"], body["detail"]
    assert check(pool) == auditlog.ChainCheck(len(tricky), True)


def test_an_entry_rolls_back_with_its_act(pool):
    fill(pool, 2)
    with pytest.raises(RuntimeError), pool.connection() as conn:
        append(conn, entry(9), T0)
        raise RuntimeError("the act failed")
    assert fill(pool, 1) == [3] and check(pool).ok


def test_an_entry_outside_a_transaction_is_refused(database_url, schema):
    with psycopg.connect(database_url, autocommit=True, options=f"-c search_path={schema}") as conn:
        with pytest.raises(RuntimeError, match="transaction"):
            append(conn, entry(1), T0)
        with conn.transaction():
            assert append(conn, entry(1), T0) == 1


def test_an_entry_is_not_an_entry_without_action_or_with_a_made_up_result():
    with pytest.raises(ValueError):
        AuditEntry("")
    with pytest.raises(ValueError):
        AuditEntry("desk.Claim", "DENIED")
    with pytest.raises(ValueError):
        auditlog.utc_iso(dt.datetime(2026, 1, 5))


@pytest.mark.parametrize("column, value", [("detail", "认领 李四"), ("person", "1003"), ("result", "OK "),
                                           ("at", "2026-01-01T00:00:00Z")])
def test_an_edited_field_is_found_at_its_entry(pool, column, value):
    fill(pool, 5)
    tamper(pool, f"UPDATE audit_log SET {column} = %s WHERE seq = 3", params=[value])
    found = check(pool)
    assert (found.ok, found.first_bad_seq, found.entries) == (False, 3, 5)
    assert "edited" in found.reason


def test_an_edit_with_its_hash_recomputed_breaks_the_link_to_the_next(pool):
    fill(pool, 5)
    with pool.connection() as conn:
        forged = next(e for e in list(export(conn, T0, T0 + dt.timedelta(days=9))) if e["seq"] == 3)
    forged["detail"] = "nothing happened"
    tamper(pool, "UPDATE audit_log SET detail = %s, hash = %s WHERE seq = 3",
           params=[forged["detail"], auditlog.entry_hash(forged)])
    found = check(pool)
    assert (found.ok, found.first_bad_seq) == (False, 4) and "does not follow" in found.reason


def test_a_deleted_entry_in_the_middle_is_found(pool):
    fill(pool, 5)
    tamper(pool, "DELETE FROM audit_log WHERE seq = 2")
    found = check(pool)
    assert (found.ok, found.first_bad_seq, found.entries) == (False, 2, 4)
    assert "missing" in found.reason


def test_a_deleted_last_entry_is_found_by_the_head(pool):
    fill(pool, 5)
    tamper(pool, "DELETE FROM audit_log WHERE seq = 5")
    found = check(pool)
    assert (found.ok, found.first_bad_seq) == (False, 5) and "head records entry 5" in found.reason


def test_re_ordered_entries_are_found(pool):
    fill(pool, 5)
    tamper(pool, "UPDATE audit_log SET seq = -2 WHERE seq = 2", "UPDATE audit_log SET seq = 2 WHERE seq = 3",
           "UPDATE audit_log SET seq = 3 WHERE seq = -2")
    found = check(pool)
    assert (found.ok, found.first_bad_seq) == (False, 2)


def test_the_normal_path_cannot_change_or_delete_an_entry(pool):
    fill(pool, 2)
    for statement in ("UPDATE audit_log SET detail = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1",
                      "TRUNCATE audit_log", "DELETE FROM audit_head"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"), pool.connection() as conn:
            conn.execute(statement)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), pool.connection() as conn:
        conn.execute("SELECT set_config('onewindow.audit_prune', 'on', false)")  # not the prune's path
        conn.execute("UPDATE audit_log SET detail = 'x' WHERE seq = 1")
    assert check(pool) == auditlog.ChainCheck(2, True)


def test_prune_keeps_the_anchor_and_the_chain_still_verifies(pool):
    now = T0 + dt.timedelta(days=400)
    fill(pool, 10, step=dt.timedelta(days=30))  # days 0, 30, …, 270: older than 200 days: 0 … 180
    with pool.connection() as conn:
        seventh = conn.execute("SELECT hash FROM audit_log WHERE seq = 7").fetchone()[0]
    assert prune(pool, keep_days=200, now=now, batch=3) == 7
    with pool.connection() as conn:
        assert conn.execute("SELECT anchor_seq, anchor_hash FROM audit_head").fetchone() == (7, seventh)
        assert [r[0] for r in conn.execute("SELECT seq FROM audit_log ORDER BY seq")] == [8, 9, 10]
    assert check(pool) == auditlog.ChainCheck(3, True)
    assert fill(pool, 1, start=now) == [11] and check(pool).ok
    assert prune(pool, keep_days=200, now=now) == 0

    tamper(pool, "UPDATE audit_log SET target = 'TASK-X' WHERE seq = 9")
    found = check(pool)
    assert (found.ok, found.first_bad_seq) == (False, 9)


def test_prune_stops_at_the_first_young_entry(pool):
    """A caller's `at` may step back a little behind a concurrent act's: an old entry after a young
    one stays, or the chain would have a hole."""
    for n, day in enumerate([0, 1, 300, 2, 301]):
        with pool.connection() as conn:
            append(conn, entry(n), T0 + dt.timedelta(days=day))
    with psycopg.connect(pool.conninfo, options=pool.kwargs["options"], autocommit=True) as conn:
        assert prune(conn, keep_days=183, now=T0 + dt.timedelta(days=400)) == 2
        assert verify(conn) == auditlog.ChainCheck(3, True)


def test_prune_keeps_at_least_six_months(pool):
    with pytest.raises(ValueError, match="183"):
        prune(pool, keep_days=182, now=T0)


def test_every_entry_goes_when_all_are_old_and_the_chain_goes_on(pool):
    fill(pool, 4)
    assert prune(pool, keep_days=183, now=T0 + dt.timedelta(days=365)) == 4
    assert check(pool) == auditlog.ChainCheck(0, True)
    fill(pool, 2)
    assert check(pool) == auditlog.ChainCheck(2, True)


def test_concurrent_appends_make_one_gapless_chain(pool):
    threads, each = 8, 25
    errors = []

    def work():
        try:
            for n in range(each):
                with pool.connection() as conn:
                    conn.execute("SELECT 1")  # the act itself
                    append(conn, entry(n), dt.datetime.now(CHINA))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    with pool.connection() as conn:
        assert [r[0] for r in conn.execute("SELECT seq FROM audit_log ORDER BY seq")] == \
            list(range(1, threads * each + 1))
    assert check(pool) == auditlog.ChainCheck(threads * each, True)


def test_an_exported_period_checks_on_its_own(pool):
    fill(pool, 10)  # one a day from T0
    with pool.connection() as conn:
        period = list(export(conn, T0 + dt.timedelta(days=3), T0 + dt.timedelta(days=6)))
    assert [e["seq"] for e in period] == [4, 5, 6]
    assert period[0]["at"] == "2026-01-08T01:00:00.000000+00:00"
    assert period[0]["detail"] == "认领 张三" and period[0]["prev_hash"] != auditlog.GENESIS
    assert {"seq", "at", "action", "result", "person", "post", "organisation", "holder", "client", "target",
            "detail", "prev_hash", "hash"} == set(period[0])
    assert check_entries(period) == auditlog.ChainCheck(3, True)
    period[1]["client"] = "10.0.0.99"
    assert check_entries(period) == auditlog.ChainCheck(3, False, 5, "entry 5 does not match its hash (edited)")
    assert check_entries([period[0], period[2]]).first_bad_seq == 5
