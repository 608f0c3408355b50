// The landing page: your name, the room (from a link, typed, or new), a camera/mic preview with
// device pickers, and what to do when the camera or microphone cannot be used.

import { byId, h, hueOf, initials } from "./dom.js";
import { Emitter } from "./events.js";
import { isRoomId, newRoomId, savedName } from "./invite.js";
import { MediaProblem } from "./local_media.js";
import { toggleButton } from "./toggle_button.js";

const PROBLEM_TEXT = {
  [MediaProblem.DENIED]:
    "Camera and microphone are blocked for this site. Allow them in your browser's site settings " +
    "(the icon left of the address) and reload, or join as a viewer to watch and chat.",
  [MediaProblem.INSECURE]:
    "This page is not on a secure (https) connection, so the browser offers no camera or " +
    "microphone. You can join as a viewer to watch and chat.",
  bothMissing: "No camera or microphone found. You can join as a viewer to watch and chat.",
  noCamera: "No camera found: you will join with audio only.",
  noMic: "No microphone found: you will join with video only.",
  busy: "Your camera or microphone is in use by another app. Close it, then try again.",
};

/** Events: "join" {room, name, role, isNew}. */
export class LandingView extends Emitter {
  constructor(localMedia) {
    super();
    this.media = localMedia;
    this.root = byId("landing");
    this.form = byId("join-form");
    this.nameInput = byId("name");
    this.roomInput = byId("room-code");
    this.viewerBox = byId("viewer");
    this.joinButton = byId("join");
    this.title = byId("join-title");
    this.subtitle = byId("join-sub");
    this.notice = byId("landing-notice");
    this.problem = byId("media-problem");
    this.preview = byId("preview-video");
    this.avatar = byId("preview-avatar");
    this.micButton = byId("preview-mic");
    this.camButton = byId("preview-cam");
    this.meter = byId("mic-meter");
    this.cameraSelect = byId("camera-select");
    this.micSelect = byId("mic-select");
    this.isNewRoom = false;
    this._meterFrame = null;

    this.nameInput.value = savedName();
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this._submit();
    });
    byId("new-room").addEventListener("click", () => this.setRoom(newRoomId(), { isNew: true }));
    this.roomInput.addEventListener("input", () => {
      this.isNewRoom = false;
      this._titles();
    });
    this.micButton.addEventListener("click", () => this.media.setMic(!this.media.micOn));
    this.camButton.addEventListener("click", () => this.media.setCamera(!this.media.camOn));
    this.cameraSelect.addEventListener("change", () =>
      this.media.useDevice("video", this.cameraSelect.value),
    );
    this.micSelect.addEventListener("change", () => this.media.useDevice("audio", this.micSelect.value));
    this.viewerBox.addEventListener("change", () => this._titles());
    byId("retry-media").addEventListener("click", () => this.media.start());
    this.media.on("change", () => this._renderMedia());
    this.nameInput.addEventListener("input", () => this._renderAvatar());
  }

  show({ room = null, name = null } = {}) {
    if (room) this.setRoom(room, { isNew: false, fromLink: true });
    else if (!this.roomInput.value) this.setRoom(newRoomId(), { isNew: true });
    if (name) this.nameInput.value = name;
    this.root.hidden = false;
    this._renderMedia();
    this._startMeter();
    (this.nameInput.value ? this.joinButton : this.nameInput).focus();
  }

  hide() {
    this.root.hidden = true;
    cancelAnimationFrame(this._meterFrame);
    this._meterFrame = null;
  }

  setRoom(room, { isNew = false, fromLink = false } = {}) {
    this.roomInput.value = room;
    this.isNewRoom = isNew;
    this.fromLink = fromLink;
    this._titles();
  }

  /** A message above the form (why the last call ended, ...); kind "info" or "error". */
  showNotice(text, kind = "info") {
    this.notice.hidden = !text;
    this.notice.textContent = text || "";
    this.notice.className = `notice ${kind}`;
  }

  setBusy(busy) {
    this.joinButton.disabled = busy;
    this.joinButton.setAttribute("aria-busy", busy ? "true" : "false");
  }

  _titles() {
    const room = this.roomInput.value.trim();
    if (this.isNewRoom) {
      this.title.textContent = "Start a shopping room";
      this.subtitle.textContent = "You'll get a link to invite up to nine friends.";
    } else {
      this.title.textContent = room ? `Join room ${room}` : "Join a room";
      this.subtitle.textContent = this.fromLink
        ? "You were invited to shop together. Check your camera and say hi."
        : "Enter the room code from your invite link.";
    }
    const viewer = this.viewerBox.checked;
    this.joinButton.textContent = viewer ? "Join as viewer" : this.isNewRoom ? "Start room" : "Join room";
  }

  _submit() {
    const name = this.nameInput.value.trim();
    const room = this.roomInput.value.trim();
    if (!name) {
      this._invalid(this.nameInput, "Please enter your name, so friends know who you are.");
      return;
    }
    if (!isRoomId(room)) {
      this._invalid(this.roomInput, "A room code uses letters, digits, - and _ (up to 64).");
      return;
    }
    this.showNotice("");
    const viewer = this.viewerBox.checked || !this.media.canPublish;
    this.emit("join", { room, name, role: viewer ? "viewer" : "guest", isNew: this.isNewRoom });
  }

  _invalid(input, text) {
    input.setAttribute("aria-invalid", "true");
    this.showNotice(text, "error");
    input.focus();
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"), { once: true });
  }

  _renderMedia() {
    const media = this.media;
    const live = media.videoTrack && media.camOn;
    if (live) {
      if (this.preview.srcObject !== media.stream) this.preview.srcObject = media.stream;
      this.preview.play().catch(() => {});
    }
    this.preview.hidden = !live;
    this.avatar.hidden = Boolean(live);
    byId("preview-status").textContent = media.starting
      ? "Starting camera…"
      : live
        ? ""
        : media.camOn
          ? ""
          : "Camera is off";
    this._renderAvatar();
    toggleButton(this.micButton, media.micOn && media.audioTrack, "microphone", "mic", "micOff");
    toggleButton(this.camButton, media.camOn && media.videoTrack, "camera", "cam", "camOff");
    this.micButton.disabled = media.starting || !media.audioTrack;
    this.camButton.disabled = media.starting || (media.problems.video !== null && media.camOn);
    this._renderProblem();
    this._renderDevices();
    this._titles();
  }

  _renderAvatar() {
    const name = this.nameInput.value.trim() || "You";
    this.avatar.firstElementChild.textContent = initials(name);
    this.avatar.style.setProperty("--hue", hueOf(name));
  }

  _renderProblem() {
    const { audio, video } = this.media.problems;
    const blocked = audio === MediaProblem.DENIED || audio === MediaProblem.INSECURE;
    const busy = audio === MediaProblem.BUSY || video === MediaProblem.BUSY;
    let text = "";
    if (blocked) text = PROBLEM_TEXT[audio];
    else if (busy) text = PROBLEM_TEXT.busy;
    else if (audio && video) text = PROBLEM_TEXT.bothMissing;
    else if (video) text = PROBLEM_TEXT.noCamera;
    else if (audio) text = PROBLEM_TEXT.noMic;
    this.problem.hidden = !text;
    byId("media-problem-text").textContent = text;
    // Trying again helps when a device was busy or has just been plugged in; not after a denial.
    byId("retry-media").hidden = blocked || !(busy || (audio && video));
    // Without any device you can only watch.
    const viewerOnly = Boolean(audio && video && !busy);
    if (viewerOnly) this.viewerBox.checked = true;
    this.viewerBox.disabled = viewerOnly;
  }

  async _renderDevices() {
    const { audioinput, videoinput } = await this.media.devices();
    fillSelect(this.cameraSelect, videoinput, this.media.currentDevice("video"), "Camera");
    fillSelect(this.micSelect, audioinput, this.media.currentDevice("audio"), "Microphone");
  }

  _startMeter() {
    const bar = this.meter.firstElementChild;
    const tick = () => {
      const level = this.media.level();
      bar.style.transform = `scaleX(${Math.min(1, level * 3).toFixed(3)})`;
      this._meterFrame = requestAnimationFrame(tick);
    };
    if (!this._meterFrame) this._meterFrame = requestAnimationFrame(tick);
  }
}

function fillSelect(select, devices, selected, fallback) {
  const options = devices.map((d, i) =>
    h("option", { value: d.deviceId, selected: d.deviceId === selected }, d.label || `${fallback} ${i + 1}`),
  );
  if (!options.length) options.push(h("option", { value: "" }, `No ${fallback.toLowerCase()} found`));
  select.replaceChildren(...options);
  select.disabled = devices.length < 1;
}
