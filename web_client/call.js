// Being in a room: the signaling conversation that joins, answers offers, follows room events,
// and rejoins by itself after a lost connection (new socket, join again, state from the snapshot).

import { Emitter } from "./events.js";
import { BUNDLE_POLICY, MediaSession } from "./peer.js";
import { SeqCheck } from "./room_state.js";
import { SHOPPING_EVENTS } from "./shopping_state.js";
import { SignalingConnection, SocketState } from "./signaling.js";

export const Phase = Object.freeze({
  IDLE: "idle",
  CONNECTING: "connecting", // first connection
  JOINING: "joining",
  JOINED: "joined",
  RECONNECTING: "reconnecting", // lost the connection (or the media) and getting back in
  ENDED: "ended", // left, refused or removed: see `reason`
});

/** Why a call ended; each has its own message in the UI. */
export const EndReason = Object.freeze({
  LEFT: "left",
  ROOM_CLOSED: "room_closed",
  ROOM_FULL: "room_full",
  REMOVED: "removed",
  BANNED: "banned",
  UNAUTHORIZED: "unauthorized",
  REPLACED: "replaced",
  CONNECTION_LOST: "connection_lost",
  FAILED: "failed",
});

// Join errors that retrying will not fix.
const FINAL_JOIN_ERRORS = new Set(["room_full", "room_closed", "unauthorized", "bad_message", "banned"]);
const ALREADY_JOINED_RETRY_MS = 1000; // our old socket may not be gone yet (e.g. after a reload)
const MAX_JOIN_RETRIES = 15;
const MEDIA_FAILED_GRACE_MS = 4000;
const MAX_REDIRECTS = 5; // in a row without getting in: the deployment is broken, say so
const RESUME_KEY = "coshop.resume."; // + room id: this tab's credential to come back as itself
const TRACE_SIZE = 200;
// `?ice=relay` in the page's first URL (read before app.js tidies the address bar): TURN relays
// only, iceTransportPolicy "relay", to check a TURN set-up (README).
const RELAY_ONLY = new URLSearchParams(location.search).get("ice") === "relay";
// The server sends the first offer right behind `joined`; the room is drawn once that offer is
// answered (drawing takes the main thread the answer needs), or after this long without an offer,
// or at the latest this long after the offer came. On a busy machine the offer can come 50 ms
// behind `joined`: drawing first then holds the answer up by the whole drawing (issue 8).
const DRAW_WAIT_MS = 250;
const ANSWER_WAIT_MS = 1000;
// A hidden tab draws no frames: the shopping views then wait at most this long.
const FRAME_WAIT_MS = 50;

/** Resolve once the page has drawn its next frame (or after FRAME_WAIT_MS). */
function afterNextFrame() {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, FRAME_WAIT_MS);
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(timer);
        resolve();
      }, 0),
    );
  });
}

/** This tab's resume credential for `room` (from its latest `joined`), or null. */
export function resumeCredential(room) {
  return sessionStorage.getItem(RESUME_KEY + room);
}

/**
 * Events: "phase" {phase, reason}, "error" (a server error about a request of ours),
 * "notice" (something happened worth a toast), "tracks" (remote tracks changed), "message"
 * (any other server message, e.g. host controls and `own_cart`: live_state.js reads them).
 */
export class Call extends Emitter {
  constructor({ localMedia, room, shopping, connection = new SignalingConnection() }) {
    super();
    this.localMedia = localMedia;
    this.room = room;
    this.shopping = shopping;
    this.connection = connection;
    this.session = null; // MediaSession of the current join
    this.phase = Phase.IDLE;
    this.reason = null;
    this.target = null; // {room, name, role, token}
    this._inbox = Promise.resolve();
    this._drawn = Promise.resolve(); // the room of the latest `joined` is drawn
    this._offerStarted = () => {}; // called when an offer starts being answered
    this._offerAnswered = () => {}; // called when it has been answered (or could not be)
    this._joinRetries = 0;
    this._redirects = 0; // redirects since we were last in the room
    this._retryTimer = null;
    this._failTimer = null;
    this.trace = []; // the last TRACE_SIZE things that happened, for debugging (window.coshop)
    this.mediaStates = new Map(); // participant id -> {audio, video}, as each one said
    this.activeSpeaker = undefined; // the server's word (active_speaker); undefined: not said yet
    this.hidden = new Set(); // whose video we do not show now
    this.tileSizes = null; // {id: [w, h]} of the remote tiles shown, once the grid said
    this._sentMediaState = null;
    this._sentResume = false;
    this._iceServers = [];
    connection.on("state", ({ state, delay }) =>
      this._trace(`socket ${state}${delay ? ` (retry in ${delay} ms)` : ""}`),
    );
    connection.on("open", ({ socket }) => this._sendJoin(socket));
    connection.on("close", () => this._lost());
    connection.on("state", ({ state }) => {
      if (state === SocketState.WAITING && this.phase !== Phase.ENDED) this._lost();
    });
    // Retried long enough (the server is gone, or so is our network): stop and say so.
    connection.on("gave_up", () => {
      if (this.phase !== Phase.ENDED && this.phase !== Phase.IDLE) this._end(EndReason.CONNECTION_LOST);
    });
    connection.on("message", ({ message, socket }) => {
      // One message at a time, in order: an offer is answered before the next one is looked at.
      this._inbox = this._inbox
        .then(() => (socket === this.connection.socketId ? this._handle(message) : null))
        .catch((err) => console.error("coshop: handling", message.type, err));
    });
    localMedia.on("change", () => {
      if (this.session) this.session.updateSendTracks().catch(() => {});
      this._sendMediaState();
    });
  }

