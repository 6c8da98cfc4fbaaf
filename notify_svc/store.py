"""Notify's tables: the applicant's contact and accepting organisation per case, and the deliveries with
their state."""
from __future__ import annotations

from psycopg.rows import dict_row

from services.uow import UnitOfWork

LEASE_SECONDS = 60  # a notice being sent by a process that died is tried again after this


def save_contact(uow: UnitOfWork, case_number: str, item_code: str, contact: dict, organisation: str,
                 agent: str = "") -> None:
    """The applicant's contact, the accepting organisation (the window the notices name) and the proxy
    agent carrying the case (kept once known: not every first event names it)."""
    uow.execute("INSERT INTO contacts (case_number, item_code, name, phone, email, organisation, agent) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (case_number) DO UPDATE SET name = excluded.name, phone = excluded.phone, "
                "email = excluded.email, organisation = excluded.organisation, "
                "agent = CASE WHEN excluded.agent = '' THEN contacts.agent ELSE excluded.agent END",
                [case_number, item_code, contact["name"], contact["phone"], contact.get("email", ""), organisation,
                 agent])


def change_agent(uow: UnitOfWork, case_number: str, agent: str) -> bool:
    """The proxy agent notices of the case go to from now on; False while the case's contact is not known."""
    return uow.execute("UPDATE contacts SET agent = %s WHERE case_number = %s", [agent, case_number]).rowcount > 0


def contact(uow: UnitOfWork, case_number: str | None) -> dict | None:
    if not case_number:
        return None
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM contacts WHERE case_number = %s", [case_number]).fetchone()


def plan(uow: UnitOfWork, event_id, case_number: str | None, notice: str, channel: str, recipient: str,
         subject: str, body: str) -> None:
    uow.execute("INSERT INTO deliveries (event_id, case_number, notice, channel, recipient, subject, body) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [event_id, case_number, notice, channel, recipient, subject, body])


def claim_due(uow: UnitOfWork, limit: int) -> list[dict]:
    """Due deliveries, leased to this process: pending ones whose time came, and sending ones
    whose sender's lease ran out. Replicas take different rows (SKIP LOCKED)."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, "
        "next_at = now() + make_interval(secs => %s) "
        "WHERE id IN (SELECT id FROM deliveries WHERE status IN ('pending', 'sending') AND next_at <= now() "
        "ORDER BY next_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *", [LEASE_SECONDS, limit]).fetchall()


def mark_sent(uow: UnitOfWork, delivery_id: int) -> None:
    uow.execute("UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = %s",
                [delivery_id])


def retry_later(uow: UnitOfWork, delivery_id: int, delay_seconds: float, error: str) -> None:
    uow.execute("UPDATE deliveries SET status = 'pending', next_at = now() + make_interval(secs => %s), "
                "last_error = %s WHERE id = %s", [delay_seconds, error, delivery_id])


def mark_dead(uow: UnitOfWork, delivery_id: int, error: str) -> None:
    uow.execute("UPDATE deliveries SET status = 'dead', last_error = %s WHERE id = %s", [error, delivery_id])
