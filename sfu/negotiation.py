"""Offer/answer bookkeeping for a server-offered peer connection (sans-IO).

The server is always the offerer, so there is no glare; the only rule is one offer in
flight at a time. Changes that arrive while an offer is out are folded into one
follow-up offer once the answer lands (JSEP, RFC 8829 §4.1.8: "negotiationneeded").
"""

from __future__ import annotations

from enum import Enum

from sfu.errors import NegotiationError


class NegotiationState(Enum):
    """Where one peer's offer/answer exchange stands."""

    STABLE = "stable"
    OFFER_SENT = "offer_sent"
    CLOSED = "closed"


class Negotiator:
    """Decides when to send an offer; the caller does the sending."""

    def __init__(self) -> None:
        self.state = NegotiationState.STABLE
        self._pending = False
        self.offers = 0

    def request(self) -> bool:
        """A change needs negotiating; True if the caller should make an offer now."""
        if self.state is NegotiationState.STABLE:
            self.state = NegotiationState.OFFER_SENT
            self.offers += 1
            return True
        if self.state is NegotiationState.OFFER_SENT:
            self._pending = True
        return False

    def check_answer(self) -> None:
        """Raise NegotiationError unless an answer is expected now."""
        if self.state is NegotiationState.CLOSED:
            raise NegotiationError("peer connection is closed")
        if self.state is not NegotiationState.OFFER_SENT:
            raise NegotiationError("no offer is waiting for an answer")

    def answered(self) -> bool:
        """The answer was applied; True if a folded-in change needs a new offer now."""
        self.check_answer()
        if self._pending:
            self._pending = False
            self.offers += 1
            return True
        self.state = NegotiationState.STABLE
        return False

    def offer_failed(self) -> None:
        """Creating the offer failed: forget it (a later change retries)."""
        if self.state is NegotiationState.OFFER_SENT:
            self.state = NegotiationState.STABLE

    def close(self) -> None:
        self.state = NegotiationState.CLOSED
        self._pending = False
