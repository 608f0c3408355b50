"""Bundle-unique RTP payload types for subscription video m-lines (a sans-IO SDP step).

All m-lines of a BUNDLE group share one transport. A receiver associates each RTP packet
with an m-line by the MID header extension, else by a signalled SSRC, else by a payload
type that is unique in the bundle (RFC 8843 §9.2). aiortc gives every m-line the same
static payload types (VP8 97, its RTX 98), and signals only the primary SSRC to its RTP
router, so a subscriber that receives several videos cannot place an RTX packet
(RFC 4588 §4: a separate SSRC and payload type) and drops it: a lost packet is never
repaired. Rewriting each subscription video m-line to payload types no other m-line uses
makes RTX routable by payload type too (RFC 8843 §9.1 allows distinct values for the same
codec; the answerer echoes them, RFC 3264 §6.1).

The mapping is per stream (keyed by the sender's SSRC) and never changes once chosen:
a re-offer must keep an m-line's payload types (RFC 3264 §8.3.2).
"""

from __future__ import annotations

import dataclasses
import logging
import re

from aiortc import RTCRtpCodecParameters

logger = logging.getLogger(__name__)

#: Dynamic payload types every receiver accepts (RFC 3551 §6; aiortc accepts only these).
DYNAMIC_PAYLOAD_TYPES = range(96, 128)

_PT_LINE = re.compile(r"^a=(rtpmap|fmtp|rtcp-fb):(\d+)(.*)$")
_APT = re.compile(r"\bapt=(\d+)")
_SSRC_LINE = re.compile(r"^a=ssrc:(\d+)\b")


def _sections(sdp: str) -> tuple[list[str], list[list[str]]]:
    """The session-level lines and each media section's lines (without line ends)."""
    session: list[str] = []
    media: list[list[str]] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        elif line:
            session.append(line)
    return session, media


def _payload_types(section: list[str]) -> list[int]:
    """The payload types of a media section's format list (RFC 8866 §5.14)."""
    fields = section[0].split()
    return [int(f) for f in fields[3:] if f.isdigit()]


def _ssrcs(section: list[str]) -> set[int]:
    return {int(m.group(1)) for line in section if (m := _SSRC_LINE.match(line))}


def _rewrite(section: list[str], mapping: dict[int, int]) -> list[str]:
    """``section`` with every payload type renumbered (m= line, rtpmap, fmtp apt, rtcp-fb)."""

    def pt(value: str) -> str:
        return str(mapping.get(int(value), int(value)))

    fields = section[0].split()
    out = [" ".join(fields[:3] + [pt(f) if f.isdigit() else f for f in fields[3:]])]
    for line in section[1:]:
        m = _PT_LINE.match(line)
        if m is None:
            out.append(line)
            continue
        attr, value, rest = m.groups()
        if attr == "fmtp":
            rest = _APT.sub(lambda a: f"apt={pt(a.group(1))}", rest)
        out.append(f"a={attr}:{pt(value)}{rest}")
    return out


class PayloadTypePlan:
    """Chooses, remembers and applies per-stream payload types in one peer's offers."""

    def __init__(self) -> None:
        self._by_ssrc: dict[int, dict[int, int]] = {}

    def mapping(self, ssrc: int) -> dict[int, int] | None:
        """The (aiortc payload type -> offered payload type) map of a stream, once chosen."""
        return self._by_ssrc.get(ssrc)

    def renumber(
        self, ssrc: int, codecs: list[RTCRtpCodecParameters]
    ) -> list[RTCRtpCodecParameters]:
        """``codecs`` with the stream's offered payload types (and RTX ``apt``s)."""
        mapping = self._by_ssrc.get(ssrc)
        if not mapping:
            return codecs
        out = []
        for codec in codecs:
            params = dict(codec.parameters)
            apt = params.get("apt")
            if isinstance(apt, int):
                params["apt"] = mapping.get(apt, apt)
            pt = codec.payloadType
            out.append(
                dataclasses.replace(
                    codec,
                    payloadType=mapping.get(pt, pt) if pt is not None else None,
                    parameters=params,
                )
            )
        return out

    def apply(self, sdp: str, unique: set[int]) -> str:
        """Rewrite the offer so each m-line sending an SSRC in ``unique`` owns its PTs.

        Other m-lines keep their payload types; those are never handed out. A stream
        keeps its first assignment in every later offer. If the dynamic range runs out,
        the m-line keeps aiortc's numbers (media still flows; RTX is then only routable
        by MID or SSRC) and a warning is logged.
        """
        session, media = _sections(sdp)
        owners: list[int | None] = []
        for section in media:
            owner = next(iter(_ssrcs(section) & unique), None)
            owners.append(owner)
        taken: set[int] = set()
        for section, owner in zip(media, owners, strict=True):
            if owner is None:
                taken.update(_payload_types(section))
        for mapping in self._by_ssrc.values():
            taken.update(mapping.values())
        for section, owner in zip(media, owners, strict=True):
            if owner is None or owner in self._by_ssrc:
                continue
            chosen = self._choose(_payload_types(section), taken)
            if chosen is None:
                logger.warning("no free dynamic payload type for stream %d: RTX shares", owner)
                continue
            self._by_ssrc[owner] = chosen
            taken.update(chosen.values())
        lines = list(session)
        for section, owner in zip(media, owners, strict=True):
            plan = self._by_ssrc.get(owner) if owner is not None else None
            lines += _rewrite(section, plan) if plan else section
        return "\r\n".join(lines) + "\r\n"

    @staticmethod
    def _choose(pts: list[int], taken: set[int]) -> dict[int, int] | None:
        """Keep each payload type that is still free, else take the lowest free one."""
        chosen: dict[int, int] = {}
        used = set(taken)
        free = [p for p in DYNAMIC_PAYLOAD_TYPES if p not in used and p not in pts]
        for pt in pts:
            if pt not in DYNAMIC_PAYLOAD_TYPES:
                chosen[pt] = pt  # static payload types (RFC 3551) are never renumbered
            elif pt not in used:
                chosen[pt] = pt
            elif free:
                chosen[pt] = free.pop(0)
            else:
                return None
            used.add(chosen[pt])
        return chosen
