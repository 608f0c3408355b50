"""Carousel rules: who may move it, versioned moves, wrap-around."""

from __future__ import annotations

import itertools
import random

import pytest

from rooms.models import Role
from rooms.shopping import (
    CarouselState,
    RemoteMode,
    StaleVersion,
    UnknownProduct,
    apply_move,
    can_move,
    next_product,
    previous_product,
    set_products,
    step,
)

PRODUCTS = ("tee", "hoodie", "boots", "tote")


@pytest.mark.parametrize(
    ("mode", "role", "holds_remote", "allowed"),
    [
        (RemoteMode.HOST_LED, Role.HOST, False, True),
        (RemoteMode.HOST_LED, Role.ADMIN, False, True),
        (RemoteMode.HOST_LED, Role.GUEST, False, False),
        (RemoteMode.HOST_LED, Role.GUEST, True, True),
        (RemoteMode.HOST_LED, Role.VIEWER, False, False),
        (RemoteMode.HOST_LED, Role.VIEWER, True, False),
        (RemoteMode.EVERYONE, Role.HOST, False, True),
        (RemoteMode.EVERYONE, Role.ADMIN, True, True),
        (RemoteMode.EVERYONE, Role.GUEST, False, True),
        (RemoteMode.EVERYONE, Role.GUEST, True, True),
        (RemoteMode.EVERYONE, Role.VIEWER, False, False),
        (RemoteMode.EVERYONE, Role.VIEWER, True, False),
    ],
)
def test_can_move(mode: RemoteMode, role: Role, holds_remote: bool, allowed: bool) -> None:
    assert can_move(mode, role, holds_remote) is allowed


def test_every_combination_is_covered() -> None:
    # The table above is the whole truth: one row per combination.
    combos = set(itertools.product(RemoteMode, Role, (False, True)))
    assert len(combos) == 16
    allowed = {c for c in combos if can_move(*c)}
    assert len(allowed) == 11  # 16 minus 4 viewer rows minus the remote-less host-led guest.


def test_start_and_current() -> None:
    state = CarouselState.start(PRODUCTS)
    assert (state.index, state.version, state.current) == (0, 0, "tee")
    empty = CarouselState.start([])
    assert empty.current is None


