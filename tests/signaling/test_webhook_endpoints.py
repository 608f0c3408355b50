"""COSHOP_WEBHOOKS parsing: refused at start-up when wrong, not while the node runs."""

from __future__ import annotations

import json

import pytest

from signaling import Settings
from signaling.settings import SettingsError
from signaling.webhook_endpoints import WebhookEndpoint, parse_endpoints

SECRET = "whsec_0123456789abcdef"


def test_endpoints_with_and_without_an_event_filter() -> None:
    text = json.dumps([{"url": "https://a.example/hook", "secret": SECRET},
                       {"url": "http://b:8000/", "secret": SECRET, "events": ["recap_ready"]}])
    a, b = parse_endpoints(text)
    assert a == WebhookEndpoint("https://a.example/hook", SECRET, None)
    assert a.wants("room_started") and a.wants("cart_item_removed")
    assert b.wants("recap_ready") and not b.wants("room_started")


@pytest.mark.parametrize("endpoints", [
    "not json",
    {"url": "https://a.example/hook", "secret": SECRET},  # not a list
    [{"url": "ftp://a.example/hook", "secret": SECRET}],
    [{"url": "https://a.example/hook", "secret": "short"}],
    [{"url": "https://a.example/hook", "secret": SECRET, "events": ["chat_message"]}],
    [{"url": "https://a.example/hook", "secret": SECRET, "extra": 1}],
])
def test_invalid_endpoints_stop_the_start(endpoints: object) -> None:
    text = endpoints if isinstance(endpoints, str) else json.dumps(endpoints)
    with pytest.raises(ValueError):
        parse_endpoints(text)
    with pytest.raises((SettingsError, ValueError)):
        Settings.from_env({"COSHOP_WEBHOOKS": text})


def test_the_setting_from_the_environment() -> None:
    text = json.dumps([{"url": "https://a.example/hook", "secret": SECRET}])
    settings = Settings.from_env({"COSHOP_WEBHOOKS": text, "COSHOP_WEBHOOK_ATTEMPTS": "3"})
    assert settings.webhook_endpoints() == [WebhookEndpoint("https://a.example/hook", SECRET)]
    assert settings.webhook_attempts == 3
    assert SECRET not in repr(settings)
    assert Settings().webhook_endpoints() == []
