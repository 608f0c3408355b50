"""The one-offer-in-flight rule."""

from __future__ import annotations

import pytest

from sfu.errors import NegotiationError
from sfu.negotiation import NegotiationState, Negotiator


def test_changes_during_an_offer_fold_into_one_follow_up() -> None:
    n = Negotiator()
    assert n.request() is True
    assert n.request() is False
    assert n.request() is False
    assert n.answered() is True  # one follow-up offer for both changes
    assert n.state is NegotiationState.OFFER_SENT
    assert n.answered() is False
    assert n.state is NegotiationState.STABLE
    assert n.offers == 2


def test_answer_without_offer_and_after_close() -> None:
    n = Negotiator()
    with pytest.raises(NegotiationError):
        n.check_answer()
    n.request()
    n.close()
    with pytest.raises(NegotiationError, match="closed"):
        n.answered()
    assert n.request() is False


def test_failed_offer_returns_to_stable() -> None:
    n = Negotiator()
    n.request()
    n.offer_failed()
    assert n.state is NegotiationState.STABLE
    assert n.request() is True
