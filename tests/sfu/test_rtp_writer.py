"""Forwarded packets parse back with aiortc's own parser; RTX wraps per RFC 4588."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx

from sfu.rtp_writer import ABS_SEND_TIME_URI, AUDIO_LEVEL_URI, MID_URI, RtpWriter, wrap_rtx

IDS = {MID_URI: 1, AUDIO_LEVEL_URI: 2, ABS_SEND_TIME_URI: 3}


def _parse(data: bytes) -> RtpPacket:
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for u, i in IDS.items()]
        )
    )
    return RtpPacket.parse(data, ext_map)


def test_video_packet_round_trip() -> None:
    writer = RtpWriter(ssrc=0xDEADBEEF, payload_type=97, mid="12", ext_ids=IDS)
    data, header_len = writer.write(
        marker=True, seq=65535, ts=2**32 - 1, payload=b"frame", abs_send_time=0xABCDEF
    )
    packet = _parse(data)
    assert (packet.ssrc, packet.payload_type, packet.marker) == (0xDEADBEEF, 97, 1)
    assert (packet.sequence_number, packet.timestamp) == (65535, 2**32 - 1)
    assert packet.extensions.mid == "12"
    assert packet.extensions.abs_send_time == 0xABCDEF
    assert packet.payload == b"frame"
    assert data[header_len:] == b"frame"


def test_audio_level_round_trip_and_without_level() -> None:
    writer = RtpWriter(ssrc=1, payload_type=96, mid="3", ext_ids=IDS)
    data, _ = writer.write(marker=False, seq=1, ts=2, payload=b"opus", audio_level=(True, 42))
    packet = _parse(data)
    assert packet.extensions.audio_level == (True, 42)
    assert packet.extensions.mid == "3"
    data, _ = writer.write(marker=False, seq=1, ts=2, payload=b"opus")
    packet = _parse(data)
    assert packet.extensions.audio_level is None
    assert packet.extensions.mid == "3"
    assert packet.payload == b"opus"


def test_no_extensions_negotiated() -> None:
    writer = RtpWriter(ssrc=5, payload_type=111, mid=None, ext_ids={})
    data, header_len = writer.write(marker=True, seq=9, ts=10, payload=b"x", abs_send_time=1)
    assert header_len == 12
    assert data[0] == 0x80
    assert RtpPacket.parse(data).payload == b"x"


def test_rtx_wrap_unwraps_to_the_original() -> None:
    writer = RtpWriter(ssrc=77, payload_type=97, mid="1", ext_ids=IDS)
    data, header_len = writer.write(
        marker=True, seq=4242, ts=99, payload=b"payload", abs_send_time=5
    )
    rtx = _parse(wrap_rtx(data, header_len, payload_type=98, seq=7, ssrc=78))
    assert (rtx.payload_type, rtx.sequence_number, rtx.ssrc) == (98, 7, 78)
    assert rtx.extensions.mid == "1"
    original = unwrap_rtx(rtx, payload_type=97, ssrc=77)
    assert (original.sequence_number, original.timestamp, original.marker) == (4242, 99, 1)
    assert original.payload == b"payload"
