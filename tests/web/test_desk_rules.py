"""The desk's rules below any page: the application form built from an item, the fee form, a case
number typed or scanned, which documents a case has."""
from __future__ import annotations

from types import SimpleNamespace as Item

from starlette.datastructures import FormData

from web_front import documents, forms
from web_front.desk import case_number_in
from web_front.links import RatingLinks

ITEM = Item(
    code="GT-001", requires_project_code=True,
    materials=[Item(code="form", name="申请表", essential=True, copies=2, certificate=""),
               Item(code="map", name="宗地图", essential=False, copies=1, certificate="CW-002")],
    fields=[Item(code="site", label="建设地点", required=True, max_length=20),
            Item(code="note", label="备注", required=False, max_length=200)])
APPLICANT = {"applicant_name": "王小明", "id_number": "11010519491231002x", "phone": "139 0000 1234",
             "project_code": "2026-341122-01-01-000001", "f_site": "城关镇"}


def _form(**values) -> forms.Application:
    return forms.application_form(FormData({**APPLICANT, **values}), ITEM, proxy_allowed=True)


def test_a_complete_application_names_each_material_received_and_its_fields():
    application = _form(has_form="1", copies_form="2", has_map="1", defect_map="比例尺不清")
    assert application.form.ok, application.form.errors
    assert application.materials == [("form", ""), ("map", "比例尺不清")]
    assert application.fields == {"site": "城关镇"}
    assert application.form.values["id_number"] == "11010519491231002X"


def test_fewer_copies_than_required_is_a_defect_the_notice_will_name():
    application = _form(has_form="1", copies_form="1", defect_form="缺签字")
    assert application.materials == [("form", "份数不足：应交2份，实交1份；缺签字")]


def test_each_wrong_field_is_named_and_the_values_are_kept():
    application = forms.application_form(FormData({"applicant_name": "", "id_number": "123", "phone": "abc",
                                                   "f_site": "x" * 21, "proxy": "1"}), ITEM, proxy_allowed=False)
    errors = application.form.errors
    assert set(errors) == {"applicant_name", "id_number", "phone", "project_code", "f_site", "proxy", "agent",
                           "consent_ref"}
    assert application.form.values["id_number"] == "123" and application.form.values["f_site"] == "x" * 21


def test_a_refusal_needs_its_reasons_and_skips_what_only_an_acceptance_needs():
    refused = _form(answer="refuse", project_code="", f_site="")
    assert set(refused.form.errors) == {"refusal_reasons"}
    refused = _form(answer="refuse", refusal_reasons="不属于本窗口受理范围\n\n申请人不具备资格 ")
    assert refused.form.ok and refused.reasons == ["不属于本窗口受理范围", "申请人不具备资格"]
    assert set(_form(answer="nonsense").form.errors) == {"answer"}


def test_a_fee_is_at_most_the_items_and_less_needs_a_reason():
    assert forms.fee_form(FormData({"amount_yuan": "20", "receipt_number": "No.0012"}), "20").ok
    assert set(forms.fee_form(FormData({"amount_yuan": "20.01", "receipt_number": "1"}), "20").errors) == {"amount_yuan"}
    assert set(forms.fee_form(FormData({"amount_yuan": "12.5", "receipt_number": ""}), "20").errors) == {
        "receipt_number", "reduction_reason"}
    assert forms.fee_form(FormData({"amount_yuan": "12.50", "receipt_number": "1", "reduction_reason": "低保户减半"}),
                          "25").ok
    assert set(forms.fee_form(FormData({"amount_yuan": "ten", "receipt_number": "1"}), "20").errors) == {"amount_yuan"}


def test_a_case_is_found_by_its_number_or_by_the_receipts_qr_code_however_old():
    links = RatingLinks("k" * 32, "https://hall.example", days=30, clock=lambda: 1_000_000_000)
    assert case_number_in(" 341122202612030001 "[:17] + "0", links) is None
    assert case_number_in("202612030000001", links) == "202612030000001"
    assert case_number_in(links.url("202612030000002"), links) == "202612030000002"  # expired long ago: still found
    forged = RatingLinks("x" * 32, "https://hall.example", days=30).url("202612030000003")
    assert case_number_in(forged, links) is None and case_number_in("https://elsewhere/rate/", links) is None


def test_each_answer_has_its_documents():
    def of(status, commitment=""):
        return [d.slug for d in documents.documents_of(Item(status=status, commitment_deadline=commitment))]

    assert of("accepted") == ["receipt", "progress"]
    assert of("accepted_with_commitment", "2026-12-10") == ["receipt", "commitment", "progress"]
    assert of("supplement_required") == ["notice"]
    assert of("not_accepted") == ["refusal"]
    assert of("concluded") == ["receipt", "progress"] and of("consulted") == [] and of("withdrawn") == []


def test_a_village_committees_certificate_is_cited_by_its_case_number_and_counts_as_received():
    cited = forms.application_form(FormData({**APPLICANT, "has_form": "1", "cert_map": "202602100000001"}), ITEM,
                                   True)
    assert cited.form.ok and cited.certificates == {"map": "202602100000001"} and ("map", "") in cited.materials
    wrong = forms.application_form(FormData({**APPLICANT, "has_form": "1", "cert_map": "12"}), ITEM, True)
    assert list(wrong.form.errors) == ["cert_map"] and wrong.form.values["cert_map"] == "12"
