"""The Janus benchmark worker's reading of Janus's offers and RTP: which feed each SSRC
carries, RTX paired with its media, and a keyframe's start found in a retransmission too."""

from __future__ import annotations

from aiortc import rtp as aiortc_rtp
from aiortc.codecs.vpx import Vp8Encoder

from bench.janus_worker import learn_ssrcs, starts_keyframe
from loadtest.metrics import RouteStats
from loadtest.receiver import Receiver

# The shape of a VideoRoom subscriber offer (two feeds; video with RFC 4588 RTX).
OFFER = """v=0
o=- 1 1 IN IP4 127.0.0.1
s=VideoRoom 1234
t=0 0
a=group:BUNDLE 0 1
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 127.0.0.1
a=sendonly
a=mid:0
a=rtcp-mux
a=setup:actpass
a=rtpmap:111 opus/48000/2
a=ssrc:1001 cname:janus
m=video 9 UDP/TLS/RTP/SAVPF 96 97
c=IN IP4 127.0.0.1
a=sendonly
a=mid:1
a=rtcp-mux
a=setup:actpass
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=ssrc-group:FID 2001 2002
a=ssrc:2001 cname:janus
a=ssrc:2002 cname:janus
"""


def receiver() -> Receiver:
    routes: dict[tuple[str, str], RouteStats] = {}
    return Receiver(routes, repair=True, keep_samples=False, tally=None,
                    on_stamp=lambda _source, _now: None)


def test_each_ssrc_is_mapped_to_its_feed_and_rtx_to_its_media() -> None:
    r = receiver()
    learn_ssrcs(OFFER.replace("\n", "\r\n"), {"0": "feedA", "1": "feedB"}, r)
    assert r.ssrc_slots == {1001: {"source": "feedA", "kind": "audio"},
                            2001: {"source": "feedB", "kind": "video"}}
    assert r.rtx_of == {2002: 2001}


def test_a_keyframe_start_is_found_in_the_media_packet_and_in_its_retransmission() -> None:
    key = b"\x10\x02\x00\x9d\x01\x2a" + bytes(3000)  # VP8 keyframe tag (P bit clear)
    delta = b"\x11" + bytes(100)
    packets = []
    for n, frame in enumerate((key, delta)):
        payload = Vp8Encoder._packetize(frame, n)[0]
        p = aiortc_rtp.RtpPacket(payload_type=96, sequence_number=10 + n, timestamp=3000 * n,
                                 ssrc=2001)
        p.extensions.mid = "1"  # a header extension before the payload, as Janus sends
        p.payload = payload
        packets.append(p)
    key_packet, delta_packet = packets
    assert starts_keyframe(key_packet.serialize(), rtx=False)
    assert not starts_keyframe(delta_packet.serialize(), rtx=False)
    # RFC 4588 §4: the retransmission carries the original sequence number first.
    resent = aiortc_rtp.wrap_rtx(key_packet, payload_type=97, sequence_number=1, ssrc=2002)
    assert starts_keyframe(resent.serialize(), rtx=True)
    assert not starts_keyframe(resent.serialize(), rtx=False)
