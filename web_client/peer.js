// The media connection of one join: one RTCPeerConnection that answers the server's offers.
//
// The server is always the offerer (PROTOCOL.md, "Media model"). In each offer, `slots` says what
// every m-line (mid) is for: "recvonly" slots are ours to publish on (we attach our microphone and
// camera and answer sendonly), "sendonly" slots carry one track of another participant (`source`),
// "inactive" slots are unused. A `slots` message re-maps m-lines already negotiated (someone left: source
// null; a new publisher on a free m-line) without an offer. ICE is not trickled: the answer goes out once gathering is complete.

import { Emitter } from "./events.js";

const ICE_GATHERING_TIMEOUT_MS = 5000;
/** Every m-line on one transport; `join` says so, and the first offer carries everything. */
export const BUNDLE_POLICY = "max-bundle";
const VIDEO_MAX_BITRATE = 600_000; // ten tiles of 360p: plenty, and kind to the SFU's uplinks
// VP8 temporal layers (RFC 7741): the SFU sends a short downlink every 2nd or 4th frame.
const VIDEO_SCALABILITY = "L1T3";

/** Resolve once ICE gathering is complete (or after `timeout` ms: send what we have). */
export function iceGatheringComplete(pc, timeout = ICE_GATHERING_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeout);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * Events: "tracks" (the remote tracks per participant changed), "state" (connectionState).
 * `remote` maps participant id -> {audio, video} (MediaStreamTrack or null).
 */
export class MediaSession extends Emitter {
  /**
   * `iceServers`: those of `joined` (STUN, TURN with our credentials). `relayOnly`: use TURN
   * relays only (iceTransportPolicy "relay"), as behind a firewall that blocks direct UDP.
   */
  constructor(localMedia, { iceServers = [], relayOnly = false } = {}) {
    super();
    this.localMedia = localMedia;
    this.pc = new RTCPeerConnection({
      bundlePolicy: BUNDLE_POLICY,
      iceServers,
      iceTransportPolicy: relayOnly ? "relay" : "all",
    });
    this.slots = new Map(); // mid -> slot
    this.remote = new Map();
    this.publishing = { audio: null, video: null }; // kind -> transceiver of our publish slot
    this._bitrateSet = new WeakSet();
    this.closed = false;
    this.pc.addEventListener("connectionstatechange", () => {
      this.emit("state", this.pc.connectionState);
    });
  }

  get connectionState() {
    return this.pc.connectionState;
  }

  /** A `slots` message: reused m-lines carry someone else now (no renegotiation). */
  applySlots(slots) {
    for (const slot of slots) this.slots.set(slot.mid, slot);
    this._collectRemote();
  }

  /** Apply a server `offer` and return the answer SDP (ICE gathering complete). */
  async answer(offer) {
    for (const slot of offer.slots) this.slots.set(slot.mid, slot);
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    for (const transceiver of this.pc.getTransceivers()) {
      const slot = this.slots.get(transceiver.mid);
      if (!slot || slot.direction !== "recvonly") continue;
      // A publish slot: ours to send on, even with the device off for now (a null track
      // sends nothing; replaceTrack later needs no renegotiation).
      this.publishing[slot.kind] = transceiver;
      transceiver.direction = "sendonly";
      await this._attach(transceiver, this.localMedia.sendTrack(slot.kind));
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await iceGatheringComplete(this.pc);
    this._limitVideoBitrate();
    this._collectRemote();
    return this.pc.localDescription.sdp;
  }

  /** Put the local tracks (or null while muted) on the publish slots. */
  async updateSendTracks() {
    for (const kind of ["audio", "video"]) {
      const transceiver = this.publishing[kind];
      if (transceiver && !this.closed) await this._attach(transceiver, this.localMedia.sendTrack(kind));
    }
    this._limitVideoBitrate();
  }

  async _attach(transceiver, track) {
    if (transceiver.sender.track === track) return;
    await transceiver.sender.replaceTrack(track);
  }

  _limitVideoBitrate() {
    const transceiver = this.publishing.video;
    if (!transceiver || this._bitrateSet.has(transceiver.sender)) return;
    const params = transceiver.sender.getParameters();
    if (!params.encodings || !params.encodings.length) return;
    const sender = transceiver.sender;
    params.encodings[0].maxBitrate = VIDEO_MAX_BITRATE;
    params.encodings[0].scalabilityMode = VIDEO_SCALABILITY;
    this._bitrateSet.add(sender);
    sender.setParameters(params).catch(() => {
      // A codec or browser without temporal layers (H264, say): the bitrate limit alone.
      const plain = sender.getParameters();
      if (!plain.encodings || !plain.encodings.length) return this._bitrateSet.delete(sender);
      plain.encodings[0].maxBitrate = VIDEO_MAX_BITRATE;
      delete plain.encodings[0].scalabilityMode;
      sender.setParameters(plain).catch(() => this._bitrateSet.delete(sender));
    });
  }

  // Which participant's track each receiving transceiver carries now.
  _collectRemote() {
    const remote = new Map();
    for (const transceiver of this.pc.getTransceivers()) {
      const slot = this.slots.get(transceiver.mid);
      if (!slot || slot.direction !== "sendonly" || !slot.source) continue;
      if (!remote.has(slot.source)) remote.set(slot.source, { audio: null, video: null });
      remote.get(slot.source)[slot.kind] = transceiver.receiver.track;
    }
    this.remote = remote;
    this.emit("tracks", remote);
  }

  /**
   * Receive statistics per participant: {audio: {packets, level}, video: {packets, frames}}.
   * One pc.getStats() names each inbound-rtp's mid (or track); receivers it does not cover (a
   * browser whose stats name neither) are asked one by one.
   */
  async receiveStats() {
    const receiving = new Map(); // transceiver -> slot
    for (const transceiver of this.pc.getTransceivers()) {
      const slot = this.slots.get(transceiver.mid);
      if (slot && slot.direction === "sendonly" && slot.source) receiving.set(transceiver, slot);
    }
    const result = new Map();
    if (this.closed || !receiving.size) return result;
    const byMid = new Map();
    const byTrack = new Map();
    for (const [transceiver, slot] of receiving) {
      byMid.set(transceiver.mid, slot);
      byTrack.set(transceiver.receiver.track.id, slot);
    }
    const covered = new Set();
    const record = (slot, stat) => {
      covered.add(slot);
      if (!result.has(slot.source)) result.set(slot.source, {});
      result.get(slot.source)[slot.kind] = {
        packets: stat.packetsReceived || 0,
        level: typeof stat.audioLevel === "number" ? stat.audioLevel : 0,
        frames: stat.framesDecoded || 0,
      };
    };
    (await this.pc.getStats()).forEach((stat) => {
      if (stat.type !== "inbound-rtp") return;
      const slot = byMid.get(stat.mid) || byTrack.get(stat.trackIdentifier);
      if (slot) record(slot, stat);
    });
    const missing = [...receiving].filter(([, slot]) => !covered.has(slot));
    await Promise.all(
      missing.map(async ([transceiver, slot]) => {
        (await transceiver.receiver.getStats()).forEach((stat) => {
          if (stat.type === "inbound-rtp") record(slot, stat);
        });
      }),
    );
    return result;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    this.remote = new Map();
    this.emit("tracks", this.remote);
  }
}
