"""A WHIP client (RFC 9725) written from the RFC alone, as an encoder vendor would.

It imports nothing from coshop: aiohttp for HTTP, aiortc for the media. The client offers
(sendonly audio and video), POSTs the offer as application/sdp with a bearer token, applies
the 201's answer, remembers the Location, and DELETEs it to stop (RFC 9725 §4.2). No trickle
ICE: aiortc gathers every candidate before the offer leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

import aiohttp
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)


class WhipRefused(Exception):
    """The endpoint did not answer 201."""

    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        super().__init__(f"WHIP endpoint answered {status}: {body[:200]}")
        self.status = status
        self.headers = headers
        self.body = body


@dataclass
class WhipClient:
    """Publishes ``tracks`` to ``endpoint`` (the WHIP endpoint URL) with ``token``."""

    endpoint: str
    token: str | None
    tracks: list[MediaStreamTrack]
    resource: str | None = None
    links: list[str] = field(default_factory=list)
    answer: str | None = None
    #: Offer only this video codec (e.g. "video/H264", as OBS sends); None: aiortc's list.
    video_codec: str | None = None

    def __post_init__(self) -> None:
        # The ICE servers a WHIP endpoint names come in its answer's Link headers (RFC 9725
        # §4.6), too late for this offer; on loopback host candidates are all it takes.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    async def publish(self, *, offer_sdp: str | None = None, content_type: str = "application/sdp",
                      redirects: bool = True) -> None:
        """Offer, POST, apply the answer. ``offer_sdp``: send this instead (tests of errors).
        Raises WhipRefused."""
        for track in self.tracks:
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video" and self.video_codec is not None:
                transceiver.setCodecPreferences([
                    c for c in RTCRtpSender.getCapabilities("video").codecs
                    if c.mimeType.lower() in (self.video_codec.lower(), "video/rtx")
                ])
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp = self.pc.localDescription.sdp if offer_sdp is None else offer_sdp
        headers = {"Content-Type": content_type}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        url = self.endpoint
        async with aiohttp.ClientSession() as http:
            for _ in range(5):
                # A 307 sends the same POST, token included, elsewhere (RFC 9725 §4.5); an
                # HTTP library drops the Authorization header on a redirect to another
                # origin, so the redirect is followed here.
                async with http.post(
                    url, data=sdp.encode(), headers=headers, allow_redirects=False
                ) as response:
                    body = await response.text()
                    if response.status in (307, 308) and redirects:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if response.status != 201:
                        raise WhipRefused(response.status, dict(response.headers), body)
                    assert response.content_type == "application/sdp", response.content_type
                    # The Location may be relative: resolve it against the URL that answered.
                    self.resource = urljoin(url, response.headers["Location"])
                    self.links = response.headers.getall("Link", [])
                    break
            else:
                raise WhipRefused(response.status, dict(response.headers), "redirect loop")
        self.answer = body
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    async def stop(self, *, token: str | None = None) -> int:
        """DELETE the session (RFC 9725 §4.2); returns the status. Closes the connection."""
        assert self.resource is not None
        presented = token or self.token
        headers = {"Authorization": f"Bearer {presented}"} if presented else {}
        async with aiohttp.ClientSession() as http, http.delete(
            self.resource, headers=headers
        ) as response:
            status = response.status
        if status == 200:
            await self.pc.close()
        return status

    async def close(self) -> None:
        await self.pc.close()
