// coshop's live show page (/live/ROOM): phones first. Viewers watch the stage full-bleed, shop the
// featured product into a cart of their own, chat, react and raise a hand; the host (a token
// with role host) publishes and gets the host controls. Entry point of live.html.
//
// `/live/ROOM?host=NAME` in demo mode starts the show: it creates the live room and takes a host
// token from the open HTTP API (production: the brand mints the host's token and opens
// `/live/ROOM?token=...`).

import { Call, EndReason, Phase } from "./call.js";
import { byId } from "./dom.js";
import { HostPanel } from "./host_panel.js";
import { clearActive, loadActive, saveActive, savedName, saveName } from "./invite.js";
import { LiveState } from "./live_state.js";
import { LiveView } from "./live_view.js";
import { LocalMedia } from "./local_media.js";
import { RoomState } from "./room_state.js";
import { ShoppingState } from "./shopping_state.js";

const ERROR_TEXT = {
  forbidden: "Only the host can do that.",
  banned: "The host barred you from this show.",
  audience_full: "The show is full right now. Try again in a little while.",
  room_full: "The stage is full.",
  unknown_product: "That product is no longer in this show.",
  bad_chat: "A message is 1 to 500 characters.",
  not_found: "That person is no longer in the show.",
  stale_version: "The featured product just changed: try again.",
};

const ENDED_TEXT = {
  [EndReason.LEFT]: ["You left the show", "Come back any time while it is live."],
  [EndReason.ROOM_CLOSED]: ["The show has ended", "Thanks for watching."],
  [EndReason.REMOVED]: ["You were removed from the show", "The host took you out of this show."],
  [EndReason.BANNED]: ["You were banned from the show", "The host barred you from this show."],
  [EndReason.CONNECTION_LOST]: ["Connection lost", "Check your network and come back."],
};

const params = new URLSearchParams(location.search);
const match = location.pathname.match(/^\/live\/([A-Za-z0-9_-]{1,64})\/?$/);
const roomId = match ? match[1] : null;

const media = new LocalMedia();
const room = new RoomState();
const shopping = new ShoppingState();
const live = new LiveState();
const call = new Call({ localMedia: media, room, shopping });
const view = new LiveView({ shopping, room, live });
let remoteTracks = new Map();
let target = null;

function toast(text, kind = "info") {
  const toasts = byId("toasts");
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = text;
  toasts.append(el);
  setTimeout(() => el.remove(), 4000);
}

const send = (message) => {
  const sent = call.send(message);
  if (!sent) toast("Not connected right now: try again in a moment.", "error");
  return sent;
};
const panel = new HostPanel({ room, shopping, live, call, send });

// --- the room's state -------------------------------------------------------------------------

room.on("reset", () => {
  live.reset({ room: room.room, you: room.you });
  // On the stage (a host, or a guest back after a reload): publish.
  if (room.you && room.you.role !== "viewer" && !media.audioTrack && !media.videoTrack && !media.starting) {
    media.start();
  }
});
room.on("left", ({ participant }) => live.apply({ type: "participant_left", participant_id: participant.id }));
call.on("message", (message) => live.apply(message));
call.on("tracks", (tracks) => {
  remoteTracks = tracks;
  renderStage();
});
room.on("change", () => {
  renderStage();
  renderMediaButtons();
  panel.render();
});
media.on("change", () => {
  renderStage();
  renderMediaButtons();
});

live.on("muted", ({ kind, you }) => {
  if (!you) return;
  // The SFU no longer forwards it anyway (PROTOCOL.md): turn it off here too, and say so.
  if (kind === "audio") media.setMic(false);
  else media.setCamera(false);
  toast(kind === "audio" ? "The host muted your microphone." : "The host turned off your camera.", "warn");
  document.body.dataset.muted = [document.body.dataset.muted, kind].filter(Boolean).join(" ");
});
live.on("role", async ({ role, you }) => {
  if (!you) return;
  if (role === "guest") {
    toast("You're on stage! Your camera and microphone are on.");
    if (!media.audioTrack && !media.videoTrack) await media.start();
  } else {
    toast("You're back in the audience.");
    media.stop();
  }
});
live.on("slow_mode", (seconds) => toast(seconds ? `Slow mode: one message per ${seconds} s.` : "Slow mode is off."));

// --- what the viewer does --------------------------------------------------------------------

view.on("leave", () => call.leave());
view.on("chat", (text) => send({ type: "chat", text }));
view.on("react", (emoji) => send({ type: "react", emoji, product_id: view.shown ? view.shown.id : undefined }));
view.on("hand", (raised) => send({ type: "raise_hand", raised }));
view.on("add", ({ product_id, variant_id }) => {
  const message = { type: "cart_add", product_id };
  if (variant_id) message.variant_id = variant_id;
  const existing = view.cart.find((i) => i.product_id === product_id && (i.variant_id || null) === (variant_id || null));
  if (existing) message.quantity = Math.min(99, existing.quantity + 1);
  if (send(message)) toast("Added to your cart.");
});
view.on("remove", (item) => {
  const message = { type: "cart_remove", product_id: item.product_id };
  if (item.variant_id) message.variant_id = item.variant_id;
  send(message);
});
view.on("sound-blocked", () => {
  byId("live-sound").hidden = false;
});
byId("live-sound").addEventListener("click", () => {
  view.enableSound();
  byId("live-sound").hidden = true;
});
byId("live-mic").addEventListener("click", () => media.setMic(!media.micOn));
byId("live-cam").addEventListener("click", () => media.setCamera(!media.camOn));

