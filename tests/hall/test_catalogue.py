"""The sample org chart and catalogue load; each kind of bad file gets its own clear error."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hall.catalogue import load_catalogue, load_org
from hall.domain import ItemKind, Level, OrgKind
from services.yamlfile import ConfigFileError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def org():
    return load_org(DEPLOY / "org.yaml")


@pytest.fixture(scope="module")
def catalogue(org):
    return load_catalogue(DEPLOY / "catalogue.yaml", org)


def test_the_sample_county_loads(org, catalogue):
    county_windows = [o for o in org.organisations if o.kind == OrgKind.WINDOW and o.level == Level.COUNTY]
    assert len(county_windows) == 13
    assert {o.kind for o in org.organisations} == set(OrgKind)
    assert any(o.level == Level.VILLAGE for o in org.organisations)
    assert len(catalogue.items) >= 25
    names = " ".join(i.name for i in catalogue.items)
    for word in ("最低生活保障", "残疾", "生育", "婚育", "宅基地", "林木采伐", "户口迁移", "养老保险", "就业", "小额担保贷款", "退休"):
        assert word in names, word
    assert {i.kind for i in catalogue.items} == set(ItemKind)


def test_the_investment_item_has_the_four_construction_stages(org, catalogue):
    item = catalogue.item("TZ-001")
    assert [s.name for s in item.stages] == ["立项用地规划许可", "工程建设许可", "施工许可", "竣工验收"]
    assert item.stages[0].lead == "development_reform"
    assert max(len(s.departments) for s in item.stages) >= 5
    assert sum(s.limit_days for s in item.stages) <= item.promised_limit_days <= item.legal_limit_days <= 120


def broken(tmp_path: Path, name: str, edit) -> Path:
    data = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def item_errors(tmp_path, org, edit) -> tuple[Path, str]:
    path = broken(tmp_path, "catalogue.yaml", edit)
    with pytest.raises(ConfigFileError) as err:
        load_catalogue(path, org)
    return path, str(err.value)


def test_a_missing_field_names_file_line_and_path(tmp_path, org):
    path, message = item_errors(tmp_path, org, lambda d: d["items"][2].pop("legal_basis"))
    code = yaml.safe_load(path.read_text(encoding="utf-8"))["items"][2]["code"]
    assert f"{path}:{line_of(path, code)}: items[2].legal_basis: Field required" in message


def test_a_wrong_value_names_the_field_and_what_was_given(tmp_path, org):
    def edit(d):
        d["items"][0]["materials"][0]["kind"] = "optional"

    path, message = item_errors(tmp_path, org, edit)
    assert f"{path}:{line_of(path, 'kind: optional')}: items[0].materials[0].kind: Input should be 'essential' or 'secondary' (got 'optional')" in message


def test_an_unknown_field_is_refused(tmp_path, org):
    path, message = item_errors(tmp_path, org, lambda d: d["items"][1].update(colour="red"))
    assert f"{path}:{line_of(path, 'colour: red')}: items[1].colour: Extra inputs are not permitted" in message


def test_a_rule_across_fields(tmp_path, org):
    def edit(d):
        d["items"][0]["promised_limit_days"] = d["items"][0]["legal_limit_days"] + 1

    _, message = item_errors(tmp_path, org, edit)
    assert "items[0]: promised_limit_days must not exceed legal_limit_days" in message


def test_a_duplicate_code(tmp_path, org):
    def edit(d):
        d["items"][3]["code"] = d["items"][0]["code"]

    _, message = item_errors(tmp_path, org, edit)
    assert "items[3].code: duplicate code" in message


def test_application_forms_have_fields_with_labels_some_required(catalogue):
    marriage = catalogue.item("MZ-006")
    assert [(f.code, f.label, f.required) for f in marriage.fields][0] == (
        "registration_type", "登记类型（初婚、再婚、复婚）", True)
    assert marriage.field("man_name").required and marriage.field("nope") is None
    investment = catalogue.item("TZ-002")
    assert [f.label for f in investment.fields] == ["项目名称", "建设地点", "总投资（万元）"]
    assert investment.field("project_name").max_length == 200  # by default
    assert catalogue.item("MZ-001").fields == []  # no form beyond the materials
    assert any(f.required for i in catalogue.items for f in i.fields)


def test_a_field_code_twice_in_one_item_names_the_item(tmp_path, org):
    def edit(d):
        item = next(i for i in d["items"] if i["code"] == "MZ-006")
        item["fields"][2]["code"] = item["fields"][0]["code"]

    path, message = item_errors(tmp_path, org, edit)
    index = [i["code"] for i in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]].index("MZ-006")
    assert f"items[{index}].fields[2].code: item MZ-006: duplicate field 'registration_type'" in message


@pytest.mark.parametrize("change, expected", [
    ({"max_length": 0}, "max_length: Input should be greater than or equal to 1"),
    ({"max_length": 2001}, "max_length: Input should be less than or equal to 2000"),
    ({"code": "登记类型"}, "fields[0].code: String should match pattern"),
    ({"label": ""}, "fields[0].label: String should have at least 1 character"),
])
def test_a_bad_form_field(tmp_path, org, change, expected):
    def edit(d):
        next(i for i in d["items"] if i["code"] == "MZ-006")["fields"][0].update(change)

    _, message = item_errors(tmp_path, org, edit)
    assert expected in message


def test_a_department_that_is_not_in_the_org_chart(tmp_path, org):
    _, message = item_errors(tmp_path, org, lambda d: d["items"][0].update(department="ministry_of_magic"))
    assert "items[0].department: unknown department 'ministry_of_magic' (not in the org chart)" in message


def test_a_stage_lead_outside_its_stage(tmp_path, org):
    def edit(d):
        item = next(i for i in d["items"] if i.get("stages"))
        item["stages"][1]["lead"] = next(x for x in item["stages"][0]["departments"] if x not in item["stages"][1]["departments"])

    _, message = item_errors(tmp_path, org, edit)
    assert ".stages[1].lead: the lead must be one of the stage's departments" in message


def test_every_problem_is_reported_at_once(tmp_path, org):
    def edit(d):
        d["items"][0].pop("name")
        d["items"][1]["kind"] = "whenever"

    _, message = item_errors(tmp_path, org, edit)
    assert "items[0].name: Field required" in message and "items[1].kind" in message


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda d: d["organisations"][3].update(parent="nowhere"), "organisations[3].parent: unknown organisation 'nowhere'"),
        (lambda d: d["organisations"].append({**d["organisations"][0], "code": "second-county"}), "there must be exactly one county centre"),
        (lambda d: next(o for o in d["organisations"] if o["kind"] == "window").pop("department"), "must name its department"),
        (lambda d: d["agents"][0].update(quota={"cases": 0, "per": "month"}), "agents[0].quota.cases: Input should be greater than or equal to 1"),
        (lambda d: d["agents"][0].update(group="nowhere"), "agents[0].group: unknown villager group 'nowhere'"),
        (lambda d: d["villager_groups"][0].update(village="zhangqiao-centre"),
         "villager_groups[0].village: 'zhangqiao-centre' is not a village room"),
        (lambda d: next(a for a in d["agents"] if a.get("group")).update(organisation="zhangqiao-dayang-room"),
         "is under zhangqiao-liugang-room"),
    ],
)
def test_bad_org_charts(tmp_path, edit, expected):
    path = broken(tmp_path, "org.yaml", edit)
    with pytest.raises(ConfigFileError) as err:
        load_org(path)
    assert expected in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("items: [\n  {code: A}\n", ":3: not valid YAML"),
        ("- just\n- a list\n", ":1: expected a mapping at the top of the file"),
        ("items: []\n", "items: List should have at least 1 item"),
    ],
)
def test_files_that_are_not_catalogues_at_all(tmp_path, org, text, expected):
    path = tmp_path / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigFileError) as err:
        load_catalogue(path, org)
    assert expected in str(err.value)


def test_a_missing_file(tmp_path, org):
    with pytest.raises(ConfigFileError, match="file not found"):
        load_catalogue(tmp_path / "nope.yaml", org)
