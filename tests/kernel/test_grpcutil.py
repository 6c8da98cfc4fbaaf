"""The request checks every gRPC method gets before its use case runs (services.grpcutil)."""
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb

from services.grpcutil import LONGEST_TEXT, MOST_ENTRIES, _cut, oversized_fields


def test_texts_and_lists_longer_than_any_request_needs_are_named():
    long = "字" * (LONGEST_TEXT + 1)
    request = ipb.SubmitRequest(item_code=long, applicant=ipb.Applicant(name=long),
                                materials=[ipb.ProvidedMaterial(code="ok"), ipb.ProvidedMaterial(defect=long)],
                                form={"k": long, "ok": "fine"})
    assert sorted(f for f, _ in oversized_fields(request)) == [
        "applicant.name", "form['k']", "item_code", "materials[1].defect"]
    many = dpb.ListTasksRequest(statuses=[dpb.CLAIMED] * (MOST_ENTRIES + 1))
    assert oversized_fields(many) == [("statuses", f"at most {MOST_ENTRIES} entries")]
    fine = ipb.SubmitRequest(item_code="x" * LONGEST_TEXT, materials=[ipb.ProvidedMaterial()] * MOST_ENTRIES)
    assert oversized_fields(fine) == []


def test_a_quoted_value_is_cut_to_its_bytes_and_marked():
    assert _cut("short", 10) == "short"
    cut = _cut("字" * 100, 32)
    assert len(cut.encode()) <= 32 and cut.endswith("…") and cut.startswith("字")