function renderMediaButtons() {
  const onStage = Boolean(room.you && room.you.role !== "viewer");
  for (const [id, on] of [["live-mic", media.micOn], ["live-cam", media.camOn]]) {
    const button = byId(id);
    button.hidden = !onStage;
    button.setAttribute("aria-pressed", String(Boolean(on)));
  }
}

/** The stage: everyone who publishes, with their media; yourself from the camera. */
function renderStage() {
  const entries = [];
  for (const p of room.onStage) {
    const self = room.you && p.id === room.you.id;
    const tracks = self
      ? { audio: null, video: media.camOn ? media.videoTrack : null }
      : remoteTracks.get(p.id) || { audio: null, video: null };
    const list = [tracks.video, tracks.audio].filter(Boolean);
    entries.push({ participant: p, self, stream: list.length ? streamFor(p.id, list) : null });
  }
  view.renderStage(entries);
}

const streams = new Map(); // participant id -> MediaStream (kept while its tracks are the same)
function streamFor(id, tracks) {
  const old = streams.get(id);
  if (old && old.getTracks().length === tracks.length && tracks.every((t) => old.getTracks().includes(t))) return old;
  const stream = new MediaStream(tracks);
  streams.set(id, stream);
  return stream;
}

// --- the call ----------------------------------------------------------------------------------

call.on("phase", ({ phase, reason }) => {
  document.body.dataset.phase = phase;
  if (phase === Phase.JOINED) {
    byId("live-status").textContent = "";
    view.renderProduct();
    view.renderChat();
    view.renderCart();
  } else if (phase === Phase.RECONNECTING) {
    byId("live-status").textContent = "Reconnecting…";
  } else if (phase === Phase.ENDED) {
    clearActive();
    media.stop();
    const [title, text] = ENDED_TEXT[reason] || ["Could not join the show", failureText()];
    byId("live").hidden = true;
    byId("live-ended-title").textContent = title;
    byId("live-ended-text").textContent = text;
    byId("live-ended").hidden = false;
    byId("live-rejoin").hidden = reason === EndReason.BANNED || reason === EndReason.ROOM_CLOSED;
    byId("live-ended-title").focus();
  }
});

function failureText() {
  const code = call.failure && call.failure.code;
  return ERROR_TEXT[code] || "Something went wrong. Try again.";
}

call.on("error", (error) => {
  if (error.code === "slow_mode" || error.code === "rate_limited") {
    toast(`Slow down a little: try again in ${Math.ceil(error.retry_after || 1)} s.`, "error");
  } else {
    toast(ERROR_TEXT[error.code] || error.message || "That did not work.", "error");
  }
});
call.on("notice", (text) => toast(text));

// --- joining -------------------------------------------------------------------------------------

async function hostToken(name) {
  // Demo mode: create the live room (409: it exists) and take a host token (PROTOCOL.md).
  const created = await fetch("/api/rooms", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id: roomId, kind: "live" }),
  });
  if (!created.ok && created.status !== 409) return null;
  const minted = await fetch(`/api/rooms/${encodeURIComponent(roomId)}/tokens`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, role: "host" }),
  });
  if (!minted.ok) return null;
  return (await minted.json()).token || null;
}

/**
 * Whether a join token lets its holder publish (its unverified claims: only to know whether to
 * start the camera before joining; the server decides what the token grants).
 */
function publishesWith(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    return claims.role !== "viewer" && claims.canPublish !== false;
  } catch {
    return true; // not a JWT we can read: let the server say
  }
}

async function join(next) {
  target = next;
  saveActive(target);
  byId("live-join").hidden = true;
  byId("live-ended").hidden = true;
  byId("live").hidden = false;
  byId("live-room-name").textContent = roomId;
  // A token (host or guest) publishes: the camera first, so the first answer carries it.
  if (target.role !== "viewer") await media.start();
  call.join(target);
}

byId("live-join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = byId("live-name").value.trim();
  if (!name) {
    byId("live-name").focus();
    return;
  }
  saveName(name);
  join({ room: roomId, name, role: "viewer", token: null });
});
byId("live-rejoin").addEventListener("click", () => join({ ...target }));

async function main() {
  if (!roomId) {
    byId("live-ended-title").textContent = "This link is malformed";
    byId("live-ended-text").textContent = "A live show link looks like /live/show-name.";
    byId("live-rejoin").hidden = true;
    byId("live-ended").hidden = false;
    return;
  }
  call.connection.start();
  const active = loadActive();
  if (active && active.room === roomId) {
    join(active); // a reload: straight back in (resume keeps who we are, and our role)
    return;
  }
  const token = params.get("token");
  if (token) {
    join({ room: roomId, name: "", role: publishesWith(token) ? "host" : "viewer", token });
    return;
  }
  const hostName = params.get("host");
  if (hostName) {
    const minted = await hostToken(hostName);
    if (minted) {
      history.replaceState(null, "", `/live/${roomId}`);
      join({ room: roomId, name: hostName, role: "host", token: minted });
      return;
    }
  }
  byId("live-name").value = savedName() || "";
  byId("live-join").hidden = false;
  byId("live-name").focus();
}

main();

// Test and debugging hook: read-only views of the page's state.
window.coshop = { call, room, shopping, live, media, view };
