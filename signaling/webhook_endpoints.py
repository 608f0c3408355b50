"""Webhook endpoints as configured (COSHOP_WEBHOOKS), sans-IO."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from signaling.webhook_events import event_types


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A receiver: its URL, the secret its deliveries are signed with, the event types it
    wants (None: all)."""

    url: str
    secret: str
    events: frozenset[str] | None = None

    def wants(self, type: str) -> bool:
        return self.events is None or type in self.events


class _EndpointConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    secret: str = Field(min_length=16)
    events: list[str] | None = None


def parse_endpoints(text: str) -> list[WebhookEndpoint]:
    """COSHOP_WEBHOOKS: a JSON list of ``{"url", "secret", "events"?}``. Raises ValueError."""
    configs = TypeAdapter(list[_EndpointConfig]).validate_json(text)
    known = event_types()
    endpoints = []
    for c in configs:
        unknown = set(c.events or ()) - known
        if unknown:
            raise ValueError(f"unknown webhook events {sorted(unknown)}; known: {sorted(known)}")
        events = None if c.events is None else frozenset(c.events)
        endpoints.append(WebhookEndpoint(c.url, c.secret, events))
    return endpoints
