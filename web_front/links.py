"""The links the web front signs: a case's rating link, printed on the receipt as a QR code.

A link names its case and when it was made, signed with the front's key (itsdangerous); it is
refused once older than `rating_link_days` or altered. One rating per case is the supervision
service's rule: a used link is refused there."""
from __future__ import annotations

import datetime as dt
import time

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

LINK_KEY = "link_key"  # the web secret file's entry: the key the links are signed with


class BadLink(Exception):
    """Not a link this front signed, or altered."""


class ExpiredLink(Exception):
    """A link this front signed, too old now."""


class RatingLinks:
    def __init__(self, key: str, public_url: str, days: int, clock=time.time):
        signer = type("Signer", (TimestampSigner,), {"get_timestamp": lambda self: int(clock())})
        self._signer = URLSafeTimedSerializer(key, salt="onewindow-rating", signer=signer)
        self.public_url = public_url.rstrip("/")
        self.max_age = dt.timedelta(days=days)

    def path(self, case_number: str) -> str:
        return f"/rate/{self._signer.dumps(case_number)}"

    def url(self, case_number: str) -> str:
        """The whole address, for a QR code."""
        return self.public_url + self.path(case_number)

    def case_named(self, token: str) -> str:
        """The case a link this front signed names, however old (the clerk scanning a receipt's QR
        code to find its case); BadLink if altered or foreign."""
        try:
            case_number = self._signer.loads(token)
        except BadSignature:
            raise BadLink() from None
        if not isinstance(case_number, str):
            raise BadLink()
        return case_number

    def case_of(self, token: str) -> str:
        """The case a link rates; BadLink or ExpiredLink."""
        try:
            case_number = self._signer.loads(token, max_age=int(self.max_age.total_seconds()))
        except SignatureExpired:
            raise ExpiredLink() from None
        except BadSignature:
            raise BadLink() from None
        if not isinstance(case_number, str):
            raise BadLink()
        return case_number
