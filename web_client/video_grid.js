// The video grid: one tile per participant on stage (yourself first, muted), with name, mute
// indicators, an avatar while the camera is off, and the active-speaker highlight.

import { h, hueOf, initials } from "./dom.js";
import { Emitter } from "./events.js";
import { icon } from "./icons.js";

/** One participant's tile. */
class Tile {
  constructor(participant, { self }) {
    this.id = participant.id;
    this.self = self;
    this.tracks = { audio: null, video: null };
    this.video = h("video", { autoplay: true, playsinline: true, class: self ? "mirror" : "" });
    this.video.muted = self; // never play yourself back
    this.video.playsInline = true;
    this.avatar = h("div", { class: "avatar", "aria-hidden": "true" }, h("span", {}, ""));
    this.micIcon = h("span", { class: "mic-state" });
    this.nameLabel = h("span", { class: "name" });
    this.figure = h(
      "figure",
      { class: "tile", dataset: { participant: participant.id }, tabindex: "-1" },
      this.video,
      this.avatar,
      h("figcaption", {}, this.micIcon, this.nameLabel),
    );
    if (self) this.figure.classList.add("self");
    this.rename(participant.name);
    this.setStatus({ audio: "none", video: "none", level: 0 });
  }

  rename(name) {
    this.name = name;
    this.nameLabel.textContent = this.self ? `${name} (you)` : name;
    this.avatar.firstElementChild.textContent = initials(name);
    this.avatar.style.setProperty("--hue", hueOf(this.id));
    this._label();
  }

  // Attach tracks; a new MediaStream only when they changed (re-assigning restarts playback).
  setTracks(audio, video, onBlocked) {
    if (this.tracks.audio === audio && this.tracks.video === video && this.video.srcObject) return;
    this.tracks = { audio, video };
    const tracks = [audio, video].filter(Boolean);
    this.video.srcObject = tracks.length ? new MediaStream(tracks) : null;
    if (tracks.length) this.play(onBlocked);
  }

  /** Start playback; if the browser refuses sound without a click, play muted and say so. */
  play(onBlocked) {
    const attempt = this.video.play();
    if (!attempt) return;
    attempt.catch((err) => {
      if (err.name !== "NotAllowedError" || this.video.muted) return;
      this.video.muted = true;
      this.video.play().catch(() => {});
      onBlocked();
    });
  }

  unmute() {
    if (this.self) return;
    this.video.muted = false;
    this.video.play().catch(() => {});
  }

  setStatus(status) {
    const before = this.status;
    if (before && before.audio === status.audio && before.video === status.video) return;
    this.status = status;
    const fig = this.figure;
    fig.dataset.audio = status.audio;
    fig.dataset.video = status.video;
    fig.classList.toggle("has-video", status.video === "live");
    const muted = status.audio !== "live";
    if (this._muted !== muted) {
      this._muted = muted;
      this.micIcon.replaceChildren(icon(muted ? "micOff" : "mic", "icon small"));
      this.micIcon.classList.toggle("off", muted);
    }
    this._label();
  }

  setSpeaking(speaking) {
    this.figure.classList.toggle("speaking", speaking);
  }

  _label() {
    const parts = [this.self ? `${this.name} (you)` : this.name];
    if (this.status && this.status.audio !== "live") parts.push("microphone off");
    if (this.status && this.status.video !== "live") parts.push("camera off");
    this.figure.setAttribute("aria-label", parts.join(", "));
  }
}

const TILE_RATIO = 16 / 9;
const NO_MEDIA = Object.freeze({ audio: "none", video: "none", level: 0 });
const GAP_PX = 10;
const PHONE = "(max-width: 860px)";

/**
 * The largest tile width at which `count` tiles of TILE_RATIO fit a `width` x `height` box
 * (trying every column count), so the grid fills the stage without cropping rows away.
 */
export function tileWidth(count, width, height, gap = GAP_PX, ratio = TILE_RATIO) {
  let best = 0;
  for (let cols = 1; cols <= Math.max(1, count); cols += 1) {
    const rows = Math.ceil(count / cols);
    const byWidth = (width - gap * (cols - 1)) / cols;
    const byHeight = ((height - gap * (rows - 1)) / rows) * ratio;
    best = Math.max(best, Math.min(byWidth, byHeight));
  }
  return Math.floor(best);
}

const VIEW_SETTLE_MS = 300; // one "visible" event for a burst of scrolling or resizing

/**
 * Events: "sound-blocked" (the browser wants a click before playing sound), "view" ({hidden: Set
 * of participant ids whose remote tile is off screen: the server pauses their video; sizes:
 * {id: [width, height]} of the others, in CSS pixels: bigger tiles keep more frame rate when the
 * downlink is short}).
 */
