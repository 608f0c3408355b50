"""Input rules: room ids, capacities, namespaces, free-form event types."""

from __future__ import annotations

import pytest

from rooms.events import validate_custom_type
from rooms.redis_keys import validate_namespace
from rooms.validation import validate_capacity, validate_room_id


@pytest.mark.parametrize("room_id", ["a", "Z", "0", "room-1_B", "x" * 64])
def test_valid_room_ids(room_id: str) -> None:
    assert validate_room_id(room_id) == room_id


@pytest.mark.parametrize(
    "room_id", ["", "x" * 65, "a b", "a.b", "{a}", "a:b", "a*", "é", "a\n", " a", None, 7]
)
def test_invalid_room_ids(room_id: object) -> None:
    with pytest.raises(ValueError, match="invalid room id"):
        validate_room_id(room_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("capacity", [1, 10, 500])
def test_valid_capacities(capacity: int) -> None:
    assert validate_capacity(capacity) == capacity


@pytest.mark.parametrize("capacity", [0, -1, True, 2.0, "3", None])
def test_invalid_capacities(capacity: object) -> None:
    with pytest.raises(ValueError, match="invalid capacity"):
        validate_capacity(capacity)  # type: ignore[arg-type]


@pytest.mark.parametrize("namespace", ["coshop", "app:coshop", "test-1.a_b"])
def test_valid_namespaces(namespace: str) -> None:
    assert validate_namespace(namespace) == namespace


@pytest.mark.parametrize("namespace", ["", "{x}", "a*", "a?", "a[b]", "a b", "x" * 65])
def test_invalid_namespaces(namespace: str) -> None:
    with pytest.raises(ValueError, match="invalid Redis namespace"):
        validate_namespace(namespace)


def test_custom_event_types() -> None:
    assert validate_custom_type("track_published") == "track_published"
    for bad in ("", "participant_joined", "participant_left", "room_closed"):
        with pytest.raises(ValueError):
            validate_custom_type(bad)