@pytest.mark.parametrize(
    ("ids", "index", "version", "message"),
    [
        (("a", "a"), 0, 0, "carousel product ids must be unique"),
        (("a", "b"), 2, 0, "index 2 outside 0..1"),
        (("a", "b"), -1, 0, "index -1 outside 0..1"),
        (("a",), 0, -1, "negative carousel version -1"),
        ((), 1, 0, "an empty carousel has index 0"),
    ],
)
def test_state_invariants(ids: tuple[str, ...], index: int, version: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CarouselState(ids, index, version)


def test_move_bumps_version_and_sets_index() -> None:
    state = CarouselState.start(PRODUCTS)
    moved = apply_move(state, 0, "boots")
    assert (moved.current, moved.index, moved.version) == ("boots", 2, 1)
    assert moved.product_ids == PRODUCTS
    assert state.version == 0  # States are values: the old one is untouched.
    again = apply_move(moved, 1, "boots")  # Moving to the current product is still a change.
    assert (again.current, again.version) == ("boots", 2)


def test_stale_version_returns_the_current_state() -> None:
    state = apply_move(CarouselState.start(PRODUCTS), 0, "hoodie")
    with pytest.raises(StaleVersion) as info:
        apply_move(state, 0, "tote")
    assert info.value.current is state
    assert info.value.expected_version == 0
    assert str(info.value) == "carousel is at version 1, not 0"
    with pytest.raises(StaleVersion):
        apply_move(state, 2, "tote")  # A version from the future is just as stale.


def test_unknown_product_and_version_checked_first() -> None:
    state = CarouselState.start(PRODUCTS)
    with pytest.raises(UnknownProduct, match="'socks' is not on the carousel"):
        apply_move(state, 0, "socks")
    with pytest.raises(StaleVersion):
        apply_move(state, 5, "socks")


def test_two_moves_from_the_same_version_exactly_one_wins() -> None:
    start = CarouselState.start(PRODUCTS)
    moves = [("alice", "boots"), ("bob", "tote")]
    for order in itertools.permutations(moves):
        state = start
        winners, losers = [], []
        for who, target in order:
            try:
                state = apply_move(state, start.version, target)
                winners.append(who)
            except StaleVersion as exc:
                losers.append(who)
                assert exc.current == state  # The loser sees the winner's move.
        assert len(winners) == 1 and len(losers) == 1
        assert winners[0] == order[0][0]  # First writer wins.
        assert state.version == 1
        assert state.current == order[0][1]


def test_two_moves_to_the_same_target_still_one_wins() -> None:
    start = CarouselState.start(PRODUCTS)
    state = apply_move(start, 0, "boots")
    with pytest.raises(StaleVersion):
        apply_move(state, 0, "boots")


def test_interleaved_clients_form_one_history() -> None:
    # Eight clients keep moving from the version they last saw, in a random interleaving.
    # Every accepted move must be based on the version right before it: no lost update.
    rng = random.Random(20240611)
    state = CarouselState.start(PRODUCTS)
    seen = dict.fromkeys(range(8), state)
    history = []
    for _ in range(400):
        client = rng.randrange(8)
        base = seen[client]
        target = rng.choice(PRODUCTS)
        try:
            new = apply_move(state, base.version, target)
        except StaleVersion as exc:
            seen[client] = exc.current
            continue
        assert new.version == state.version + 1 == base.version + 1
        history.append((new.version, target))
        state = seen[client] = new
    assert [v for v, _ in history] == list(range(1, state.version + 1))
    assert state.current == history[-1][1]
    assert 0 < len(history) < 400  # Some moves lost, some won.


def test_next_and_previous_wrap() -> None:
    first = CarouselState.start(PRODUCTS)
    last = CarouselState(PRODUCTS, 3, 7)
    assert next_product(first) == "hoodie"
    assert previous_product(first) == "tote"
    assert next_product(last) == "tee"
    assert previous_product(last) == "boots"
    assert step(first, 6) == "boots"
    assert step(first, -5) == "tote"


def test_next_and_previous_without_wrap_stop_at_the_ends() -> None:
    first = CarouselState.start(PRODUCTS)
    last = CarouselState(PRODUCTS, 3, 7)
    assert previous_product(first, wrap=False) is None
    assert next_product(last, wrap=False) is None
    assert next_product(first, wrap=False) == "hoodie"
    assert previous_product(last, wrap=False) == "boots"
    assert step(first, 4, wrap=False) is None
    assert step(first, 3, wrap=False) == "tote"


def test_single_and_empty_carousels() -> None:
    single = CarouselState.start(["tee"])
    assert next_product(single) == previous_product(single) == "tee"
    assert next_product(single, wrap=False) is None
    empty = CarouselState.start([])
    assert next_product(empty) is None and previous_product(empty) is None


def test_next_is_a_move_like_any_other() -> None:
    state = CarouselState(PRODUCTS, 3, 2)
    target = next_product(state)
    assert target is not None
    moved = apply_move(state, 2, target)
    assert (moved.current, moved.version) == ("tee", 3)


def test_set_products_keeps_the_current_product_when_it_can() -> None:
    state = CarouselState(PRODUCTS, 2, 4)  # At "boots".
    kept = set_products(state, 4, ["tote", "boots", "socks"])
    assert (kept.product_ids, kept.current, kept.version) == (
        ("tote", "boots", "socks"),
        "boots",
        5,
    )
    gone = set_products(kept, 5, ["cap", "scarf"])
    assert (gone.current, gone.index, gone.version) == ("cap", 0, 6)
    emptied = set_products(gone, 6, [])
    assert (emptied.current, emptied.version) == (None, 7)
    with pytest.raises(StaleVersion):
        set_products(emptied, 6, ["tee"])
    with pytest.raises(ValueError, match="unique"):
        set_products(emptied, 7, ["tee", "tee"])


def test_dict_round_trip() -> None:
    state = CarouselState(PRODUCTS, 1, 9)
    data = state.to_dict()
    assert data == {"product_ids": list(PRODUCTS), "index": 1, "version": 9, "current": "hoodie"}
    assert CarouselState.from_dict(data) == state
