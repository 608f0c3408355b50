"""Any answer SDP a client sends parses or raises InvalidSdp (fuzzed with Hypothesis)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.answer import parse_answer, parse_ingest_offer
from sfu.errors import InvalidSdp

# A browser's answer to the server's first offer (audio + video publish slots, BUNDLE).
ANSWER = "\r\n".join([
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1",
    "a=msid-semantic: WMS stream",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host generation 0",
    "a=end-of-candidates",
    "a=ice-ufrag:abcd",
    "a=ice-pwd:abcdefghijklmnopqrstuvwx",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
    "a=setup:active",
    "a=mid:0",
    "a=sendonly",
    "a=msid:stream audio1",
    "a=rtcp-mux",
    "a=rtpmap:111 opus/48000/2",
    "a=fmtp:111 minptime=10;useinbandfec=1",
    "a=ssrc:1111 cname:abc",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
    "c=IN IP4 0.0.0.0",
    "a=mid:1",
    "a=sendonly",
    "a=rtcp-mux",
    "a=rtcp-rsize",
    "a=rtpmap:96 VP8/90000",
    "a=rtcp-fb:96 nack",
    "a=rtcp-fb:96 nack pli",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=ssrc-group:FID 2222 3333",
    "a=ssrc:2222 cname:abc",
    "a=ssrc:3333 cname:abc",
    "",
])
LINES = ANSWER.split("\r\n")

_junk = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


@st.composite
def mutated_answers(draw: st.DrawFn) -> str:
    """The answer with a few lines dropped, duplicated, cut short or given junk values."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "dup", "cut", "junk", "split", "number"]))
        line = lines[i]
        if how == "drop":
            del lines[i]
        elif how == "dup":
            lines.insert(i, line)
        elif how == "cut":
            lines[i] = line[: draw(st.integers(0, max(0, len(line) - 1)))]
        elif how == "junk":
            lines[i] = line[: draw(st.integers(0, len(line)))] + draw(_junk)
        elif how == "split":
            parts = line.split(" ")
            parts[draw(st.integers(0, len(parts) - 1))] = draw(_junk)
            lines[i] = " ".join(parts)
        else:
            lines[i] = line.split(" ")[0] + " " + str(draw(st.integers(-(2**70), 2**70)))
        if not lines:
            break
    return "\r\n".join(lines)


def test_the_unmutated_answer_parses() -> None:
    assert [m.kind for m in parse_answer(ANSWER).media] == ["audio", "video"]


@settings(max_examples=1500)
@given(mutated_answers())
def test_mutated_answer_parses_or_is_invalid_sdp(text: str) -> None:
    with contextlib.suppress(InvalidSdp):
        parse_answer(text)


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_any_text_parses_or_is_invalid_sdp(text: str) -> None:
    with contextlib.suppress(InvalidSdp):
        parse_answer(text)


@pytest.mark.parametrize("text", ["m=audio 999", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF x", ""])
def test_known_parser_crashes_are_invalid_sdp(text: str) -> None:
    with pytest.raises(InvalidSdp):
        parse_answer(text)


# -- a WHIP client's offer (sfu.answer.parse_ingest_offer) ---------------------------------


def test_a_sending_audio_and_video_offer_is_an_ingest_offer() -> None:
    # The answer above has the shape of a WHIP offer: sendonly audio and video, BUNDLE.
    assert [m.kind for m in parse_ingest_offer(ANSWER).media] == ["audio", "video"]
    video_only = ANSWER.split("m=audio")[0] + "m=video" + ANSWER.split("m=video")[1]
    assert [m.kind for m in parse_ingest_offer(video_only).media] == ["video"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: s + "m=video" + s.split("m=video")[1], "more than one video"),
        (lambda s: s.replace("a=sendonly", "a=recvonly"), "nothing to ingest"),
        (lambda s: s + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", "application"),
        (lambda s: s.split("m=audio")[0], "no media"),
    ],
)
def test_offers_that_cannot_be_ingested_are_invalid_sdp(
    change: Callable[[str], str], why: str
) -> None:
    with pytest.raises(InvalidSdp, match=why):
        parse_ingest_offer(change(ANSWER))


@settings(max_examples=800)
@given(mutated_answers())
def test_mutated_offer_parses_or_is_invalid_sdp(text: str) -> None:
    with contextlib.suppress(InvalidSdp):
        parse_ingest_offer(text)
