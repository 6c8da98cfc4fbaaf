import datetime as dt
import random

import pytest

from hall.reference import load_reference
from intake_svc.acceptance import id_number_problem, project_code_problem
from tooling.loadgen import application, first_stage_size, parse_mix, percentile
from tooling.settings import SystemSettings

REF = load_reference(SystemSettings())


def test_the_mix_is_parsed_or_refused_clearly():
    assert parse_mix("TZ-002=3, TZ-001=1") == {"TZ-002": 3.0, "TZ-001": 1.0}
    assert parse_mix("MZ-001") == {"MZ-001": 1.0}
    for bad in ("", "TZ-002=x", "TZ-002=0", "=2"):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_nearest_rank_percentiles():
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50, 99, 100)
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) == 0.0


def test_generated_applications_are_complete_and_valid():
    rng = random.Random(3)
    item = REF.catalogue.item("TZ-002")
    for _ in range(200):
        request = application(item, "county-window-development-reform", rng)
        assert id_number_problem(request.applicant.id_number) is None
        assert project_code_problem(request.project_code, dt.date(2026, 11, 25)) is None
    assert {m.code for m in request.materials} == {m.code for m in item.materials}
    assert first_stage_size(item) == 5 and first_stage_size(REF.catalogue.item("MZ-001")) == 1
