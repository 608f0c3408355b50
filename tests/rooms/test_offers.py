"""Group offer rules (rooms.offers), sans-IO."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.offers import GroupOffer, backers, check_offer, discount_code, is_reached
from rooms.shopping_state import CartItem

OFFER = GroupOffer("tee", threshold=2, percent=10, code="TEE10", expires_at=100.0, set_by="h")


def line(pid: str, vid: str | None, by: str | None) -> CartItem:
    return CartItem(pid, vid, 1, by, by, 0.0)


def test_backers_are_distinct_people_with_their_own_lines() -> None:
    cart = [line("tee", "s", "ann"), line("tee", "m", "ann"), line("tee", "l", None),
            line("cap", None, "bob")]
    assert backers("tee", cart) == 1  # ann twice; the API's line counts for nobody
    cart.append(line("tee", None, "bob"))
    assert backers("tee", cart) == 2
    assert discount_code(OFFER, cart, now=99.9) == "TEE10"
    assert discount_code(OFFER, cart, now=100.0) is None  # expired
    assert discount_code(OFFER, cart[:-1], now=0.0) is None
    assert discount_code(None, cart, now=0.0) is None


@pytest.mark.parametrize(
    ("threshold", "percent", "code", "duration", "message"),
    [
        (0, 10, "A", 60, "threshold"),
        (True, 10, "A", 60, "threshold"),
        (2, 101, "A", 60, "percent"),
        (2, 10, "A B", 60, "discount code"),
        (2, 10, "", 60, "discount code"),
        (2, 10, "A", 0, "runs"),
        (2, 10, "A", 8 * 86400, "runs"),
    ],
)
def test_bad_offers_are_refused(
    threshold: int, percent: int, code: str, duration: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_offer(threshold, percent, code, duration)
    check_offer(2, 10, "A", 60)


def test_offer_round_trips_its_dict() -> None:
    assert GroupOffer.from_dict(OFFER.to_dict()) == OFFER


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(["tee", "cap"]), st.sampled_from(["s", "m", None]),
                  st.sampled_from(["a", "b", "c", "d", None])),
        max_size=12,
    ),
    threshold=st.integers(1, 5),
)
def test_reached_exactly_when_enough_distinct_people(
    lines: list[tuple[str, str | None, str | None]], threshold: int
) -> None:
    cart = [line(*spec) for spec in lines]
    people = {by for pid, _, by in lines if pid == "tee" and by is not None}
    offer = GroupOffer("tee", threshold, 5, "X", 10.0, None)
    assert is_reached(offer, backers("tee", cart), 0.0) == (len(people) >= threshold)
