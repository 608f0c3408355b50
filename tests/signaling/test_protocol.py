"""The wire protocol as data: round trips, validation, and agreement with docs/PROTOCOL.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from signaling import protocol as wire

OFFER = wire.OfferInfo(
    product_id="tee", threshold=3, percent=10, code="TEE10", expires_at=100.5, set_by="h"
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"

P = wire.ParticipantInfo(id="p1", name="Ann", role="guest", joined_at=12.5)
ROOM = wire.RoomRef(id="r1", capacity=10)
CAROUSEL = wire.CarouselInfo(index=1, current="tee", version=4, mode="host_led", holder=None)
TALLY = wire.TallyInfo(
    yes=2, no=1, score_count=1, score_total=5,
    by_variant={"tee-m": wire.TallyInfo(yes=1, no=0, score_count=0, score_total=0)},
)
VOTE = wire.VoteInfo(participant_id="p1", product_id="tee", variant_id="tee-m", value="yes")
ROUND = wire.RoundInfo(
    id=7, state="open", opens_at=100.0, closes_at=160.0, product_ids=["tee"]
)
ITEM = wire.CartItemInfo(
    product_id="tee", variant_id=None, quantity=2, added_by="p1", added_by_name="Ann",
    added_at=101.5,
)
SHOPPING = wire.ShoppingInfo(
    catalog=wire.CatalogInfo(revision=0, currency="USD", products=[{"id": "tee"}]),
    carousel=CAROUSEL,
    round=ROUND,
    votes=[VOTE],
    tallies={"tee": TALLY},
    shortlist=[wire.ShortlistEntryInfo(rank=1, product_id="tee", variant_id="tee-m",
                                       tally=TALLY)],
    cart=[ITEM],
    chat=[wire.ChatMessageInfo(seq=3, participant_id="p1", name="Ann", text="hi", at=1.0)],
)
EMPTY_SHOPPING = wire.ShoppingInfo(
    catalog=wire.CatalogInfo(revision=0, currency=None, products=[]),
    carousel=wire.CarouselInfo(index=0, current=None, version=0, mode="everyone", holder="p2"),
    round=None, votes=[], tallies={}, shortlist=[], cart=[], chat=[],
)

CLIENT_MESSAGES: list[wire.ClientMessage] = [
    wire.Join(room="r1", name="Ann"),
    wire.Join(room="r-_9", name="Vic", role="viewer", token="abc.def"),
    wire.Join(name="Ann"),
    wire.Answer(sdp="v=0\r\n"),
    wire.Leave(),
    wire.Resync(),
    wire.Ping(),
    wire.Ping(nonce="x"),
    wire.Ping(nonce=42),
    wire.CarouselMove(action="next", version=3),
    wire.CarouselMove(action="goto", product_id="tee", version=0),
    wire.RemoteTake(),
    wire.RemotePass(to="p2"),
    wire.RemotePass(to=None),
    wire.SetRemoteMode(mode="everyone"),
    wire.CastVote(product_id="tee", value="no"),
    wire.CastVote(product_id="tee", value=5, variant_id="tee-m"),
    wire.RetractVote(product_id="tee"),
    wire.OpenVoteRound(duration=30),
    wire.OpenVoteRound(duration=60.5, product_ids=["tee", "cap"]),
    wire.CloseVoteRound(),
    wire.SendChat(text="héllo"),
    wire.React(emoji="👍🏽"),
    wire.React(emoji="🔥", product_id="tee"),
    wire.CartAdd(product_id="tee"),
    wire.CartAdd(product_id="tee", variant_id="tee-m", quantity=99),
    wire.CartRemove(product_id="tee", variant_id="tee-m"),
    wire.Checkout(scope="cart"),
    wire.SetOffer(product_id="tee", threshold=3, percent=10, code="TEE10", duration=600),
    wire.Rate(product_id="tee", stars=4),
    wire.SetMediaState(audio=False, video=True),
    wire.SetView(hidden=["p1", "p2"]),
    wire.SetView(hidden=["p1"], sizes={"p2": (640, 360), "p3": (0, 0)}),
    wire.SetView(),
    wire.Mute(participant_id="p1", kind="video"),
    wire.Remove(participant_id="p1"),
    wire.Ban(participant_id="p1"),
    wire.SetRole(participant_id="p1", role="guest"),
    wire.SetSlowMode(seconds=2.5),
    wire.HideChat(seq=12),
    wire.RaiseHand(raised=False),
    wire.Join(room="r1", resume="abc.def"),
]

MAY = wire.MayInfo(move=True, hand_remote=True, hold_remote=True, lead=False, cart=True,
                   vote_closed=["tee"])

RATING = wire.RatingInfo(product_id="tee", participant_id="ann", name="Ann", stars=5, at=1.5)
SERVER_MESSAGES: list[wire.ServerMessage] = [
    wire.Joined(seq=1, room=ROOM, you=P, participants=[P], shopping=SHOPPING, may=MAY,
                resume="r"),
    wire.Snapshot(seq=9, room=ROOM, you=P, participants=[], shopping=EMPTY_SHOPPING, may=MAY),
    wire.May(may=MAY.model_copy(update={"move": False, "vote_closed": []})),
    wire.Offer(
        sdp="v=0\r\n",
        slots=[
            wire.Slot(mid="0", kind="audio", direction="recvonly"),
            wire.Slot(mid="2", kind="video", direction="sendonly", source="p2"),
            wire.Slot(mid="3", kind="video", direction="inactive", source=None),
        ],
    ),
    wire.Slots(
        slots=[
            wire.Slot(mid="2", kind="video", direction="sendonly", source=None),
            wire.Slot(mid="3", kind="video", direction="sendonly", source="p4"),
        ],
    ),
    wire.ParticipantJoined(seq=2, participant=P),
    wire.ParticipantLeft(seq=3, participant_id="p1", reason="left"),
    wire.TrackPublished(seq=4, participant_id="p1", kind="video"),
    wire.MediaStateChanged(seq=4, participant_id="p1", audio=True, video=False),
    wire.ActiveSpeaker(seq=4, participant_id="p1"),
    wire.RoomClosed(seq=5, room="r1"),
    wire.CarouselChanged(seq=6, carousel=CAROUSEL, change="move", by="p1"),
    wire.CarouselChanged(seq=6, carousel=CAROUSEL, change="mode", by=None),
    wire.VoteCast(
        seq=7, vote=VOTE, previous=None, tallies={"tee": TALLY},
        shortlist=[wire.ShortlistEntryInfo(rank=1, product_id="tee", variant_id=None,
                                           tally=TALLY)],
    ),
    wire.VoteRetracted(seq=8, vote=VOTE, tallies={}, shortlist=[]),
    wire.VoteRoundOpened(seq=9, round=ROUND),
    wire.VoteRoundClosed(seq=10, round=ROUND.model_copy(update={"state": "closed"}),
                         reason="deadline"),
    wire.ChatMessage(
        seq=11,
        message=wire.ChatMessageInfo(seq=11, participant_id="p1", name="Ann", text="a\nb",
                                     at=2.0),
    ),
    wire.Reaction(seq=12, participant_id="p1", emoji="❤️", product_id=None),
    wire.CartItemAdded(seq=13, item=ITEM),
    wire.CartItemRemoved(seq=14, item=ITEM, by=None),
    wire.CheckoutLink(
        url="https://s.example/cart/1:2", participant_id="p1",
        lines=[wire.CheckoutLineInfo(product_id="tee", variant_id="1", quantity=2)], quantity=2,
    ),
    wire.OwnCart(items=[ITEM]),
    wire.CheckoutStarted(seq=15, by="p1", participant_id="p1", lines=1, quantity=2),
    wire.OfferProgress(seq=16, offer=OFFER, backers=2, reached=False),
    wire.ProductRated(seq=17, rating=RATING),
    wire.RatingsShared(seq=18, ratings=[RATING, RATING.model_copy(update={"stars": 2})]),
    wire.OfferReached(seq=17, offer=OFFER, backers=3),
    wire.ParticipantMuted(seq=15, participant_id="p1", kind="audio", by="h"),
    wire.ParticipantBanned(seq=16, participant_id="p1", by=None),
    wire.RoleChanged(seq=17, participant_id="p1", role="viewer", by="p1"),
    wire.SlowModeChanged(seq=18, seconds=0, by="h"),
    wire.ChatHidden(seq=19, message_seq=12, by="h"),
    wire.HandRaised(seq=20, participant_id="p1", raised=True),
    wire.ReactionCounts(up_to_seq=21, reactions={"🔥": 3}, by_product={"tee": {"🔥": 2}},
                        votes=1, tallies={"tee": TALLY}, shortlist=[]),
    wire.Left(reason="left"),
    wire.Redirect(url="ws://10.0.0.2:8080/ws", room="r1", node="n2", reason="placement"),
    wire.Error(code=wire.ErrorCode.ROOM_FULL, message="full", ref="join"),
    wire.Error(code=wire.ErrorCode.BAD_MESSAGE, message="not JSON"),
    wire.Error(code=wire.ErrorCode.STALE_VERSION, message="moved", ref="carousel_move",
               carousel=CAROUSEL),
    wire.Error(code=wire.ErrorCode.RATE_LIMITED, message="slow", ref="vote", retry_after=0.5),
    wire.Pong(nonce=7),
]


@pytest.mark.parametrize("message", CLIENT_MESSAGES, ids=lambda m: m.type)
def test_client_round_trip(message: wire.ClientMessage) -> None:
    assert wire.parse_client_message(wire.dump(message)) == message


@pytest.mark.parametrize("message", SERVER_MESSAGES, ids=lambda m: m.type)
def test_server_round_trip(message: wire.ServerMessage) -> None:
    text = wire.dump(message)
    assert json.loads(text)["type"] == message.type
    assert wire.parse_server_message(text) == message


def test_every_message_type_has_a_round_trip_case() -> None:
    assert {m.type for m in CLIENT_MESSAGES} == wire.CLIENT_TYPES
    assert {m.type for m in SERVER_MESSAGES} == wire.SERVER_TYPES


def test_defaults_on_the_wire() -> None:
    join = wire.parse_client_message('{"type":"join","room":"r","name":"n"}')
    assert join == wire.Join(room="r", name="n", role="guest", token=None)
    assert json.loads(wire.dump(wire.Error(code=wire.ErrorCode.INTERNAL, message="m"))) == {
        "type": "error",
        "code": "internal",
        "message": "m",
        "ref": None,
    }


@pytest.mark.parametrize(
    ("raw", "code", "ref"),
    [
        ("", "bad_message", None),
        ("{", "bad_message", None),
        (b"\xff\xfe", "bad_message", None),
        ("null", "bad_message", None),
        ('"join"', "bad_message", None),
        ("{}", "bad_message", None),
        ('{"type": 3}', "bad_message", None),
        ('{"type": "offer", "sdp": "x"}', "unknown_type", "offer"),
        ('{"type": "JOIN"}', "unknown_type", "JOIN"),
        ('{"type": "join", "room": "", "name": "n"}', "bad_message", "join"),
        ('{"type": "join", "room": "x" , "name": "n", "role": "host"}', "bad_message", "join"),
        ('{"type": "join", "room": "' + "r" * 65 + '", "name": "n"}', "bad_message", "join"),
        ('{"type": "join", "room": "r", "name": "' + "n" * 65 + '"}', "bad_message", "join"),
        ('{"type": "join", "room": "r/../x", "name": "n"}', "bad_message", "join"),
        ('{"type": "join", "room": "r\\n", "name": "n"}', "bad_message", "join"),
        ('{"type": "answer"}', "bad_message", "answer"),
        ('{"type": "answer", "sdp": ""}', "bad_message", "answer"),
        ('{"type": "answer", "sdp": 5}', "bad_message", "answer"),
        ('{"type": "leave", "now": true}', "bad_message", "leave"),
        ('{"type": "ping", "nonce": [1]}', "bad_message", "ping"),
        ('{"type": "carousel_move", "action": "next"}', "bad_message", "carousel_move"),
        ('{"type": "carousel_move", "action": "up", "version": 1}', "bad_message",
         "carousel_move"),
        ('{"type": "carousel_move", "action": "goto", "version": 1}', "bad_message",
         "carousel_move"),
        ('{"type": "carousel_move", "action": "next", "product_id": "a", "version": 1}',
         "bad_message", "carousel_move"),
        ('{"type": "carousel_move", "action": "next", "version": -1}', "bad_message",
         "carousel_move"),
        ('{"type": "remote_pass"}', "bad_message", "remote_pass"),
        ('{"type": "remote_mode", "mode": "anarchy"}', "bad_message", "remote_mode"),
        ('{"type": "vote", "product_id": "a", "value": true}', "bad_message", "vote"),
        ('{"type": "vote", "product_id": "a", "value": 6}', "bad_message", "vote"),
        ('{"type": "vote", "product_id": "a", "value": 0}', "bad_message", "vote"),
        ('{"type": "vote", "product_id": "a", "value": "maybe"}', "bad_message", "vote"),
        ('{"type": "vote", "product_id": "a", "value": "4"}', "bad_message", "vote"),
        ('{"type": "vote", "product_id": "", "value": "yes"}', "bad_message", "vote"),
        ('{"type": "vote", "value": "yes"}', "bad_message", "vote"),
        ('{"type": "vote_round_open", "duration": 1}', "bad_message", "vote_round_open"),
        ('{"type": "vote_round_open", "duration": 60, "product_ids": []}', "bad_message",
         "vote_round_open"),
        ('{"type": "chat"}', "bad_message", "chat"),
        ('{"type": "react", "emoji": "lol"}', "bad_message", "react"),
        ('{"type": "react", "emoji": ""}', "bad_message", "react"),
        ('{"type": "cart_add", "product_id": "a", "quantity": 0}', "bad_message", "cart_add"),
        ('{"type": "cart_add", "product_id": "a", "quantity": 100}', "bad_message",
         "cart_add"),
        ('{"type": "cart_add", "product_id": "a", "quantity": 1.5}', "bad_message",
         "cart_add"),
        ('{"type": "view", "sizes": {"p1": [640]}}', "bad_message", "view"),
        ('{"type": "view", "sizes": {"p1": [640, -1]}}', "bad_message", "view"),
        ('{"type": "view", "sizes": {"p1": [99999, 10]}}', "bad_message", "view"),
        ('{"type": "view", "sizes": [640, 360]}', "bad_message", "view"),
        ('{"type": "rate", "product_id": "a", "stars": 0}', "bad_message", "rate"),
        ('{"type": "rate", "product_id": "a", "stars": 6}', "bad_message", "rate"),
        ('{"type": "rate", "product_id": "a", "stars": 4.5}', "bad_message", "rate"),
        ('{"type": "rate", "product_id": "a", "stars": "5"}', "bad_message", "rate"),
        ('{"type": "rate", "stars": 5}', "bad_message", "rate"),
    ],
)
def test_invalid_client_frames(raw: str | bytes, code: str, ref: str | None) -> None:
    with pytest.raises(wire.ProtocolError) as info:
        wire.parse_client_message(raw)
    assert info.value.code == code
    assert info.value.ref == ref
    assert info.value.message


def test_validation_message_names_the_field() -> None:
    with pytest.raises(wire.ProtocolError, match=r"^sdp: Field required$"):
        wire.parse_client_message('{"type": "answer"}')


def test_server_messages_are_validated_too() -> None:
    with pytest.raises(ValidationError):
        wire.parse_server_message('{"type": "pong", "nonce": 1, "extra": 2}')
    with pytest.raises(ValidationError):
        wire.parse_server_message('{"type": "error", "code": "no_such_code", "message": ""}')


def _doc_table(heading: str) -> list[str]:
    """First-column backticked names of the markdown table under ``heading``."""
    text = DOC.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def test_protocol_doc_lists_every_message_and_code() -> None:
    client = (
        _doc_table("## Client → server")
        + _doc_table("### Client → server (shopping)")
        + _doc_table("### Host control requests (client → server)")
    )
    server = (
        _doc_table("## Server → client")
        + _doc_table("### Server → client (shopping)")
        + _doc_table("### Host control events (server → client)")
        + _doc_table("### Live audience messages (server → client)")
    )
    codes = _doc_table("## Error codes") + _doc_table("### Shopping error codes")
    assert set(client) == wire.CLIENT_TYPES
    assert set(server) == wire.SERVER_TYPES
    assert set(codes) == {str(c) for c in wire.ErrorCode}
