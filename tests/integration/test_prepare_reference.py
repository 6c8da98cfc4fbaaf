"""`migrate` (services.system.prepare) with a bad reference file: it fails with the file and line,
and writes no department tokens."""
from __future__ import annotations

import pytest

from services.config import Settings
from services.db import drop_database
from services.system import prepare, scratch_settings
from services.yamlfile import ConfigFileError


def test_a_bad_org_file_stops_prepare_before_any_token_is_written(tmp_path, database_url, amqp_url):
    org = tmp_path / "org.yaml"
    org.write_text("county: 示范县\ndepartments: [\n", encoding="utf-8")
    tokens = tmp_path / "desk-tokens.yaml"
    # A database of its own: prepare may create it and migrate it before it reads the org chart.
    settings = scratch_settings(Settings(database_url=database_url, amqp_url=amqp_url, org=org, desk_tokens=tokens),
                                "prepare")
    try:
        with pytest.raises(ConfigFileError, match=f"{org}:3: not valid YAML"):
            prepare(settings)
    finally:
        drop_database(settings.database_url)
    assert not tokens.exists()
