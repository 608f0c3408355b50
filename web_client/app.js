// coshop's browser client: wires the models (local media, room, shopping, the call) to the views.
// Entry point of index.html; see the modules for each concept.

import { Call, EndReason, Phase } from "./call.js";
import { CarouselView } from "./carousel_view.js";
import { ChatView } from "./chat_view.js";
import { CheckoutView } from "./checkout_view.js";
import { byId } from "./dom.js";
import {
  RoomStatus,
  clearActive,
  createHostedRoom,
  loadActive,
  parseLocation,
  roomStatus,
  saveActive,
  saveName,
} from "./invite.js";
import { LandingView } from "./landing_view.js";
import { LocalMedia } from "./local_media.js";
import { MediaMonitor } from "./media_monitor.js";
import { warmUp } from "./money.js";
import { RecapView } from "./recap_view.js";
import { RoomState } from "./room_state.js";
import { RoomView } from "./room_view.js";
import { ShoppingState } from "./shopping_state.js";
import { ShortlistView } from "./shortlist_view.js";
import { VideoGrid } from "./video_grid.js";

const ERROR_TEXT = {
  forbidden: "Only the host, or whoever holds the remote, can do that.",
  bad_chat: "A message is 1 to 500 characters.",
  vote_closed: "Voting on this product is closed.",
  unknown_product: "That product is no longer in this room.",
  stale_version: "Someone else moved the carousel first.",
  not_found: "That person is no longer in the room.",
  no_checkout: "There is nothing to check out here.",
};

const ENDED_TEXT = {
  [EndReason.LEFT]: ["You left the room", "Changed your mind? You can rejoin with the same link."],
  [EndReason.ROOM_CLOSED]: [
    "This room has been closed",
    "The host closed the room. Start a new one to keep shopping.",
  ],
  [EndReason.ROOM_FULL]: [
    "This room is full",
    "It already has as many people as it allows. Try again in a little while.",
  ],
  [EndReason.REMOVED]: ["You were removed from the room", "The host took you out of this room."],
  [EndReason.BANNED]: ["You were banned from the room", "The host barred you from this room."],
  [EndReason.UNAUTHORIZED]: [
    "This invite does not work",
    "The link is invalid or has expired. Ask for a new one.",
  ],
  [EndReason.REPLACED]: [
    "You joined from another tab",
    "This room is open in another tab or window. Rejoin here to move back.",
  ],
  [EndReason.CONNECTION_LOST]: [
    "Connection lost",
    "We kept trying for three minutes but could not reach the server. Check your network and rejoin.",
  ],
  [EndReason.FAILED]: ["Could not join the room", "Something went wrong. Try again."],
};

const BAD_LINK_TEXT = {
  malformed: [
    "This link is malformed",
    "A room link looks like /r/abc-defg-hjk (letters, digits, - and _). Check the link you were sent, or start a new room.",
  ],
  [RoomStatus.MISSING]: [
    "This room doesn't exist",
    "Nobody has started a room with this code. Check the link you were sent, or start a new room.",
  ],
  [RoomStatus.CLOSED]: ["This room has been closed", "The host closed it. Start a new one to keep shopping."],
};

const media = new LocalMedia();
const room = new RoomState();
const shopping = new ShoppingState();
const call = new Call({ localMedia: media, room, shopping });
const monitor = new MediaMonitor(media);
const landing = new LandingView(media);
const view = new RoomView(media);
const grid = new VideoGrid(byId("grid"), byId("waiting-card"));
const recap = new RecapView(shopping);
const send = (message) => {
  const sent = call.send(message);
  if (!sent) view.toast("Not connected right now: try again in a moment.", "error");
  return sent;
};
const carousel = new CarouselView({ shopping, room, send, toast: (t) => view.toast(t) });
const chat = new ChatView({ shopping, room, send, onUnread: (n) => view.setUnread(n) });
new ShortlistView({
  shopping,
  room,
  send,
  onOpen: (id) => carousel.browse(id),
  onCount: (short, cart) => view.setCounts(short, cart),
});