  /** Join `target` ({room, name, role, token}) and stay in until leave(). */
  join(target) {
    this.target = target;
    this.reason = null;
    this._joinRetries = 0;
    this._setPhase(Phase.CONNECTING);
    if (this.connection.state === SocketState.OPEN) this._sendJoin(this.connection.socketId);
    else this.connection.start();
  }

  /** Leave the room for good. */
  leave() {
    this.connection.send({ type: "leave" });
    this._end(EndReason.LEFT);
  }

  /** Send a request (shopping actions); false while not in the room. */
  send(message) {
    if (this.phase !== Phase.JOINED) return false;
    return this.connection.send(message);
  }

  _trace(text) {
    this.trace.push(`${(performance.now() / 1000).toFixed(1)} ${text}`);
    if (this.trace.length > TRACE_SIZE) this.trace.shift();
  }

  _setPhase(phase, reason = null) {
    this._trace(`phase ${phase}${reason ? ` (${reason})` : ""}`);
    this.phase = phase;
    if (reason) this.reason = reason;
    this.emit("phase", { phase, reason: this.reason });
  }

  _sendJoin(socket) {
    if (!this.target || this.phase === Phase.ENDED || socket !== this.connection.socketId) return;
    const { room, name, role, token } = this.target;
    // Our RTCPeerConnection bundles everything (peer.js): the first offer can carry every
    // subscription, one offer/answer round trip less before the others' video.
    const message = { type: "join", room, bundle_policy: BUNDLE_POLICY };
    if (token) message.token = token;
    else message.name = name;
    if (role === "viewer") message.role = "viewer";
    // Come back as the same participant (same id, votes, cart lines) after a reload or a drop.
    const resume = sessionStorage.getItem(RESUME_KEY + room);
    this._sentResume = Boolean(resume);
    if (resume) message.resume = resume;
    this.connection.send(message);
    if (this.phase !== Phase.RECONNECTING) this._setPhase(Phase.JOINING);
  }

  // The socket went away: media goes with it; the connection is already retrying.
  _lost() {
    // A redirect to a node we cannot reach (it just died) is no loop: start counting again.
    this._redirects = 0;
    if (this.phase === Phase.ENDED || this.phase === Phase.IDLE) return;
    this._closeSession();
    if (this.phase === Phase.JOINED || this.phase === Phase.RECONNECTING) {
      this._setPhase(Phase.RECONNECTING);
    }
  }

  _end(reason) {
    clearTimeout(this._retryTimer);
    clearTimeout(this._failTimer);
    this.connection.stop();
    this._closeSession();
    this._setPhase(Phase.ENDED, reason);
  }

  _closeSession() {
    clearTimeout(this._failTimer);
    if (this.session) {
      this.session.close();
      this.session = null;
      this.emit("tracks", new Map());
    }
  }

  _newSession(iceServers = []) {
    this._closeSession();
    const session = new MediaSession(this.localMedia, { iceServers, relayOnly: RELAY_ONLY });
    session.on("tracks", (tracks) => this.emit("tracks", tracks));
    session.on("state", (state) => {
      clearTimeout(this._failTimer);
      if (state !== "failed" || session !== this.session) return;
      // The server notices too and sends `left` (media_failed); if it does not, start over.
      this._failTimer = setTimeout(() => {
        if (session === this.session) this._rejoin();
      }, MEDIA_FAILED_GRACE_MS);
    });
    this.session = session;
    return session;
  }

