"""The shared carousel: one current product per room, moved with a version check.

Every accepted change bumps ``version``. A change names the version it was based on; if that
is no longer current, StaleVersion carries the state that won. So of two moves made from the
same version, the first one applied wins and the other is refused, whatever their targets:
the store applies them one at a time (a Lua script in Redis), which makes the order total.

Browsing ahead is local to a client (it keeps its own index and snaps back to ``current``);
only moves by a holder of the remote change this state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rooms.models import Role
from rooms.shopping.errors import StaleVersion, UnknownProduct


class RemoteMode(StrEnum):
    """Who may move the carousel: the host (and whoever holds the remote), or everyone."""

    HOST_LED = "host_led"
    EVERYONE = "everyone"


class Move(StrEnum):
    """A carousel move as clients ask for it: one step either way, or straight to a product."""

    NEXT = "next"
    PREV = "prev"
    GOTO = "goto"


def can_move(mode: RemoteMode, role: Role, holds_remote: bool) -> bool:
    """Hosts and admins always (they can take the remote back); viewers never (they only
    watch); a guest in ``everyone`` mode, or in ``host_led`` mode while holding the remote."""
    if role in (Role.HOST, Role.ADMIN):
        return True
    if role is Role.VIEWER:
        return False
    return mode is RemoteMode.EVERYONE or holds_remote


@dataclass(frozen=True, slots=True)
class CarouselState:
    """The carousel's products in order, the index of the current one, and the version."""

    product_ids: tuple[str, ...] = ()
    index: int = 0
    version: int = 0

    def __post_init__(self) -> None:
        if len(set(self.product_ids)) != len(self.product_ids):
            raise ValueError("carousel product ids must be unique")
        if self.version < 0:
            raise ValueError(f"negative carousel version {self.version}")
        if self.product_ids and not 0 <= self.index < len(self.product_ids):
            raise ValueError(f"index {self.index} outside 0..{len(self.product_ids) - 1}")
        if not self.product_ids and self.index != 0:
            raise ValueError("an empty carousel has index 0")

    @classmethod
    def start(cls, product_ids: Iterable[str]) -> CarouselState:
        """A carousel at its first product, version 0."""
        return cls(product_ids=tuple(product_ids))

    @property
    def current(self) -> str | None:
        """The product everyone sees, or None for an empty carousel."""
        return self.product_ids[self.index] if self.product_ids else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_ids": list(self.product_ids),
            "index": self.index,
            "version": self.version,
            "current": self.current,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CarouselState:
        return cls(
            product_ids=tuple(str(p) for p in data.get("product_ids", ())),
            index=int(data.get("index", 0)),
            version=int(data.get("version", 0)),
        )


@dataclass(frozen=True, slots=True)
class Carousel:
    """A room's carousel: its state, who may move it (``mode``) and who holds the remote."""

    state: CarouselState = CarouselState()
    mode: RemoteMode = RemoteMode.HOST_LED
    holder: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form; the products' order is the catalog's, so it is not repeated here."""
        return {
            "index": self.state.index,
            "current": self.state.current,
            "version": self.state.version,
            "mode": self.mode.value,
            "holder": self.holder,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], product_ids: Iterable[str]) -> Carousel:
        """The inverse of ``to_dict``, given the carousel's products."""
        holder = data.get("holder")
        return cls(
            state=CarouselState(
                tuple(product_ids), int(data.get("index", 0)), int(data.get("version", 0))
            ),
            mode=RemoteMode(data.get("mode", RemoteMode.HOST_LED)),
            holder=None if holder is None else str(holder),
        )


def apply_move(
    state: CarouselState, expected_version: int, target_product_id: str
) -> CarouselState:
    """The state after moving to ``target_product_id``; the version goes up by one even when
    the target is already current, so every accepted move is one numbered change.

    Raises StaleVersion (carrying ``state``) when ``expected_version`` is not current, and
    UnknownProduct when the target is not on the carousel. The version is checked first.
    """
    _check_version(state, expected_version)
    try:
        index = state.product_ids.index(target_product_id)
    except ValueError:
        raise UnknownProduct(f"product {target_product_id!r} is not on the carousel") from None
    return CarouselState(state.product_ids, index, state.version + 1)


def set_products(
    state: CarouselState, expected_version: int, product_ids: Iterable[str]
) -> CarouselState:
    """Replace the carousel's products (a host pushing a new selection or order).

    The current product stays current if it is still there; otherwise the first one is.
    Raises StaleVersion like ``apply_move``.
    """
    _check_version(state, expected_version)
    ids = tuple(product_ids)
    index = ids.index(state.current) if state.current in ids else 0
    return CarouselState(ids, index, state.version + 1)


def step(state: CarouselState, delta: int, *, wrap: bool = True) -> str | None:
    """The product ``delta`` places from the current one (+1 next, -1 previous).

    With ``wrap`` the carousel is a ring: next of the last is the first, previous of the
    first is the last. Without it, stepping past either end gives None. An empty carousel
    gives None.
    """
    count = len(state.product_ids)
    if not count:
        return None
    index = state.index + delta
    if wrap:
        index %= count
    elif not 0 <= index < count:
        return None
    return state.product_ids[index]


def next_product(state: CarouselState, *, wrap: bool = True) -> str | None:
    """The product after the current one (see ``step``)."""
    return step(state, 1, wrap=wrap)


def previous_product(state: CarouselState, *, wrap: bool = True) -> str | None:
    """The product before the current one (see ``step``)."""
    return step(state, -1, wrap=wrap)


def move_target(state: CarouselState, move: Move, product_id: str | None = None) -> str:
    """The product ``move`` leads to from ``state`` (next/prev wrap around; goto names it).

    Raises UnknownProduct for an empty carousel, a goto without a product, or to a product
    that is not on the carousel.
    """
    if move is Move.GOTO:
        if product_id is None or product_id not in state.product_ids:
            raise UnknownProduct(f"product {product_id!r} is not on the carousel")
        return product_id
    target = step(state, 1 if move is Move.NEXT else -1)
    if target is None:
        raise UnknownProduct("the carousel has no products")
    return target


def can_hand_remote(mode: RemoteMode, role: Role, holds_remote: bool) -> bool:
    """Who may take the remote or pass it on: hosts and admins; the holder; and in
    ``everyone`` mode any guest. Viewers never (they cannot move, so cannot hold it)."""
    if role in (Role.HOST, Role.ADMIN):
        return True
    if role is Role.VIEWER:
        return False
    return mode is RemoteMode.EVERYONE or holds_remote


def can_hold_remote(role: Role) -> bool:
    """Whether a participant may be handed the remote: anyone who may move the carousel."""
    return role is not Role.VIEWER


def _check_version(state: CarouselState, expected_version: int) -> None:
    if expected_version != state.version:
        raise StaleVersion(expected_version, state)