new CheckoutView({ shopping, room, send });

let target = null; // the room we want to be in: {room, name, role, token}
let remoteTracks = new Map();

// --- joining ---------------------------------------------------------------------------------------

async function join({ room: roomId, name, role, isNew, token = null }) {
  saveName(name);
  landing.setBusy(true);
  if (isNew && !token && role !== "viewer") token = await createHostedRoom(roomId, name);
  target = { room: roomId, name, role, token };
  saveActive(target);
  history.replaceState(null, "", `/r/${encodeURIComponent(roomId)}${location.hash}`);
  if (role === "viewer") media.stop();
  call.join(target); // first: the server works on it while this page draws the room
  landing.hide();
  landing.setBusy(false);
  view.show(roomId);
  view.renderControls(role === "viewer");
  monitor.start();
  renderGrid();
}

// A link with ?token=... joins with that token (minted by the HTTP API for a named identity).
const urlToken = parseLocation().token;
let checkedRoom = null; // the link's room, found open while the page loaded
landing.on("join", async (request) => {
  const token = request.isNew ? null : urlToken;
  // Joining never creates a room from the page: only "New room" does (a typo must not). The
  // link's room was checked on load, so its Join click costs no extra round trip.
  if (!request.isNew && !token && request.room !== checkedRoom) {
    landing.setBusy(true);
    const status = await roomStatus(request.room);
    landing.setBusy(false);
    if (status === RoomStatus.MISSING || status === RoomStatus.CLOSED) {
      showBadLink(status);
      return;
    }
  }
  join({ ...request, token });
});
view.on("leave", () => call.leave());
view.on("react", (emoji) => chat.react(emoji, carousel.shown && carousel.shown.id));
view.on("tab", (tab) => chat.setVisible(tab === "chat"));
byId("rejoin").addEventListener("click", () => {
  if (!target) return;
  byId("ended").hidden = true;
  recap.hide();
  restartMedia().then(() => join({ ...target, isNew: false }));
});
byId("start-over").addEventListener("click", () => {
  location.href = "/";
});
byId("bad-link-start").addEventListener("click", () => {
  location.href = "/";
});

/** The page for a link that leads to no room (`why`: "malformed" or a RoomStatus). */
function showBadLink(why) {
  const [title, text] = BAD_LINK_TEXT[why];
  landing.hide();
  media.stop(); // no room to use the camera in
  byId("bad-link-title").textContent = title;
  byId("bad-link-text").textContent = text;
  byId("bad-link").hidden = false;
  document.title = `${title} · coshop`;
  document.body.dataset.phase = "bad-link";
  byId("bad-link-title").focus();
}

async function restartMedia() {
  if (target && target.role !== "viewer" && !media.audioTrack && !media.videoTrack) await media.start();
}

// --- the call --------------------------------------------------------------------------------------

call.on("phase", ({ phase, reason }) => {
  document.body.dataset.phase = phase;
  switch (phase) {
    case Phase.CONNECTING:
    case Phase.JOINING:
      view.setStatus("Joining…");
      break;
    case Phase.JOINED:
      view.setStatus("");
      view.setBanner("");
      monitor.watch(call.session, room.you.id);
      break;
    case Phase.RECONNECTING:
      view.setStatus("Reconnecting…", "warn");
      view.setBanner("Connection lost. Reconnecting…");
      monitor.watch(null, room.you && room.you.id);
      break;
    case Phase.ENDED: {
      monitor.stop();
      grid.clear();
      clearActive();
      media.stop(); // out of the room: the camera light goes off
      const [title, text] = ENDED_TEXT[reason] || ENDED_TEXT[EndReason.FAILED];
      view.setBanner("");
      view.showEnded(title, text, {
        rejoin: reason !== EndReason.ROOM_CLOSED && reason !== EndReason.UNAUTHORIZED,
      });
      // What the session came to, when there was one (not after a failed join).
      if (target && shopping.available && reason !== EndReason.UNAUTHORIZED) recap.show(target.room);
      break;
    }
    default:
      break;
  }
});

