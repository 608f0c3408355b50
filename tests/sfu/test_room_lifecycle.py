"""An empty media room is closed, not just forgotten: its background tasks end with it."""

from __future__ import annotations

import asyncio

from sfu import SFU, Offer, Slot


class _Quiet:
    """A participant that hears offers and says nothing (real Peer, real aiortc PC)."""

    def __init__(self) -> None:
        self.offers: list[Offer] = []

    async def on_offer(self, offer: Offer) -> None:
        self.offers.append(offer)

    async def on_slots(self, slots: list[Slot]) -> None:
        return None

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        return None

    async def on_closed(self, peer_id: str, reason: str) -> None:
        return None


async def test_the_last_leave_closes_the_room_and_its_tasks() -> None:
    sfu = SFU()
    speakers: list[tuple[str, str | None]] = []

    async def tell(room: str, who: str | None) -> None:
        speakers.append((room, who))

    sfu.on_active_speaker = tell
    room = sfu.room("r")
    listener = _Quiet()
    await room.add_peer("a", publish=True, listener=listener)
    assert listener.offers
    speaker_tasks = [t for t in asyncio.all_tasks() if t.get_name() == "room:r:speaker"]
    assert len(speaker_tasks) == 1
    await room.remove_peer("a", reason="left")
    assert sfu.get_room("r") is None
    assert speaker_tasks[0].done()
    # The next join gets a fresh room.
    again = sfu.room("r")
    assert again is not room
    await sfu.close()


async def test_a_replacement_keeps_the_room() -> None:
    sfu = SFU()
    room = sfu.room("r")
    await room.add_peer("a", publish=True, listener=_Quiet())
    await room.add_peer("a", publish=True, listener=_Quiet())  # the same person, reloaded
    assert sfu.get_room("r") is room and list(room.peers) == ["a"]
    await sfu.close()
