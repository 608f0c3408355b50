"""Settings: defaults, COSHOP_* environment, CLI overrides, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signaling.settings import Settings, SettingsError


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.host, s.port, s.redis_url, s.room_capacity, s.secret) == (
        "127.0.0.1", 8080, None, 10, None
    )
    assert s.demo_mode and s.store_kind == "memory"
    assert s.base_url == "http://127.0.0.1:8080"
    assert s.node_id.startswith("node-") and s.node_id != Settings.from_env({}).node_id


def test_environment_and_overrides() -> None:
    env = {
        "COSHOP_PORT": "9000",
        "COSHOP_REDIS_URL": "redis://r:6379/0",
        "COSHOP_ROOM_CAPACITY": "4",
        "COSHOP_SECRET": "hunter2",
        "COSHOP_PUBLIC_URL": "https://shop.example/",
        "COSHOP_LOG_LEVEL": "DEBUG",
        "COSHOP_ALLOW_H264": "false",
        "COSHOP_NODE_ID": "",  # empty = unset
        "UNRELATED": "x",
    }
    s = Settings.from_env(env, port=9100, host=None)
    assert s.port == 9100  # flag wins
    assert s.host == "127.0.0.1"  # None flag = not given
    assert s.redis_url == "redis://r:6379/0" and s.store_kind == "redis"
    assert s.room_capacity == 4 and s.secret == "hunter2" and not s.demo_mode
    assert s.base_url == "https://shop.example"
    assert s.log_level == "DEBUG" and s.allow_h264 is False
    assert "hunter2" not in repr(s)  # the secret never reaches logs


def test_wildcard_host_prints_loopback() -> None:
    assert Settings(host="0.0.0.0", port=80).base_url == "http://127.0.0.1:80"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"COSHOP_PORT": "http"}, "COSHOP_PORT: "),
        ({"COSHOP_PORT": "70000"}, "COSHOP_PORT"),
        ({"COSHOP_ROOM_CAPACITY": "0"}, "COSHOP_ROOM_CAPACITY: "),
        ({"COSHOP_LOG_LEVEL": "LOUD"}, "COSHOP_LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{names}"):
        Settings.from_env(env)


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSHOP_ROOM_CAPACITY", "7")
    monkeypatch.setenv("COSHOP_NODE_ID", "")
    assert Settings().room_capacity == 7  # a BaseSettings: os.environ unless from_env's mapping
    assert Settings.from_env({}).room_capacity == 10
    assert Settings(room_capacity=3).room_capacity == 3


def test_a_jwt_public_key_must_be_a_readable_key(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = tmp_path / "brand.pem"
    pem.write_bytes(key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ))
    s = Settings.from_env({"COSHOP_JWT_PUBLIC_KEY": str(pem)})
    assert s.jwt_public_key == pem and s.jwt_key() == key
    with pytest.raises(SettingsError, match=r"^COSHOP_JWT_PUBLIC_KEY: .*cannot read"):
        Settings.from_env({"COSHOP_JWT_PUBLIC_KEY": str(tmp_path / "missing.pem")})
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(SettingsError, match=r"^COSHOP_JWT_PUBLIC_KEY: "):
        Settings.from_env({"COSHOP_JWT_PUBLIC_KEY": str(tmp_path / "junk.pem")})