  _rejoin() {
    this._closeSession();
    this._setPhase(Phase.RECONNECTING);
    this.connection.restart();
  }

  async _handle(message) {
    const type = message.type;
    // Everything but an offer waits until the room of `joined` is drawn (it needs that state).
    if (type !== "offer") await this._drawn;
    if (type !== "pong") {
      const detail = message.seq ? ` seq ${message.seq}` : "";
      this._trace(
        `got ${type}${detail}${message.code ? ` ${message.code}` : ""}${message.reason ? ` ${message.reason}` : ""}`,
      );
    }
    if (typeof message.seq === "number" && type !== "joined" && type !== "snapshot") {
      if (this.phase !== Phase.JOINED) return;
      const check = this.room.check(message.seq);
      if (check === SeqCheck.OLD) return;
      // A live room's audience gets folded events, so gaps there are normal (PROTOCOL.md).
      if (check === SeqCheck.GAP && !this.room.foldsEvents()) this.connection.send({ type: "resync" });
    }
    switch (type) {
      case "joined": {
        this._joinRetries = 0;
        this._redirects = 0;
        if (message.resume) sessionStorage.setItem(RESUME_KEY + message.room.id, message.resume);
        this._iceServers = message.ice_servers || [];
        this._newSession(this._iceServers);
        this.mediaStates = statesOf(message);
        this.activeSpeaker = undefined;
        this._sentMediaState = null;
        this.phase = Phase.JOINED; // the offer behind us may be answered now
        // Drawing the room takes the page a while: let the offer that follows `joined` start
        // the media first (issue 8), then draw. Later messages wait for the drawing.
        const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        const offered = new Promise((resolve) => (this._offerStarted = resolve));
        const answered = new Promise((resolve) => (this._offerAnswered = resolve));
        this._drawn = Promise.race([offered.then(() => true), delay(DRAW_WAIT_MS).then(() => false)])
          .then((offer) => (offer ? Promise.race([answered, delay(ANSWER_WAIT_MS)]) : null))
          .then(() => this._draw(message));
        break;
      }
      case "snapshot":
        // After a host moved us between the stage and the audience: the credential that
        // brings us back in the new role (PROTOCOL.md, Host controls).
        if (message.resume) sessionStorage.setItem(RESUME_KEY + message.room.id, message.resume);
        this.mediaStates = statesOf(message);
        this.emit("media-state", this.mediaStates);
        this.room.reset(message);
        if (message.shopping) this.shopping.reset(message.shopping, message.may);
        break;
      case "may":
        this.shopping.setMay(message.may);
        break;
      case "offer":
        await this._answer(message);
        break;
      case "slots":
        if (this.session && this.phase === Phase.JOINED) this.session.applySlots(message.slots);
        break;
      case "participant_joined":
        this.room.addParticipant(message.participant);
        break;
      case "active_speaker":
        this.activeSpeaker = message.participant_id;
        break;
      case "media_state":
        this.mediaStates.set(message.participant_id, { audio: message.audio, video: message.video });
        this.emit("media-state", this.mediaStates);
        break;
      case "participant_left":
        this.mediaStates.delete(message.participant_id);
        this.room.removeParticipant(message.participant_id, message.reason);
        this.shopping.participantLeft(message.participant_id);
        break;
      case "role_changed":
        // Ours: the server drops our peer connection and offers a new one (PROTOCOL.md).
        if (this.room.you && message.participant_id === this.room.you.id) this._newSession(this._iceServers);
        this.room.setRole(message.participant_id, message.role);
        this.emit("message", message);
        break;
      case "track_published":
      case "room_closed":
        break;
      case "left":
        this._onLeft(message.reason);
        break;
      case "redirect":
        this._onRedirect(message);
        break;
      case "error":
        this._onError(message);
        break;
      case "pong":
        break;
      default:
        if (SHOPPING_EVENTS.has(type)) this.shopping.apply(message);
        else this.emit("message", message);
    }
  }

  // The room of `joined`, on the page: models reset (their views draw), phase announced. The
  // people and their tiles first; the shopping views once that frame is on screen, so the
  // tiles' video starts without waiting for the carousel to draw (issue 8).
  async _draw(message) {
    this.room.reset(message);
    this._setPhase(Phase.JOINED);
    this._sendMediaState();
    if (this.hidden.size || this.tileSizes) this._sendView();
    await afterNextFrame();
    this.shopping.clearRatings(); // the server shares them again right after this join
    this.shopping.reset(message.shopping, message.may);
  }

