"""The few named errors of the rooms package (signaling maps each to one wire code)."""


class RoomsError(Exception):
    """Base class for every error the rooms package raises on purpose."""


class RoomFull(RoomsError):
    """The room already holds its capacity of participants."""


class AudienceFull(RoomFull):
    """The audience of a live room already holds its capacity of viewers (the stage may not)."""


class Banned(RoomsError):
    """The participant was banned from the room by a host: barred for the room's life."""


class SlowMode(RoomsError):
    """The room's slow mode does not allow this participant another chat message yet; try
    again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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


class StoreUnavailable(RoomsError):
    """The shared store (Redis) cannot be reached: nothing was changed, or it is unknown
    whether the change was made. Try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedEvent(RoomsError, ValueError):
    """An event read from the shared store does not match its kind's declaration (or is not an
    event at all): it is dropped where it enters, never delivered."""


class NoNodeAvailable(RoomsError):
    """No live node takes new rooms (every node is draining or silent): a room without a
    node cannot be placed. Try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CheckoutUnavailable(RoomsError):
    """No checkout link can be made: the catalog names no shop, or there are no cart lines."""
