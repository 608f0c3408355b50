"""The address plan of ``coshop serve --workers N`` and the restart backoff (sans-IO)."""

from __future__ import annotations

import pytest

from signaling.settings import Settings, SettingsError
from signaling.worker_plan import (
    RestartBackoff,
    WorkerSpec,
    plan_workers,
    worker_count,
    worker_environment,
)

REDIS = "redis://127.0.0.1:6379/0"


def test_default_is_one_worker_per_core_with_redis_else_one() -> None:
    assert worker_count(Settings(redis_url=REDIS), cores=4) == 4
    assert worker_count(Settings(), cores=4) == 1
    assert worker_count(Settings(redis_url=REDIS, workers=1), cores=4) == 1
    assert worker_count(Settings(redis_url=REDIS, workers=3), cores=2) == 3


def test_several_workers_need_redis() -> None:
    with pytest.raises(SettingsError, match="COSHOP_WORKERS: 2 workers need COSHOP_REDIS_URL"):
        worker_count(Settings(workers=2), cores=2)


def test_each_worker_has_its_own_port_and_node_id() -> None:
    specs = plan_workers(Settings(redis_url=REDIS, port=8080, node_id="box"), 2)
    assert specs == [WorkerSpec(1, "box-w1", 8081, None), WorkerSpec(2, "box-w2", 8082, None)]
    # Port 0: any free port for each, as for the shared one.
    assert [s.port for s in plan_workers(Settings(redis_url=REDIS, port=0), 2)] == [0, 0]


def test_public_urls_take_the_worker_or_its_port() -> None:
    by_worker = Settings(redis_url=REDIS, public_url="https://w{worker}.shop.example")
    assert [s.public_url for s in plan_workers(by_worker, 2)] == [
        "https://w1.shop.example", "https://w2.shop.example"]
    by_port = Settings(redis_url=REDIS, port=9000, public_url="https://shop.example:{port}")
    assert [s.public_url for s in plan_workers(by_port, 2)] == [
        "https://shop.example:9001", "https://shop.example:9002"]


def test_one_public_url_for_several_workers_is_refused() -> None:
    settings = Settings(redis_url=REDIS, public_url="https://shop.example")
    with pytest.raises(SettingsError, match=r"COSHOP_PUBLIC_URL: .* \{worker\}"):
        plan_workers(settings, 2)
    assert plan_workers(settings, 1)[0].public_url == "https://shop.example"


def test_ports_past_65535_are_refused() -> None:
    with pytest.raises(SettingsError, match="COSHOP_PORT"):
        plan_workers(Settings(redis_url=REDIS, port=65535), 2)


def test_a_worker_starts_with_every_resolved_setting_as_its_own() -> None:
    settings = Settings(redis_url=REDIS, port=8080, node_id="box", rate_limits=False,
                        secret="s" * 32, workers=2)
    (spec, _) = plan_workers(settings, 2)
    env = worker_environment(settings, spec, {"PATH": "/bin", "COSHOP_PORT": "1",
                                              "COSHOP_ICE_SERVERS": "[]"})
    assert env["PATH"] == "/bin"
    assert env["COSHOP_PORT"] == "8081" and env["COSHOP_NODE_ID"] == "box-w1"
    assert env["COSHOP_WORKERS"] == "1" and env["COSHOP_RATE_LIMITS"] == "false"
    assert env["COSHOP_SECRET"] == "s" * 32 and env["COSHOP_REDIS_URL"] == REDIS
    assert "COSHOP_ICE_SERVERS" not in env and "COSHOP_PUBLIC_URL" not in env
    # What the worker reads back is the supervisor's settings, made its own.
    again = Settings.from_env(env)
    assert again.model_dump() == {**settings.model_dump(), "port": 8081, "node_id": "box-w1",
                                  "workers": 1}


def test_restart_backoff_doubles_while_dying_young_and_resets_after_a_healthy_run() -> None:
    backoff = RestartBackoff(first=0.5, longest=4.0, healthy_after=30.0)
    assert [backoff.delay(1.0) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.delay(31.0) == 0.5
    assert backoff.delay(0.1) == 1.0