  /**
   * These participants' video is off screen: the server pauses it; `sizes` ({id: [w, h]}, CSS
   * px) of the tiles shown: the biggest keep most frame rate on a short downlink (PROTOCOL.md, view).
   */
  setView(ids, sizes = null) {
    this.hidden = new Set(ids);
    if (sizes) this.tileSizes = sizes;
    if (this.phase === Phase.JOINED) this._sendView();
  }

  _sendView() {
    const message = { type: "view", hidden: [...this.hidden] };
    if (this.tileSizes) message.sizes = this.tileSizes;
    this.connection.send(message);
  }

  /** Tell the room whether our microphone and camera are on (PROTOCOL.md, media_state). */
  _sendMediaState() {
    if (this.phase !== Phase.JOINED || !this.room.you || this.room.you.role === "viewer") return;
    const media = this.localMedia;
    const state = { audio: Boolean(media.micOn && media.audioTrack), video: Boolean(media.camOn && media.videoTrack) };
    const key = `${this.connection.socketId}:${state.audio}:${state.video}`;
    if (key === this._sentMediaState) return;
    if (this.connection.send({ type: "media_state", ...state })) this._sentMediaState = key;
  }

  async _answer(offer) {
    const session = this.session;
    if (!session || this.phase !== Phase.JOINED) return;
    this._offerStarted();
    const socket = this.connection.socketId;
    try {
      const sdp = await session.answer(offer);
      // Only if nothing replaced this connection while ICE was gathering.
      if (session === this.session && socket === this.connection.socketId) {
        this.connection.send({ type: "answer", sdp });
      }
    } finally {
      this._offerAnswered();
    }
  }

  // Another node serves the room (docs/PROTOCOL.md, Several nodes): join there, as ourselves.
  _onRedirect(message) {
    this._redirects += 1;
    if (this._redirects > MAX_REDIRECTS) {
      this.failure = { code: "redirect_loop", message: `redirected ${MAX_REDIRECTS} times` };
      this._end(EndReason.FAILED);
      return;
    }
    // A viewer invited to the stage of a live room is sent to the stage's node with a
    // credential that carries its new role.
    if (message.resume) sessionStorage.setItem(RESUME_KEY + message.room, message.resume);
    if (this.phase === Phase.JOINED) {
      this.emit("notice", "Moving to another server…");
      this._closeSession();
      this._setPhase(Phase.RECONNECTING);
    }
    this.connection.redirect(message.url);
  }

  _onLeft(reason) {
    switch (reason) {
      case "left":
        this._end(EndReason.LEFT);
        break;
      case "room_closed":
        this._end(EndReason.ROOM_CLOSED);
        break;
      case "removed":
        this._end(EndReason.REMOVED);
        break;
      case "banned":
        this._end(EndReason.BANNED);
        break;
      case "replaced":
        // This person joined again elsewhere (another tab): that one is in the room now.
        this._end(EndReason.REPLACED);
        break;
      default:
        // media_failed (or anything new): get back in with a fresh connection.
        this.emit("notice", "The media connection failed. Reconnecting…");
        this._rejoin();
    }
  }

  _onError(error) {
    if (error.ref === "join" && this.phase !== Phase.JOINED) {
      if (error.code === "unauthorized" && this._sentResume && this.target) {
        // The credential expired (or the server's key changed): join again as someone new.
        sessionStorage.removeItem(RESUME_KEY + this.target.room);
        this._sendJoin(this.connection.socketId);
        return;
      }
      if (error.code === "already_joined" && this._joinRetries < MAX_JOIN_RETRIES) {
        // With a token our identity is fixed; the server has not let our old socket go yet.
        this._joinRetries += 1;
        const socket = this.connection.socketId;
        this._retryTimer = setTimeout(() => this._sendJoin(socket), ALREADY_JOINED_RETRY_MS);
        return;
      }
      if (FINAL_JOIN_ERRORS.has(error.code) || error.code === "already_joined") {
        const reason = Object.values(EndReason).includes(error.code) ? error.code : EndReason.FAILED;
        this.reason = reason;
        this.failure = error;
        this._end(reason);
        return;
      }
    }
    if (error.code === "stale_version" && error.carousel) this.shopping.correctCarousel(error.carousel);
    this.emit("error", error);
  }
}

/** Who said its microphone or camera is off, as of a joined/snapshot (PROTOCOL.md). */
function statesOf(message) {
  return new Map((message.media_states || []).map((m) => [m.participant_id, { audio: m.audio, video: m.video }]));
}
