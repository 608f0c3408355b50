"""Room domain and state: participants, roles, events, and the RoomStore protocol.

``rooms`` knows nothing of HTTP or media; it never imports ``signaling`` or ``sfu``.
"""

from rooms.errors import AlreadyJoined, NotInRoom, RoomClosed, RoomFull, RoomsError
from rooms.models import Participant, RoomEvent, RoomInfo, RoomSnapshot, Role
from rooms.store import EventSubscription, RoomStore

__all__ = [
    "AlreadyJoined",
    "EventSubscription",
    "NotInRoom",
    "Participant",
    "Role",
    "RoomClosed",
    "RoomEvent",
    "RoomFull",
    "RoomInfo",
    "RoomSnapshot",
    "RoomStore",
    "RoomsError",
]
