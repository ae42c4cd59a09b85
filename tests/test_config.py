from pathlib import Path

import pytest

from stratusec import config as config_mod
from stratusec.config import Account, Config, CredentialSource
from stratusec.errors import ConfigError, NotFoundError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_missing_file_is_empty_config(tmp_path):
    cfg = config_mod.load(tmp_path / "none.yaml")
    assert cfg.accounts == []


def test_missing_file_error_when_required(tmp_path):
    with pytest.raises(ConfigError, match="no config file"):
        config_mod.load(tmp_path / "none.yaml", missing_ok=False)


def test_unknown_key_names_key_and_file(tmp_path):
    p = write(tmp_path / "c.yaml", "accounts:\n  - name: a\n    regoins: [us-east-1]\n")
    with pytest.raises(ConfigError) as exc:
        config_mod.load(p)
    msg = str(exc.value)
    assert "unknown key 'accounts[0].regoins'" in msg
    assert str(p) in msg


def test_bad_value_names_key(tmp_path):
    p = write(tmp_path / "c.yaml", "accounts:\n  - name: a\n    credentials: {source: telepathy}\n")
    with pytest.raises(ConfigError, match=r"'accounts\[0\]\.credentials\.source'"):
        config_mod.load(p)


def test_invalid_yaml_gives_line(tmp_path):
    p = write(tmp_path / "c.yaml", "accounts: [\n  - name: a\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        config_mod.load(p)


def test_non_mapping_top_level(tmp_path):
    p = write(tmp_path / "c.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        config_mod.load(p)


def test_unreadable_file(tmp_path):
    p = tmp_path / "dir.yaml"
    p.mkdir()
    with pytest.raises(ConfigError, match="cannot read config"):
        config_mod.load(p)


@pytest.mark.parametrize(
    "creds, message",
    [
        ({"source": "profile"}, "needs 'profile: NAME'"),
        ({"source": "assume_role"}, "needs 'role_arn'"),
        ({"source": "assume_role", "role_arn": "arn:aws:s3:::x"}, "is not an IAM role ARN"),
        ({"source": "default", "external_id": "x"}, "only apply to source 'assume_role'"),
    ],
)
def test_credential_source_rules(creds, message):
    with pytest.raises(ValueError, match=message):
        CredentialSource(**creds)


def test_emulator_needs_endpoint():
    with pytest.raises(ValueError, match="needs an endpoint_url"):
        Account(name="a", credentials=CredentialSource(source="emulator"))


def test_duplicate_account_names(tmp_path):
    p = write(tmp_path / "c.yaml", "accounts:\n  - name: a\n  - name: a\n")
    with pytest.raises(ConfigError, match="appears twice"):
        config_mod.load(p)


def test_round_trip_and_mode(tmp_path):
    cfg = Config(
        accounts=[
            Account(
                name="prod",
                regions=["us-east-1"],
                credentials=CredentialSource(
                    source="assume_role",
                    role_arn="arn:aws:iam::123456789012:role/Audit",
                    external_id="x1",
                ),
            )
        ]
    )
    p = config_mod.save(cfg, tmp_path / "sub" / "config.yaml")
    assert (p.stat().st_mode & 0o777) == 0o600
    again = config_mod.load(p)
    assert again == cfg


def test_unknown_account_lists_valid_names():
    cfg = Config(accounts=[Account(name="prod"), Account(name="dev")])
    with pytest.raises(NotFoundError, match="configured accounts: prod, dev"):
        cfg.account("staging")


def test_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATUSEC_CONFIG", str(tmp_path / "other.yaml"))
    from stratusec import paths

    assert paths.config_path() == tmp_path / "other.yaml"
    monkeypatch.delenv("STRATUSEC_CONFIG")
    monkeypatch.setenv("STRATUSEC_HOME", str(tmp_path / "h"))
    assert paths.config_path() == tmp_path / "h" / "config.yaml"
    assert Config().storage.database_url() == f"sqlite:///{tmp_path / 'h' / 'stratusec.db'}"
