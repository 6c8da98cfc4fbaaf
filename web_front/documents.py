"""The printed documents of a window (受理回执, 一次性告知书, 不予受理告知书, 容缺承诺书, 办理进度告知书, and
for a proxy case the 代办服务委托单 the applicant and the agent sign):
one Jinja2 template each, shown on screen, printed on A4 by the browser (the style sheet's print
rules) and made into a PDF by WeasyPrint from the same HTML. The QR code on the receipt is an SVG
made by segno, inline, so the page, the print and the PDF carry the same one."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import segno

from hall.domain import CaseStatus

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Document:
    slug: str  # its address under the case: /desk/cases/{number}/{slug}
    title: str  # msgid
    template: str


RECEIPT = Document("receipt", "受理回执", "doc_receipt.html")
NOTICE = Document("notice", "一次性告知书", "doc_notice.html")
REFUSAL = Document("refusal", "不予受理告知书", "doc_refusal.html")
COMMITMENT = Document("commitment", "容缺承诺书", "doc_commitment.html")
PROGRESS = Document("progress", "办理进度告知书", "doc_progress.html")
CONSENT = Document("consent", "代办服务委托单", "doc_consent.html")  # its number is the case's consent reference
# 村委会证明、意见: what a village room issued on the spot; its case number is cited as another item's material
CERTIFICATE = Document("certificate", "村民委员会证明（意见）", "doc_certificate.html")
DOCUMENTS = {d.slug: d for d in (RECEIPT, NOTICE, REFUSAL, COMMITMENT, PROGRESS, CONSENT, CERTIFICATE)}

_ACCEPTED = {s.value for s in CaseStatus} - {CaseStatus.SUPPLEMENT_REQUIRED.value, CaseStatus.NOT_ACCEPTED.value,
                                              CaseStatus.CONSULTED.value, CaseStatus.WITHDRAWN.value}


def documents_of(case, village: bool = False) -> list[Document]:
    """The documents a case has, in the order a clerk hands them over (a CaseView). A proxy case's
    consent form (委托单) is printed at acceptance, and with a one-time notice: the agent carries the case on.
    A village committee's matter (`village`) issued on the spot has its certificate first."""
    proxy = [CONSENT] if getattr(case, "consent_ref", "") else []
    if case.status == CaseStatus.NOT_ACCEPTED.value:
        return [REFUSAL]
    if case.status == CaseStatus.SUPPLEMENT_REQUIRED.value:
        return [NOTICE, *proxy]
    if case.status not in _ACCEPTED:
        return []
    issued = village and case.status == CaseStatus.CONCLUDED.value and case.result == "issued"
    found = [CERTIFICATE] if issued else []
    found += [RECEIPT, *proxy]
    if case.commitment_deadline:
        found.append(COMMITMENT)
    return [*found, PROGRESS]


def qr_svg(text: str) -> str:
    """A QR code of `text` as an SVG data URI (the pages' CSP allows data: images)."""
    return segno.make(text, error="m").svg_data_uri(scale=4, border=2)


def _static_only():
    """WeasyPrint's fetcher for a document: its style sheet from this folder and inline images,
    nothing from the network or elsewhere on disk."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            prefix = "file:///static/"
            if url.startswith(prefix):
                path = (STATIC / url[len(prefix):]).resolve()
                if path.parent == STATIC.resolve() and path.suffix == ".css" and path.is_file():
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": "text/css"})
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise ValueError(f"a document loads only its style sheet and inline images, not {url[:60]}")

    return StaticOnly()


def pdf(html: str) -> bytes:
    """The PDF of a document's HTML, A4 as the style sheet's print rules lay it out (blocking: call
    it in a worker thread)."""
    from weasyprint import HTML  # imported on first use: it takes a second

    return HTML(string=html, base_url="file:///", url_fetcher=_static_only()).write_pdf()
