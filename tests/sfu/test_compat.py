"""The start-up self-check names what is missing instead of failing silently later."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection

import sfu.compat as compat
from sfu.errors import IncompatibleAiortc


def test_installed_aiortc_passes() -> None:
    compat.check_aiortc()


def test_another_aiortc_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "version", lambda name: "9.9.9")
    with pytest.raises(IncompatibleAiortc, match=r"aiortc 9\.9\.9 is installed.*aiortc==1\.16\.0"):
        compat.check_aiortc()


def test_a_missing_hooked_method_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiortc import RTCRtpSender

    monkeypatch.delattr(RTCRtpSender, "_retransmit")
    with pytest.raises(IncompatibleAiortc, match=r"RTCRtpSender\._retransmit"):
        compat.check_aiortc()


async def test_a_missing_instance_field_is_named() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video")
        compat.check_transceiver(transceiver)
        del transceiver.sender._RTCRtpSender__octet_count
        with pytest.raises(IncompatibleAiortc, match=r"RTCRtpSender\._RTCRtpSender__octet_count"):
            compat.check_transceiver(transceiver)
    finally:
        await pc.close()
