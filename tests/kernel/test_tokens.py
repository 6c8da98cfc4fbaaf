"""The secrets files: every holder gets a token and existing tokens are never replaced; a bad
tokens or webhooks file is refused with its line, without quoting a secret."""
import functools
import logging
import stat

import pytest
import yaml
from click.testing import CliRunner

from hall.holders import holder_role
from hall.reference import load_reference
from notify_svc.channels import Webhook
from services.access import Credentials, read_tokens, write_tokens
from services.errors import Unauthenticated
from services.yamlfile import ConfigFileError
from tooling.cli import main as cli
from tooling.settings import SystemSettings


def test_missing_tokens_are_added_and_existing_ones_kept(tmp_path):
    path = tmp_path / "secrets" / "tokens.yaml"
    assert write_tokens(path, ["water", "supervision"]) == ["water", "supervision"]
    first = yaml.safe_load(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first["water"]) >= 16
    assert write_tokens(path, ["water", "supervision"]) == []
    assert write_tokens(path, ["water", "transport"]) == ["transport"]
    now = yaml.safe_load(path.read_text())
    assert now["water"] == first["water"] and now["supervision"] == first["supervision"] and now["transport"]


def test_a_bad_tokens_file_is_refused_with_its_line_and_never_the_token(tmp_path):
    path = tmp_path / "tokens.yaml"
    path.write_text("water: Zq3-long-enough-token-0001\nroads: tooShortSecret\nsupervision: [1]\n")
    with pytest.raises(ConfigFileError) as info:
        read_tokens(path)
    assert info.value.lines() == [f"{path}:2: roads: String should have at least 16 characters",
                                  f"{path}:3: supervision: Input should be a valid string"]
    assert "tooShortSecret" not in str(info.value)
    path.write_text("")
    assert read_tokens(path) == {} and read_tokens(tmp_path / "none.yaml") == {}


def test_a_bad_webhooks_file_is_refused_with_its_lines_and_never_the_secret(tmp_path):
    path = tmp_path / "webhooks.yaml"
    path.write_text("water: {url: 'https://water.example.cn/hook', secret: 'w-secret'}\n"
                    "roads:\n  url: ftp://roads.example.cn\n  secrt: 'r-secret'\n")
    with pytest.raises(ConfigFileError) as info:
        Webhook.from_file(path)
    assert info.value.lines() == [f"{path}:3: roads.url: an http:// or https:// URL",
                                  f"{path}:2: roads.secret: Field required",
                                  f"{path}:4: roads.secrt: Extra inputs are not permitted"]
    assert "r-secret" not in str(info.value)
    path.write_text("water: {url: 'https://water.example.cn/hook', secret: 'w-secret'}\n")
    assert Webhook.from_file(path).endpoints == {"water": {"url": "https://water.example.cn/hook",
                                                           "secret": "w-secret"}}


def test_onewindow_config_names_the_line_of_a_bad_secrets_file(tmp_path, monkeypatch):
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("water: short\n")
    monkeypatch.setenv("ONEWINDOW_DESK_TOKENS", str(tokens))
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 1
    assert f"{tokens}:1: water: String should have at least 16 characters" in result.output


def test_a_rotated_token_takes_effect_without_a_restart_and_a_bad_file_changes_nothing(tmp_path, caplog):
    org = load_reference(SystemSettings()).org
    path = tmp_path / "tokens.yaml"
    old, new = "water-token-0000-old", "water-token-1111-new"
    path.write_text(f"water: {old}\nsupervision: office-token-2222-x\n")
    credentials = Credentials(path, functools.partial(holder_role, org=org), recheck_seconds=0)
    bearer = lambda token: (("authorization", f"Bearer {token}"),)  # noqa: E731
    assert credentials.caller(bearer(old)).code == "water"

    path.write_text(f"water: {new}\nsupervision: office-token-2222-x\n")  # rotated
    assert credentials.caller(bearer(new)).code == "water"
    with pytest.raises(Unauthenticated):
        credentials.caller(bearer(old))

    path.write_text("water: short\n")  # a bad edit: the tokens in force stay in force, and it is logged
    with caplog.at_level(logging.ERROR, logger="services.access"):
        assert credentials.caller(bearer(new)).code == "water"
    assert "tokens.yaml:1: water: String should have at least 16 characters" in caplog.text
    path.unlink()
    assert credentials.caller(bearer(new)).code == "water"
    path.write_text("supervision: office-token-2222-x\n")  # water revoked
    with pytest.raises(Unauthenticated):
        credentials.caller(bearer(new))
