"""Room domain and state: participants, roles, events, and the RoomStore protocol.

``rooms`` knows nothing of HTTP or media; it never imports ``signaling`` or ``sfu``.
"""

from rooms.errors import (
    AlreadyJoined,
    NotInRoom,
    RoomClosed,
    RoomFull,
    RoomsError,
    SubscriptionLagged,
)
from rooms.factory import open_store
from rooms.memory_store import MemoryStore
from rooms.models import Participant, Role, RoomEvent, RoomInfo, RoomSnapshot
from rooms.redis_store import RedisStore
from rooms.store import EventSubscription, RoomStore

__all__ = [
    "AlreadyJoined",
    "EventSubscription",
    "MemoryStore",
    "NotInRoom",
    "Participant",
    "RedisStore",
    "Role",
    "RoomClosed",
    "RoomEvent",
    "RoomFull",
    "RoomInfo",
    "RoomSnapshot",
    "RoomStore",
    "RoomsError",
    "SubscriptionLagged",
    "open_store",
]
