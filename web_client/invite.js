// Rooms from the user's side: invite links, new room ids, and "I was in this room" for reloads.
//
// A room link is /r/ROOM (or /?room=ROOM); ?token=... carries a join token minted by the HTTP API.

const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ACTIVE_KEY = "coshop.active";
const NAME_KEY = "coshop.name";

/**
 * {room, token, name, malformed} from the page's URL (each null when absent or invalid);
 * `malformed` is true when the URL names a room that no room id can be (a mistyped link).
 */
export function parseLocation(loc = location) {
  const params = new URLSearchParams(loc.search);
  const match = loc.pathname.match(/^\/r\/([^/]+)\/?$/);
  let room = match ? match[1] : params.get("room");
  if (match) {
    try {
      room = decodeURIComponent(room);
    } catch {
      room = "\u0000"; // a broken %-escape: malformed, whatever it meant
    }
  }
  const malformed = Boolean(room) && !ROOM_ID.test(room);
  if (malformed) room = null;
  return {
    room: room || null,
    token: params.get("token") || null,
    name: params.get("name") || null,
    malformed,
  };
}

export const RoomStatus = Object.freeze({
  OPEN: "open",
  MISSING: "missing",
  CLOSED: "closed",
  UNKNOWN: "unknown", // the API would not say (production mode needs its key), or no answer
});

/**
 * Whether `room` exists, from `GET /api/rooms/{id}/status`. With a server secret the API is
 * closed to the page: UNKNOWN, and joining (with a token) decides.
 */
export async function roomStatus(room) {
  try {
    const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/status`);
    if (!response.ok) return RoomStatus.UNKNOWN;
    const body = await response.json();
    if (!body.exists) return RoomStatus.MISSING;
    return body.closed ? RoomStatus.CLOSED : RoomStatus.OPEN;
  } catch {
    return RoomStatus.UNKNOWN;
  }
}

export function isRoomId(text) {
  return ROOM_ID.test(text);
}

/** The link that brings a friend into `room`. */
export function inviteLink(room, loc = location) {
  return `${loc.origin}/r/${encodeURIComponent(room)}`;
}

/** A fresh, readable room id such as "mft-kqza-pwd". */
export function newRoomId() {
  const letters = "abcdefghjkmnpqrstuvwxyz"; // no i, l, o: easy to read aloud
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  const chars = [...bytes].map((b) => letters[b % letters.length]);
  return `${chars.slice(0, 3).join("")}-${chars.slice(3, 7).join("")}-${chars.slice(7).join("")}`;
}

/**
 * Create `room` and mint a host token for `name` through the HTTP API. This works in demo mode
 * (the API is open); with a server secret it is refused, and we join as a guest instead (null).
 */
export async function createHostedRoom(room, name) {
  try {
    const created = await fetch("/api/rooms", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: room }),
    });
    if (!created.ok && created.status !== 409) return null;
    const minted = await fetch(`/api/rooms/${encodeURIComponent(room)}/tokens`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, role: "host" }),
    });
    if (!minted.ok) return null;
    const body = await minted.json();
    return typeof body.token === "string" ? body.token : null;
  } catch {
    return null;
  }
}

/** Remember (per tab) that we are in a room, so a reload rejoins it. */
export function saveActive(target) {
  sessionStorage.setItem(ACTIVE_KEY, JSON.stringify(target));
}

export function loadActive() {
  try {
    const target = JSON.parse(sessionStorage.getItem(ACTIVE_KEY) || "null");
    return target && typeof target.room === "string" && isRoomId(target.room) ? target : null;
  } catch {
    return null;
  }
}

export function clearActive() {
  sessionStorage.removeItem(ACTIVE_KEY);
}

export function savedName() {
  return localStorage.getItem(NAME_KEY) || "";
}

export function saveName(name) {
  localStorage.setItem(NAME_KEY, name);
}
