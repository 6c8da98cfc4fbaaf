"""一次性收费: the item's fee, collected on an accepted case once, with the fee receipt's number
(收费票据) and, when less than the fee is collected, the reason (减免). Pure: no storage, no transport.

Amounts are kept in fen (分), integers: 1 yuan = 100 fen."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from hall.catalogue import Item
from hall.domain import CaseStatus
from services.errors import InvalidRequest, NotAllowedNow, Violations

from .guide import fee_text

_AMOUNT = re.compile(r"^\d{1,8}(\.\d{1,2})?$", re.ASCII)  # yuan, at most to the fen
# A fee is collected once the case is accepted: at acceptance, while it is handled, or when the
# result is handed over (出证); never on a case not accepted or withdrawn.
COLLECTING = {CaseStatus.ACCEPTED.value, CaseStatus.ACCEPTED_WITH_COMMITMENT.value, CaseStatus.IN_HANDLING.value,
              CaseStatus.WAITING_SUPPLEMENT.value, CaseStatus.CONCLUDED.value}


@dataclass(frozen=True)
class FeePayment:
    """What the clerk records: the client's request id, the amount, the receipt, the reduction's reason."""

    request_id: str
    amount_fen: int
    receipt_number: str
    reduction_reason: str  # '' when the whole fee is collected


def yuan(fen: int) -> str:
    """An amount in fen as the guide prints yuan: "20", "12.50"."""
    return fee_text(Decimal(fen) / 100)


def fen_of(amount: Decimal) -> int:
    return int(amount * 100)


def payment(request_id: str, case_number: str, amount_yuan: str, receipt_number: str,
            reduction_reason: str) -> FeePayment:
    """Field checks that need no case."""
    v = Violations()
    v.require(request_id, "request_id", 64)
    v.require(case_number, "case_number", 64)
    amount = 0
    if not _AMOUNT.match(amount_yuan):
        v.add("amount_yuan", "an amount in yuan such as 20 or 12.50")
    elif (amount := fen_of(Decimal(amount_yuan))) <= 0:
        v.add("amount_yuan", "more than 0")
    v.require(receipt_number, "receipt_number", 64)
    if len(reduction_reason) > 500:
        v.add("reduction_reason", "at most 500 characters")
    v.check()
    return FeePayment(request_id, amount, receipt_number.strip(), reduction_reason.strip())


def collect(pay: FeePayment, item: Item | None, case: dict) -> bool:
    """Whether to record `pay` on `case` (its row: status, number, the fee recorded if any): False for
    the same request again (answered as before); refused when the fee was collected under another
    request, the case is not accepted, the item is free, or the amount does not fit the fee."""
    number = case["case_number"]
    if case["fee_request_id"] is not None:
        recorded = FeePayment(case["fee_request_id"], case["fee_collected_fen"], case["fee_receipt_number"],
                              case["fee_reduction_reason"] or "")
        if pay.request_id != recorded.request_id:
            raise NotAllowedNow(f"the fee of case {number} was already collected (一次性收费), receipt "
                                f"{recorded.receipt_number}")
        if pay != recorded:
            raise InvalidRequest([("request_id", "already used for a different fee")])
        return False
    if case["status"] not in COLLECTING:
        raise NotAllowedNow(f"case {number} is {case['status']}: a fee is collected on an accepted case")
    fee = fen_of(item.fee.amount_yuan) if item else 0
    if fee <= 0:
        raise NotAllowedNow(f"this item is free: case {number} has no fee to collect")
    v = Violations()
    if pay.amount_fen > fee:
        v.add("amount_yuan", f"at most the item's fee, {yuan(fee)} yuan")
    elif pay.amount_fen < fee and not pay.reduction_reason:
        v.add("reduction_reason", f"required: less than the item's fee of {yuan(fee)} yuan (减免)")
    elif pay.amount_fen == fee and pay.reduction_reason:
        v.add("reduction_reason", "only a reduced fee has a reduction reason")
    v.check()
    return True
