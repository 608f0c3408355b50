// coshop minimal web client: speaks docs/PROTOCOL.md over one WebSocket.
// The server always offers; we answer. Our camera/mic go on the "recvonly" (publish) slots;
// every "sendonly" slot carries one track of another participant (slot.source).

const form = document.getElementById("join-form");
const leaveButton = document.getElementById("leave");
const statusLine = document.getElementById("status");
const videos = document.getElementById("videos");
const localTile = document.getElementById("local-tile");
const localVideo = document.getElementById("local-video");

let ws = null;
let pc = null;
let localStream = null;
let you = null;
let lastSeq = 0;
let slots = new Map(); // mid -> {mid, kind, direction, source}
let inbox = Promise.resolve(); // messages are handled one after another, in arrival order
const participants = new Map(); // id -> participant
const tiles = new Map(); // participant id -> {figure, stream}

function setStatus(text) {
  statusLine.textContent = text;
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

function connect() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(socketUrl());
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error("cannot reach the server"));
    socket.onclose = (event) => {
      setStatus(`Disconnected (${event.code}${event.reason ? ": " + event.reason : ""}).`);
      teardown();
      ws = null;
      setJoined(false);
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      inbox = inbox.then(() => handle(message)).catch((err) => setStatus(`Error: ${err.message}`));
    };
  });
}

// A gap in seq means we missed a room event: ask for a fresh snapshot.
function checkSeq(message) {
  if (typeof message.seq !== "number") return;
  if (lastSeq && message.seq !== lastSeq + 1) send({ type: "resync" });
  lastSeq = Math.max(lastSeq, message.seq);
}

async function handle(message) {
  switch (message.type) {
    case "joined":
    case "snapshot":
      you = message.you;
      lastSeq = message.seq;
      participants.clear();
      for (const p of message.participants) participants.set(p.id, p);
      renderParticipants();
      setStatus(`In room ${message.room.id} as ${you.name} (${participants.size} here).`);
      setJoined(true);
      break;
    case "offer":
      await answer(message);
      break;
    case "participant_joined":
      checkSeq(message);
      participants.set(message.participant.id, message.participant);
      renderParticipants();
      break;
    case "participant_left":
      checkSeq(message);
      participants.delete(message.participant_id);
      renderParticipants();
      break;
    case "track_published":
    case "room_closed":
      checkSeq(message);
      break;
    case "left":
      setStatus(`Left the room (${message.reason}).`);
      teardown();
      setJoined(false);
      break;
    case "error":
      setStatus(`Error ${message.code}: ${message.message}`);
      break;
    default:
      break;
  }
}

function createPeerConnection() {
  // No trickle ICE: the answer goes out once gathering is complete (see waitForIce).
  const connection = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  connection.onconnectionstatechange = () => {
    if (connection.connectionState === "failed") setStatus("Media connection failed.");
  };
  return connection;
}

function waitForIce(connection) {
  if (connection.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (connection.iceGatheringState === "complete") {
        connection.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
    };
    connection.addEventListener("icegatheringstatechange", check);
  });
}

async function answer(offer) {
  if (!pc) pc = createPeerConnection();
  slots = new Map(offer.slots.map((slot) => [slot.mid, slot]));
  await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
  for (const transceiver of pc.getTransceivers()) {
    const slot = slots.get(transceiver.mid);
    if (!slot || slot.direction !== "recvonly" || !localStream) continue;
    // A publish slot: put our microphone/camera on it.
    const track = localStream.getTracks().find((t) => t.kind === slot.kind);
    if (track && transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    if (track) transceiver.direction = "sendonly";
  }
  await pc.setLocalDescription(await pc.createAnswer());
  await waitForIce(pc);
  send({ type: "answer", sdp: pc.localDescription.sdp });
  renderMedia();
}

// Put each received track in its source participant's tile, following offer.slots.
function renderMedia() {
  if (!pc) return;
  const wanted = new Map(); // participant id -> tracks
  for (const transceiver of pc.getTransceivers()) {
    const slot = slots.get(transceiver.mid);
    if (!slot || slot.direction !== "sendonly" || !slot.source) continue;
    if (!wanted.has(slot.source)) wanted.set(slot.source, []);
    wanted.get(slot.source).push(transceiver.receiver.track);
  }
  for (const [id, tile] of tiles) {
    const tracks = wanted.get(id) || [];
    for (const track of tile.stream.getTracks()) {
      if (!tracks.includes(track)) tile.stream.removeTrack(track);
    }
  }
  for (const [id, tracks] of wanted) {
    const tile = tileFor(id);
    for (const track of tracks) {
      if (!tile.stream.getTracks().includes(track)) tile.stream.addTrack(track);
    }
    // Re-assigning srcObject makes browsers pick up tracks added after the first play().
    tile.video.srcObject = tile.stream;
  }
}

function tileFor(id) {
  let tile = tiles.get(id);
  if (!tile) {
    const figure = document.createElement("figure");
    figure.className = "tile";
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    const caption = document.createElement("figcaption");
    figure.append(video, caption);
    videos.append(figure);
    tile = { figure, video, caption, stream: new MediaStream() };
    tiles.set(id, tile);
  }
  const participant = participants.get(id);
  tile.caption.textContent = participant ? participant.name : id;
  return tile;
}

function renderParticipants() {
  for (const [id, tile] of tiles) {
    if (!participants.has(id)) {
      tile.figure.remove();
      tiles.delete(id);
    }
  }
  for (const id of tiles.keys()) tileFor(id);
}

function teardown() {
  if (pc) pc.close();
  pc = null;
  slots = new Map();
  you = null;
  lastSeq = 0;
  participants.clear();
  renderParticipants();
}

function setJoined(joined) {
  form.querySelector("#join").disabled = joined;
  leaveButton.disabled = !joined;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const viewer = data.get("viewer") === "on";
  try {
    if (!viewer && !localStream) {
      localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      localVideo.srcObject = localStream;
      localTile.hidden = false;
    }
    if (!ws) ws = await connect();
    const message = { type: "join", room: data.get("room"), name: data.get("name") };
    if (viewer) message.role = "viewer";
    if (data.get("token")) message.token = data.get("token");
    send(message);
    setStatus("Joining…");
  } catch (err) {
    setStatus(`Cannot join: ${err.message}`);
  }
});

leaveButton.addEventListener("click", () => send({ type: "leave" }));

// ?room=...&name=...&token=... prefill the form (links from the token API).
const params = new URLSearchParams(location.search);
for (const key of ["room", "name", "token"]) {
  if (params.has(key)) form.elements[key].value = params.get(key);
}
