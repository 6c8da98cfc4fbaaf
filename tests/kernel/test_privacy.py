from onewindow.intake.v1 import intake_pb2 as ipb

from services.grpcutil import nul_fields
from services.privacy import mask_id, mask_name, mask_phone


def test_masks_keep_only_what_identifies_nobody():
    assert mask_id("340521199001011237") == "3405**********1237"
    assert mask_phone("13900001234") == "139****1234"
    assert (mask_name("王小明"), mask_name("王明"), mask_name("欧阳小明")) == ("王*明", "王*", "欧**明")
    assert mask_id("123") == "***" and mask_phone("12345") == "*****"


def test_nul_characters_are_found_in_every_kind_of_field():
    request = ipb.SubmitRequest(item_code="A\x00", applicant=ipb.Applicant(name="x\x00"),
                                materials=[ipb.ProvidedMaterial(code="ok"), ipb.ProvidedMaterial(defect="\x00")],
                                form={"k": "v\x00", "ok": "fine"})
    assert sorted(nul_fields(request)) == ["applicant.name", "form['k']", "item_code", "materials[1].defect"]
    assert nul_fields(ipb.SubmitRequest(item_code="fine")) == []
