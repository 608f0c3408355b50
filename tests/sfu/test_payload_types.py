"""PayloadTypePlan: bundle-unique, stable payload types per subscription video m-line."""

from __future__ import annotations

from aiortc import sdp as aiortc_sdp
from aiortc.codecs import CODECS

from sfu.payload_types import PayloadTypePlan


def _section(mid: str, ssrc: int, direction: str, pts: tuple[int, int] = (97, 98)) -> str:
    pt, rtx = pts
    return (
        f"m=video 9 UDP/TLS/RTP/SAVPF {pt} {rtx}\r\n"
        "c=IN IP4 0.0.0.0\r\n"
        f"a={direction}\r\n"
        f"a=mid:{mid}\r\n"
        f"a=rtcp-fb:{pt} nack\r\n"
        f"a=rtcp-fb:{pt} nack pli\r\n"
        f"a=rtpmap:{pt} VP8/90000\r\n"
        f"a=rtpmap:{rtx} rtx/90000\r\n"
        f"a=fmtp:{rtx} apt={pt}\r\n"
        f"a=ssrc-group:FID {ssrc} {ssrc + 1}\r\n"
        f"a=ssrc:{ssrc} cname:x\r\n"
        f"a=ssrc:{ssrc + 1} cname:x\r\n"
    )


_SESSION = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


def _offer(*sections: str) -> str:
    return _SESSION + "".join(sections)


def _pts(sdp: str) -> list[tuple[str, int, int]]:
    out = []
    for media in aiortc_sdp.SessionDescription.parse(sdp).media:
        vp8 = next(c for c in media.rtp.codecs if c.mimeType == "video/VP8")
        rtx = next(c for c in media.rtp.codecs if c.mimeType == "video/rtx")
        assert rtx.parameters["apt"] == vp8.payloadType
        assert media.fmt == [vp8.payloadType, rtx.payloadType]
        assert {fb.type for fb in vp8.rtcpFeedback} == {"nack"}
        out.append((media.rtp.muxId or "", vp8.payloadType or 0, rtx.payloadType or 0))
    return out


def test_each_subscription_gets_its_own_payload_types() -> None:
    publish = _section("0", 10, "recvonly", (97, 98))
    subs = [_section(str(i), 100 * i, "sendonly") for i in (1, 2, 3)]
    out = PayloadTypePlan().apply(_offer(publish, *subs), {100, 200, 300})
    got = _pts(out)
    assert got[0] == ("0", 97, 98)  # other m-lines are left alone
    pts = [p for _, vp8, rtx in got for p in (vp8, rtx)]
    assert len(set(pts)) == len(pts)
    assert all(96 <= p <= 127 for p in pts)


def test_the_first_subscription_keeps_free_payload_types() -> None:
    out = PayloadTypePlan().apply(_offer(_section("0", 100, "sendonly")), {100})
    assert _pts(out) == [("0", 97, 98)]


def test_assignments_are_stable_across_offers() -> None:
    plan = PayloadTypePlan()
    first = _pts(
        plan.apply(
            _offer(_section("0", 100, "sendonly"), _section("1", 200, "sendonly")), {100, 200}
        )
    )
    # A re-offer adds a line; the existing lines (aiortc re-offers 97/98) keep theirs.
    again = _pts(
        plan.apply(
            _offer(
                _section("0", 100, "sendonly"),
                _section("1", 200, "inactive"),
                _section("2", 300, "sendonly"),
            ),
            {100, 200, 300},
        )
    )
    assert again[:2] == first
    assert {again[2][1], again[2][2]}.isdisjoint({p for _, a, b in first for p in (a, b)})


def test_exhausted_range_leaves_the_line_as_aiortc_made_it() -> None:
    subs = [_section(str(i), 100 * (i + 1), "sendonly") for i in range(17)]
    out = _pts(PayloadTypePlan().apply(_offer(*subs), {100 * (i + 1) for i in range(17)}))
    assert len({(a, b) for _, a, b in out[:16]}) == 16  # 32 dynamic types: 16 pairs
    assert out[16][1:] == (97, 98)


def test_session_and_other_lines_are_kept_verbatim() -> None:
    sdp = _offer(_section("0", 10, "recvonly"))
    assert PayloadTypePlan().apply(sdp, set()) == sdp


def test_renumber_matches_the_offer() -> None:
    aiortc_codecs = CODECS["video"][:2]  # VP8 97, RTX 98 apt=97
    plan = PayloadTypePlan()
    plan.apply(_offer(_section("0", 10, "recvonly"), _section("1", 100, "sendonly")), {100})
    vp8, rtx = plan.renumber(100, aiortc_codecs)
    assert (vp8.payloadType, rtx.payloadType, rtx.parameters["apt"]) == (96, 99, 96)
    assert aiortc_codecs[0].payloadType == 97  # aiortc's own table is untouched
    assert plan.renumber(12345, aiortc_codecs) == aiortc_codecs
