"""Masking personal data wherever it is shown outside the staff's own view."""
from __future__ import annotations

import hashlib


def mask_id(number: str) -> str:
    """身份证号 / 统一社会信用代码: the first 4 and the last 4 characters stay."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def applicant_key(id_number: str, item_code: str) -> str:
    """A digest that tells whether two cases are one applicant's for one item (两头受理) without
    carrying the identity number beyond intake."""
    return hashlib.sha256(f"{id_number.strip().upper()}|{item_code}".encode()).hexdigest()[:32]
