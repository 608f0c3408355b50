"""The start-up self-check names what is missing instead of failing silently later."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

import sfu
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


def _private_names_touched_by_sfu() -> set[str]:
    """Every ``obj._name`` the sfu package reads or writes on an object that is not its own
    ``self``: those are aiortc/aioice internals (sfu classes do not poke at each other)."""
    names: set[str] = set()
    for path in Path(sfu.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not (node.attr.startswith("__") and node.attr.endswith("__"))
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                names.add(node.attr)
    return names


def test_every_private_name_the_sfu_touches_is_checked() -> None:
    touched = _private_names_touched_by_sfu()
    assert {"_nominated", "_connection", "_tx_srtp", "_ssrc"} <= touched  # the scan works
    assert touched <= compat.HOOKED_NAMES, touched - compat.HOOKED_NAMES
    # And nothing is checked that the SFU no longer uses.
    assert touched >= compat.HOOKED_NAMES, compat.HOOKED_NAMES - touched


def test_another_aioice_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = compat.version
    monkeypatch.setattr(compat, "version", lambda name: "0.0.1" if name == "aioice" else real(name))
    with pytest.raises(IncompatibleAiortc, match=r"aioice 0\.0\.1 is installed.*aioice==0\.13\.0"):
        compat.check_aiortc()


def test_pins_match_pyproject() -> None:
    pyproject = tomllib.loads((Path(sfu.__file__).parents[1] / "pyproject.toml").read_text())
    deps = pyproject["project"]["dependencies"]
    for name, pinned in compat.SUPPORTED.items():
        assert f"{name}=={pinned}" in deps, (name, deps)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("sender.transport", "_tx_srtp"),
        ("sender.transport", "_state"),
        ("sender.transport.transport", "_connection"),
        ("sender.transport.transport._connection", "_nominated"),
    ],
)
async def test_a_missing_transport_field_is_named(path: str, name: str) -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video")
        compat.check_transceiver(transceiver)
        owner = transceiver
        for part in path.split("."):
            owner = getattr(owner, part)
        saved = getattr(owner, name)
        delattr(owner, name)
        try:
            with pytest.raises(IncompatibleAiortc, match=rf"\.{name}"):
                compat.check_transceiver(transceiver)
        finally:
            setattr(owner, name, saved)  # pc.close() needs it
    finally:
        await pc.close()


def test_a_missing_aioice_method_the_ingress_stands_in_for_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aioice.ice import StunProtocol

    monkeypatch.delattr(StunProtocol, "datagram_received")
    with pytest.raises(IncompatibleAiortc, match=r"StunProtocol\.datagram_received"):
        compat.check_aiortc()


async def test_a_missing_aioice_queue_is_named() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video")
        connection = transceiver.sender.transport.transport._connection
        queue = connection._queue
        del connection._queue
        try:
            with pytest.raises(IncompatibleAiortc, match=r"aioice\.Connection\._queue"):
                compat.check_transceiver(transceiver)
        finally:
            connection._queue = queue  # closing needs it
    finally:
        await pc.close()