export class VideoGrid extends Emitter {
  constructor(container, waitingCard) {
    super();
    this.container = container;
    this.waitingCard = waitingCard;
    this.tiles = new Map();
    this.soundBlocked = false;
    this._phone = window.matchMedia(PHONE);
    new ResizeObserver(() => this._layout()).observe(container);
    // Tiles near the screen count as shown (half a screen of margin), so scrolling back finds
    // the video already resuming; a hidden tab shows nothing.
    this._onScreen = new Set();
    this._viewSent = "";
    this._viewTimer = null;
    this._sizes = new Map(); // remote participant id -> [width, height] of its tile
    this._resize = new ResizeObserver((changes) => {
      for (const change of changes) {
        const box = change.contentRect;
        this._sizes.set(change.target.dataset.participant, [Math.round(box.width), Math.round(box.height)]);
      }
      this._visibilityChanged();
    });
    this._observer = new IntersectionObserver(
      (changes) => {
        for (const change of changes) {
          const id = change.target.dataset.participant;
          if (change.isIntersecting) this._onScreen.add(id);
          else this._onScreen.delete(id);
        }
        this._visibilityChanged();
      },
      { rootMargin: "50%" },
    );
    document.addEventListener("visibilitychange", () => this._visibilityChanged());
    this._phone.addEventListener("change", () => this._layout());
  }

  // Desktop: equal 16:9 tiles, as large as fit. Phones: two columns, the page scrolls (CSS).
  _layout() {
    const count = [...this.container.children].filter((el) => !el.hidden).length;
    if (this._phone.matches || !count) {
      this.container.style.removeProperty("--tile-w");
      return;
    }
    const { clientWidth: width, clientHeight: height } = this.container;
    this.container.style.setProperty("--tile-w", `${tileWidth(count, width, height)}px`);
  }

  /**
   * Show these participants ({participant, self, audio, video}[], in order); tiles of anyone
   * else are removed.
   */
  render(entries) {
    const keep = new Set(entries.map((e) => e.participant.id));
    for (const [id, tile] of this.tiles) {
      if (!keep.has(id)) {
        this._observer.unobserve(tile.figure);
        this._resize.unobserve(tile.figure);
        this._sizes.delete(id);
        this._onScreen.delete(id);
        tile.figure.remove();
        this.tiles.delete(id);
      }
    }
    let previous = null;
    for (const entry of entries) {
      const { participant } = entry;
      let tile = this.tiles.get(participant.id);
      if (!tile) {
        tile = new Tile(participant, { self: entry.self });
        this.tiles.set(participant.id, tile);
        if (!entry.self) {
          this._onScreen.add(participant.id); // shown until the observer says otherwise
          this._observer.observe(tile.figure);
          this._resize.observe(tile.figure);
        }
      } else if (tile.name !== participant.name) {
        tile.rename(participant.name);
      }
      // Keep DOM order = entry order without moving tiles needlessly (moving restarts video).
      const wanted = previous ? previous.nextSibling : this.container.firstChild;
      if (wanted !== tile.figure) this.container.insertBefore(tile.figure, wanted);
      tile.setTracks(entry.audio, entry.video, () => this._blocked());
      if (!entry.self && !this.soundBlocked && tile.video.muted) tile.unmute();
      previous = tile.figure;
    }
    const alone = entries.length <= 1;
    this.waitingCard.hidden = !alone;
    if (alone) this.container.append(this.waitingCard);
    this.container.dataset.count = String(entries.length + (alone ? 1 : 0));
    this._layout();
  }

  /** The remote tiles off screen now (all of them while the tab is hidden). */
  get hidden() {
    const remote = [...this.tiles.values()].filter((t) => !t.figure.classList.contains("self"));
    return new Set(remote.map((t) => t.id).filter((id) => document.hidden || !this._onScreen.has(id)));
  }

  _visibilityChanged() {
    clearTimeout(this._viewTimer);
    this._viewTimer = setTimeout(() => {
      const hidden = this.hidden;
      const sizes = {};
      for (const [id, size] of this._sizes) if (!hidden.has(id)) sizes[id] = size;
      // Sizes to 16 px: a tile growing by a pixel while the window is dragged is no news.
      const coarse = Object.entries(sizes).map(([id, [w, h]]) => `${id}:${w >> 4}x${h >> 4}`);
      const key = `${[...hidden].sort().join(",")}|${coarse.sort().join(",")}`;
      if (key === this._viewSent) return;
      this._viewSent = key;
      this.emit("view", { hidden, sizes });
    }, VIEW_SETTLE_MS);
  }

  /** Mute indicators and the active speaker (from MediaMonitor). */
  update(status, speaker) {
    for (const [id, tile] of this.tiles) {
      // Nobody reported (e.g. while reconnecting, no media session): nothing is flowing.
      tile.setStatus(status.get(id) || NO_MEDIA);
      tile.setSpeaking(id === speaker && this.tiles.size > 1);
    }
  }

  /** After a click: play everyone's sound. */
  enableSound() {
    this.soundBlocked = false;
    for (const tile of this.tiles.values()) tile.unmute();
  }

  _blocked() {
    if (this.soundBlocked) return;
    this.soundBlocked = true;
    this.emit("sound-blocked");
  }

  clear() {
    for (const tile of this.tiles.values()) tile.figure.remove();
    this.tiles.clear();
  }
}
