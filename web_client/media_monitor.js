// Who is sending media and who is talking, from the receive statistics (no server help needed).
//
// A muted participant sends no RTP at all (their sender carries a null track), so "no packets for
// a moment" is their mute indicator. Loudness comes from the inbound-rtp `audioLevel` for others
// and from an AnalyserNode for yourself; the active speaker is the loudest above a threshold, held
// for a moment so the highlight does not flicker between syllables.

import { Emitter } from "./events.js";

const INTERVAL_MS = 300;
// No packets for this long = muted / camera off. Video waits longer: a busy machine can stall a
// video stream briefly, and flashing an avatar over a live face is worse than a late indicator.
const STALE_MS = { audio: 1500, video: 2500 };
const SPEAKING_LEVEL = 0.03; // linear, 0..1 (about -30 dBov)
const HOLD_MS = 1200;

/** What a tile needs to know about one participant's media. */
export class MediaStatus {
  constructor() {
    this.audio = "none"; // "none" (no track) | "live" | "off" (muted)
    this.video = "none";
    this.level = 0;
  }
}

/** Events: "update" {status: Map id -> MediaStatus, speaker: id|null}. */
export class MediaMonitor extends Emitter {
  constructor(localMedia) {
    super();
    this.localMedia = localMedia;
    this.session = null;
    this.selfId = null;
    this.status = new Map();
    this.speaker = null;
    this._seen = new Map(); // `${id}:${kind}` -> {packets, at}
    this._lastSpoke = 0;
    this._timer = null;
    this._busy = false;
  }

  /** Watch this media session (null: nothing received) and yourself as `selfId`. */
  watch(session, selfId) {
    this.session = session;
    this.selfId = selfId;
    this._seen.clear();
  }

  start() {
    if (this._timer) return;
    this._timer = setInterval(() => this._sample(), INTERVAL_MS);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = null;
    this.status = new Map();
    this.speaker = null;
  }

  async _sample() {
    if (this._busy) return; // a slow getStats must not pile up
    this._busy = true;
    try {
      const now = performance.now();
      const status = new Map();
      const session = this.session;
      if (session && !session.closed) {
        const stats = await session.receiveStats();
        for (const [id, tracks] of session.remote) {
          const s = new MediaStatus();
          const got = stats.get(id) || {};
          for (const kind of ["audio", "video"]) {
            if (!tracks[kind]) continue;
            s[kind] = this._fresh(`${id}:${kind}`, got[kind], now, STALE_MS[kind]) ? "live" : "off";
          }
          s.level = s.audio === "live" && got.audio ? got.audio.level : 0;
          status.set(id, s);
        }
      }
      if (this.selfId) status.set(this.selfId, this._self());
      this.status = status;
      this.speaker = this._pickSpeaker(status, now);
      this.emit("update", { status, speaker: this.speaker });
    } catch {
      // getStats fails on a connection closed meanwhile; the next sample uses the new one.
    } finally {
      this._busy = false;
    }
  }

  _self() {
    const media = this.localMedia;
    const s = new MediaStatus();
    s.audio = media.audioTrack ? (media.micOn ? "live" : "off") : "none";
    s.video = media.videoTrack ? "live" : media.camOn ? "none" : "off";
    s.level = media.level();
    return s;
  }

  // Did packets arrive since the last sample (or within STALE_MS)?
  _fresh(key, stat, now, staleMs) {
    const packets = stat ? stat.packets : 0;
    const seen = this._seen.get(key);
    if (!seen) {
      this._seen.set(key, { packets, at: packets > 0 ? now : -Infinity });
      return packets > 0;
    }
    if (packets > seen.packets) {
      seen.packets = packets;
      seen.at = now;
    }
    return now - seen.at < staleMs;
  }

  _pickSpeaker(status, now) {
    let loudest = null;
    for (const [id, s] of status) {
      if (s.level >= SPEAKING_LEVEL && (!loudest || s.level > status.get(loudest).level)) loudest = id;
    }
    const current = this.speaker && status.get(this.speaker);
    if (loudest) {
      this._lastSpoke = now;
      const currentLevel = current ? current.level : 0;
      if (!current || currentLevel < SPEAKING_LEVEL || status.get(loudest).level > currentLevel * 1.5) {
        return loudest;
      }
      return this.speaker;
    }
    return current && now - this._lastSpoke < HOLD_MS ? this.speaker : null;
  }
}
