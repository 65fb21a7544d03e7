from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.config import load_config, parse_config
from sentinel.errors import ConfigError


def test_defaults_without_file(tmp_path: Path) -> None:
    cfg = load_config(None, env={})
    assert cfg.vault.kv_mount == "sentinel"
    assert cfg.sentinel.database.name == "sentinel.sqlite3"
    assert cfg.source == "<defaults>"


def test_file_values_and_relative_paths(tmp_path: Path) -> None:
    p = tmp_path / "sentinel.toml"
    p.write_text(
        '[sentinel]\nstate_dir = "state"\ninventory = "inv.toml"\nrules_dirs = ["rules.d"]\n'
        '[vault]\naddr = "https://vault.example:8200"\ntimeout = "30s"\ntoken_file = "tok"\n'
    )
    cfg = load_config(p, env={})
    assert cfg.sentinel.state_dir == tmp_path / "state"
    assert cfg.sentinel.rules_dirs == (tmp_path / "rules.d",)
    assert cfg.vault.timeout == 30.0
    assert cfg.vault.token_file == tmp_path / "tok"
    with pytest.raises(AttributeError):
        cfg.vault.addr = "x"  # type: ignore[misc]  # frozen


def test_environment_overrides_file(tmp_path: Path) -> None:
    p = tmp_path / "sentinel.toml"
    p.write_text('[vault]\naddr = "https://a:8200"\n')
    env = {
        "SENTINEL_VAULT_ADDR": "https://b:8200",
        "SENTINEL_STATE_DIR": "/srv/sentinel",
        "SENTINEL_API_PORT": "9000",
        "SENTINEL_SHIPPED_RULES": "false",
        "SENTINEL_RULES_DIRS": "/a, /b",
    }
    cfg = load_config(p, env=env)
    assert cfg.vault.addr == "https://b:8200"
    assert cfg.sentinel.state_dir == Path("/srv/sentinel")
    assert cfg.api.port == 9000
    assert cfg.api.max_body_bytes == 1 << 20
    assert cfg.sentinel.shipped_rules is False
    assert cfg.sentinel.rules_dirs == (Path("/a"), Path("/b"))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"vault": {"timeout": "soon"}}, "config key 'vault.timeout': got 'soon', expected a duration"),
        (
            {"vault": {"auth": "ldap"}},
            "config key 'vault.auth': got 'ldap', expected one of 'token', 'approle'",
        ),
        ({"vault": {"adress": "x"}}, "config key 'vault.adress' is unknown; allowed in [vault]:"),
        ({"vault": {"addr": "vault:8200"}}, "'vault.addr': 'vault:8200' must start with http:// or https://"),
        ({"vault": {"auth": "approle"}}, "needs 'vault.approle_role_id'"),
        ({"api": {"port": 70000}}, "'api.port' must be between 0 and 65535"),
        # Accepted once and never read (no webhook is sent): refused now, naming the key.
        ({"api": {"webhook_urls": ["https://x"]}}, "config key 'api.webhook_urls' is unknown"),
        ({"api": {"port": "80"}}, "config key 'api.port': got '80', expected a whole number"),
        ({"api": {"max_body_bytes": 10}}, "'api.max_body_bytes' must be at least 1024"),
        ({"api": {"max_connections": 1}}, "'api.max_connections' must be at least 2"),
        ({"api": {"read_timeout": "0s"}}, "'api.read_timeout' must be between 1s and 1h"),
        ({"api": {"idle_timeout": "2h"}}, "'api.idle_timeout' must be between 1s and 1h"),
        (
            {"api": {"allowed_hosts": ["localhost", "http://evil.example/"]}},
            "config key 'api.allowed_hosts[1]' must be a host name or IP address",
        ),
        ({"api": {"allowed_hosts": ["::1"]}}, "'api.allowed_hosts[0]' must be a host name"),
        ({"api": {"public_url": "sentinel.example.com"}}, "'api.public_url' must be an http:// or https://"),
        (
            {"api": {"public_url": "https://user@x.example"}},
            "'api.public_url' must be an http:// or https://",
        ),
        ({"api": {"trusted_proxies": ["10.0.0.0/8", "proxy"]}}, "'api.trusted_proxies[1]' must be an IP"),
        ({"api": {"invalid_token_cache": "2h"}}, "'api.invalid_token_cache' must be between 0 (off) and 1h"),
        ({"api": {"failed_auth_burst": -1}}, "'api.failed_auth_burst' must be between 0 (off) and 100000"),
        ({"api": {"failed_auth_rate": 0}}, "'api.failed_auth_rate' must be between 0.01 and 10000"),
        ({"api": {"failed_auth_rate": "fast"}}, "config key 'api.failed_auth_rate'"),
        ({"sentinel": {"log_level": "loud"}}, "config key 'sentinel.log_level'"),
        ({"valt": {}}, "config section 'valt' is unknown"),
        ({"audit": {"signing_key": "file"}}, "needs 'audit.key_file'"),
        (
            {"watcher": {"account_state_interval": "1s"}},
            "'watcher.account_state_interval' must be at least 10s",
        ),
        ({"watcher": {"account_state_jitter": 1.5}}, "'watcher.account_state_jitter' must be at least 0"),
    ],
)
def test_bad_values_name_key_and_allowed(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(doc, "sentinel.toml")
    assert message in str(err.value)
    assert str(err.value).startswith("sentinel.toml: ")


def test_bad_env_var_names_variable() -> None:
    with pytest.raises(ConfigError, match="SENTINEL_API_PORT"):
        parse_config({}, "x", env={"SENTINEL_API_PORT": "eighty"})
    with pytest.raises(ConfigError, match="SENTINEL_NOPE names no config key"):
        parse_config({}, "x", env={"SENTINEL_NOPE": "1"})


def test_missing_explicit_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[vault\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML: .*line 1"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(None, env={"SENTINEL_CONFIG": str(tmp_path / "nope.toml")})


def test_receiver_secret_files_are_relative_to_the_config_file(tmp_path: Path) -> None:
    p = tmp_path / "sentinel.toml"
    p.write_text(
        '[alerts.receivers.soc]\ntype = "webhook"\nurl = "https://soc.example/hook"\ntoken_file = "secrets/wh"\n'
        '[alerts.receivers.cred]\ntype = "webhook"\nurl = "https://x.example"\n'
        'token_file = "$CREDENTIALS_DIRECTORY/wh"\n'
        '[alerts.receivers.abs]\ntype = "webhook"\nurl = "https://y.example"\ntoken_file = "/etc/sentinel/wh"\n'
    )
    cfg = load_config(p, env={})
    assert cfg.alerts.receivers["soc"].token_file == tmp_path / "secrets" / "wh"
    assert str(cfg.alerts.receivers["cred"].token_file) == "$CREDENTIALS_DIRECTORY/wh"
    assert cfg.alerts.receivers["abs"].token_file == Path("/etc/sentinel/wh")


def test_api_hosts_default_to_the_bind_host_and_loopback() -> None:
    assert parse_config({}, "x").api.hosts == ("127.0.0.1", "localhost", "127.0.0.1", "[::1]")
    api = parse_config({"api": {"host": "::1"}}, "x").api
    assert api.hosts[0] == "[::1]" and not api.secure_cookies
    assert "0.0.0.0" not in parse_config({"api": {"host": "0.0.0.0"}}, "x").api.hosts


def test_api_allowed_hosts_and_public_url(tmp_path: Path) -> None:
    env = {"SENTINEL_API_ALLOWED_HOSTS": "sentinel.internal, 10.0.0.5:8470"}
    api = parse_config({"api": {"public_url": "https://Sentinel.Example.com/console"}}, "x", env=env).api
    assert api.hosts == ("sentinel.internal", "10.0.0.5:8470", "sentinel.example.com")
    assert api.secure_cookies
    assert not parse_config({"api": {"public_url": "http://sentinel.lan"}}, "x").api.secure_cookies
