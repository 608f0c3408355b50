"""Scrape a test app's ``/metrics`` with prometheus-client's own parser (so the page must
be valid exposition text) into {(sample name, sorted labels): value}."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

Client = TestClient[web.Request, web.Application]
Labels = tuple[tuple[str, str], ...]
Scrape = dict[tuple[str, Labels], float]


async def scrape(client: Client) -> Scrape:
    """Every sample of the node's ``/metrics`` page now."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(await response.text())


def parse(text: str) -> Scrape:
    """Every sample of an exposition text."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(page: Scrape, name: str, **labels: str) -> float:
    """One sample's value (KeyError when absent)."""
    return page[(name, tuple(sorted(labels.items())))]


def with_label(page: Scrape, key: str, wanted: str) -> Scrape:
    """The samples labelled ``key=wanted``."""
    return {k: v for k, v in page.items() if (key, wanted) in k[1]}
