"""The few named errors of the rooms package (signaling maps each to one wire code)."""


class RoomsError(Exception):
    """Base class for every error the rooms package raises on purpose."""


class RoomFull(RoomsError):
    """The room already holds its capacity of participants."""


class RoomClosed(RoomsError):
    """The room was closed; nobody may join it again."""


class AlreadyJoined(RoomsError):
    """This participant id is already in the room."""


class NotInRoom(RoomsError):
    """The participant (or room) does not exist."""


class SubscriptionLagged(RoomsError):
    """A subscription lost events (slow reader or lost connection): resync from a snapshot."""


class Forbidden(RoomsError):
    """The participant's role (or the room's remote mode) does not allow this change."""
