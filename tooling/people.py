"""County IT's first passwords: set for persons of the staff register, straight in the identity
store (the bootstrap: before anyone can sign in, nobody can call the API as county IT).

`./onewindow passwords` sets one for every active person without a password (or the persons
named), prints them or writes them to a file only its owner can read, to be handed over on paper;
each must be changed at first sign-in. Later resets go through the identity API as county IT."""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from hall.reference import load_reference
from hall.staff import load_staff
from identity_svc import store
from identity_svc.rules import first_password, hash_password
from services.db import open_pool
from services.timesource import SystemTime
from services.uow import unit_of_work_factory

from .settings import SystemSettings


@dataclass(frozen=True)
class FirstPassword:
    staff_number: str
    name: str
    posts: str
    password: str


def set_first_passwords(settings: SystemSettings, staff_numbers: list[str] | None = None,
                        replace: bool = False) -> list[FirstPassword]:
    """First passwords for the named persons (default: every active person without a password);
    `replace`: for the named ones even when they have a password. Unknown staff numbers: ValueError."""
    register = load_staff(settings.staff, load_reference(settings).org)
    if staff_numbers:
        unknown = [s for s in staff_numbers if register.person(s) is None]
        if unknown:
            raise ValueError(f"not in the staff register {settings.staff}: {', '.join(unknown)}")
        persons = [register.person(s) for s in staff_numbers]
    else:
        persons = [p for p in register.persons if p.active]
    pool = open_pool(settings.database_url, "identity", 2, name="identity-passwords")
    out = []
    try:
        with unit_of_work_factory(pool, "identity", "identity", SystemTime())() as uow:
            for person in persons:
                account = store.ensure_account(uow, person.staff_number)
                if account["password_hash"] and not (replace and staff_numbers):
                    continue
                password = first_password()
                store.set_password(uow, person.staff_number, hash_password(password), must_change=True,
                                   at=uow.time.now())
                out.append(FirstPassword(person.staff_number, person.name,
                                         " ".join(h.post_id for h in person.posts), password))
    finally:
        pool.close()
    return out


def write_sheet(passwords: list[FirstPassword], path: Path | None) -> str:
    """The passwords as CSV (staff number, name, posts, first password): to `path`, created readable
    by its owner only, or returned for printing."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["staff_number", "name", "posts", "first_password"])
    writer.writerows([(p.staff_number, p.name, p.posts, p.password) for p in passwords])
    if path is None:
        return buffer.getvalue()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(buffer.getvalue())
    return ""
