// The signaling connection: one WebSocket that keeps itself connected (docs/PROTOCOL.md).
//
// It reconnects with backoff after any unexpected close (a network blip, a server restart) and
// notices a dead connection that TCP has not reported yet by pinging: no message at all within
// PING_TIMEOUT of a ping closes the socket and starts over. What to send after (re)connecting is
// the caller's business: it listens for "open".

import { Emitter } from "./events.js";

export const SocketState = Object.freeze({
  IDLE: "idle",
  CONNECTING: "connecting",
  OPEN: "open",
  WAITING: "waiting", // closed unexpectedly; the next attempt is scheduled
  STOPPED: "stopped",
});

const BACKOFF_MS = [250, 1000, 2000, 4000, 8000];
// A silent connection is noticed within PING_INTERVAL_MS + PING_TIMEOUT_MS of its last message.
const PING_INTERVAL_MS = 2_000;
const PING_TIMEOUT_MS = 5_000;
// Keep trying this long after losing the connection, then give up ("gave_up") and say so.
export const GIVE_UP_MS = 180_000;
const CONNECT_TIMEOUT_MS = 8_000;

/** The WebSocket URL of this page's server. */
export function socketUrl(loc = location) {
  const scheme = loc.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${loc.host}/ws`;
}

/**
 * Events: "state" {state, attempt, delay}, "open" {socket}, "message" {message, socket},
 * "close" {code, reason, socket}, "gave_up" (no connection for GIVE_UP_MS: stopped). `socket` is a number that changes with every new WebSocket,
 * so a listener can drop what belongs to an earlier one.
 */
export class SignalingConnection extends Emitter {
  constructor(url = socketUrl()) {
    super();
    this.homeUrl = url; // where every reconnection starts (the load balancer, if any)
    this.url = url; // where the next socket goes: homeUrl, or a node a `redirect` named
    this.state = SocketState.IDLE;
    this.attempt = 0;
    this.socketId = 0;
    this._ws = null;
    this._retryTimer = null;
    this._pingTimer = null;
    this._deadline = null;
    this._connectTimer = null;
    this._nonce = 0;
    this._lostSince = null; // when the connection was last lost (null while open)
    // The browser knows about network changes before TCP does: going offline drops the socket
    // at once (it would die silently), coming back online reconnects without waiting for the
    // backoff.
    this._onOffline = () => {
      if (this.state === SocketState.OPEN || this.state === SocketState.CONNECTING) {
        this._lost(this.socketId, 4000, "browser went offline");
      }
    };
    this._onOnline = () => {
      if (this.state === SocketState.WAITING) this._open();
    };
  }

  /** Connect, and stay connected until stop(). */
  start() {
    if (this.state !== SocketState.IDLE && this.state !== SocketState.STOPPED) return;
    this.attempt = 0;
    this._lostSince = null;
    window.addEventListener("online", this._onOnline);
    window.addEventListener("offline", this._onOffline);
    this._open();
  }

  /** Close for good (no reconnect). */
  stop() {
    window.removeEventListener("online", this._onOnline);
    window.removeEventListener("offline", this._onOffline);
    clearTimeout(this._retryTimer);
    this._detach(1000, "bye");
    this._setState(SocketState.STOPPED);
  }

  /** Drop the current socket and connect again now (e.g. after a media failure). */
  restart() {
    if (this.state === SocketState.STOPPED || this.state === SocketState.IDLE) return;
    clearTimeout(this._retryTimer);
    this._detach(4000, "restart");
    this._open();
  }

  /**
   * The server sent `redirect` (docs/PROTOCOL.md, Several nodes): drop this socket and connect
   * to `url` now. Only that one connection goes there: after any loss we start over at homeUrl,
   * as the node `url` names may be the one that died.
   */
  redirect(url) {
    if (this.state === SocketState.STOPPED || this.state === SocketState.IDLE) return;
    clearTimeout(this._retryTimer);
    this._detach(1000, "redirect");
    this.url = url;
    this._open();
  }

  /** Send one protocol message; false if there is no open socket. */
  send(message) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return false;
    this._ws.send(JSON.stringify(message));
    return true;
  }

  get isOpen() {
    return this.state === SocketState.OPEN;
  }

  _setState(state, extra = {}) {
    this.state = state;
    this.emit("state", { state, attempt: this.attempt, ...extra });
  }

  _open() {
    clearTimeout(this._retryTimer);
    const id = ++this.socketId;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this._scheduleRetry();
      return;
    }
    this._ws = ws;
    this._setState(SocketState.CONNECTING);
    this._connectTimer = setTimeout(() => this._lost(id, 4000, "connect timeout"), CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      if (id !== this.socketId) return;
      clearTimeout(this._connectTimer);
      this.attempt = 0;
      this._lostSince = null;
      this._setState(SocketState.OPEN);
      this._schedulePing();
      this.emit("open", { socket: id });
    };
    ws.onmessage = (event) => {
      if (id !== this.socketId) return;
      this._alive();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // Not ours to fix; the server only sends JSON.
      }
      this.emit("message", { message, socket: id });
    };
    ws.onclose = (event) => this._lost(id, event.code, event.reason);
    ws.onerror = () => {}; // onclose follows and carries what we need.
  }

  // The socket `id` is gone (closed, timed out or silent): tell listeners and retry.
  _lost(id, code, reason) {
    if (id !== this.socketId || this.state === SocketState.STOPPED) return;
    this._detach(4000, reason || "lost");
    this.url = this.homeUrl;
    this.emit("close", { code, reason, socket: id });
    this._scheduleRetry();
  }

  _scheduleRetry() {
    if (this._lostSince === null) this._lostSince = Date.now();
    if (Date.now() - this._lostSince > GIVE_UP_MS) {
      this.stop();
      this.emit("gave_up", {});
      return;
    }
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this._setState(SocketState.WAITING, { delay });
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _detach(code, reason) {
    clearTimeout(this._pingTimer);
    clearTimeout(this._deadline);
    clearTimeout(this._connectTimer);
    const ws = this._ws;
    this._ws = null;
    this.socketId += 1; // whatever the old socket still says is ignored from now on
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        ws.close(code, reason.slice(0, 100));
      }
    } catch {
      // close() throws on an invalid code; there is nothing left to clean up.
    }
  }

  _schedulePing() {
    clearTimeout(this._pingTimer);
    this._pingTimer = setTimeout(() => {
      const id = this.socketId;
      this.send({ type: "ping", nonce: ++this._nonce });
      clearTimeout(this._deadline);
      this._deadline = setTimeout(() => this._lost(id, 4000, "no answer to ping"), PING_TIMEOUT_MS);
    }, PING_INTERVAL_MS);
  }

  // Any message proves the connection is alive.
  _alive() {
    clearTimeout(this._deadline);
    this._schedulePing();
  }
}
