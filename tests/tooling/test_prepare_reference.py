"""`migrate` (tooling.system.prepare) with a bad reference file: it fails with the file and line
before it touches the database, the broker or the tokens file."""
from __future__ import annotations

import pytest

from services.yamlfile import ConfigFileError
from tooling.settings import SystemSettings
from tooling.system import prepare


def test_a_bad_org_file_stops_prepare_before_anything_is_written(tmp_path):
    org = tmp_path / "org.yaml"
    org.write_text("county: 示范县\ndepartments: [\n", encoding="utf-8")
    tokens = tmp_path / "desk-tokens.yaml"
    # Nothing answers on port 1: reaching the database or the broker first would fail otherwise.
    settings = SystemSettings(org=org, desk_tokens=tokens, database_url="postgresql://postgres@127.0.0.1:1/none",
                        amqp_url="amqp://guest:guest@127.0.0.1:1/")
    with pytest.raises(ConfigFileError, match=f"{org}:3: not valid YAML"):
        prepare(settings, scratch=True)
    assert not tokens.exists()