call.on("tracks", (tracks) => {
  remoteTracks = tracks;
  renderGrid();
});

call.on("error", (error) => {
  if (error.code === "rate_limited") {
    const wait = Math.ceil(error.retry_after || 1);
    view.toast(`Slow down a little: try again in ${wait} s.`, "error");
  } else {
    view.toast(ERROR_TEXT[error.code] || error.message || "That did not work.", "error");
  }
});

call.on("notice", (text) => view.toast(text));

room.on("change", () => {
  view.setPeople(room.onStage.length, room.viewers.length);
  renderGrid();
});
room.on("joined", (p) => {
  if (call.phase === Phase.JOINED) view.toast(`${p.name} joined${p.role === "viewer" ? " to watch" : ""}.`);
});
room.on("left", ({ participant }) => {
  if (!room.you || participant.id !== room.you.id) view.toast(`${participant.name} left.`);
});

media.on("change", () => renderGrid());

/** What the monitor measured, corrected by what each participant said (media_state). */
function statedStatus(status) {
  const out = new Map(status);
  for (const [id, said] of call.mediaStates) {
    const s = out.get(id);
    if (!s) continue;
    // "none" (no such track at all) stays; a track said to be off is off even while packets
    // still trickle in.
    const stated = (kind) => (said[kind] || s[kind] === "none" ? s[kind] : "off");
    out.set(id, { ...s, audio: stated("audio"), video: stated("video") });
  }
  return out;
}

// The server decides who speaks (active_speaker); until it has said, the local guess stands.
monitor.on("update", ({ status, speaker }) =>
  grid.update(statedStatus(status), call.activeSpeaker === undefined ? speaker : call.activeSpeaker),
);

grid.on("view", ({ hidden, sizes }) => call.setView(hidden, sizes));

grid.on("sound-blocked", () => {
  view.setBanner(
    "Your browser paused the sound.",
    {
      label: "Turn sound on",
      run: () => {
        grid.enableSound();
        view.setBanner("");
      },
    },
    "info",
  );
});

/** Tiles: everyone on stage in join order, then you (unless you only watch). */
function renderGrid() {
  if (!room.you && !target) return;
  const entries = [];
  const you = room.you;
  for (const p of room.onStage) {
    if (you && p.id === you.id) continue;
    const tracks = remoteTracks.get(p.id) || { audio: null, video: null };
    entries.push({ participant: p, self: false, audio: tracks.audio, video: tracks.video });
  }
  const self =
    you || (target && target.role !== "viewer" ? { id: "self", name: target.name, role: "guest" } : null);
  if (self && self.role !== "viewer") {
    entries.push({
      participant: self,
      self: true,
      audio: media.audioTrack,
      video: media.camOn ? media.videoTrack : null,
    });
  }
  grid.render(entries);
}

// --- start -----------------------------------------------------------------------------------------

async function main() {
  // Connect now, while the camera starts and the name is typed: the Join click then costs
  // one message, not a WebSocket handshake (the socket waits, unjoined, until then).
  call.connection.start();
  const fromUrl = parseLocation();
  const active = loadActive();
  // A reload (or a restored tab) goes straight back into the room it was in.
  if (active && (!fromUrl.room || fromUrl.room === active.room)) {
    if (active.role !== "viewer") await media.start();
    join({ ...active, isNew: false });
    return;
  }
  if (fromUrl.malformed) {
    showBadLink("malformed");
    return;
  }
  if (fromUrl.room && !fromUrl.token) {
    const status = await roomStatus(fromUrl.room);
    if (status === RoomStatus.MISSING || status === RoomStatus.CLOSED) {
      showBadLink(status);
      return;
    }
    if (status === RoomStatus.OPEN) checkedRoom = fromUrl.room;
  }
  landing.show(fromUrl);
  await media.start();
  (window.requestIdleCallback || setTimeout)(() => warmUp());
}

main();

// Test and debugging hook: read-only views of the client's state.
window.coshop = { call, room, shopping, media, monitor, grid, carousel };
