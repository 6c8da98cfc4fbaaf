"""The tokens file: every department gets a token, and existing tokens are never replaced."""
import stat

import yaml

from services.access import write_tokens


def test_missing_tokens_are_added_and_existing_ones_kept(tmp_path):
    path = tmp_path / "secrets" / "tokens.yaml"
    assert write_tokens(path, ["water", "supervision"]) == ["water", "supervision"]
    first = yaml.safe_load(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first["water"]) >= 16
    assert write_tokens(path, ["water", "supervision"]) == []
    assert write_tokens(path, ["water", "transport"]) == ["transport"]
    now = yaml.safe_load(path.read_text())
    assert now["water"] == first["water"] and now["supervision"] == first["supervision"] and now["transport"]
