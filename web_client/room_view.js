// The room page's frame: title bar (room, people, connection, invite link), the banner, the call
// controls, the shopping tabs, toasts, and the "call ended" page.

import { byId, h } from "./dom.js";
import { Emitter } from "./events.js";
import { REACTIONS, icon, reactionIcon } from "./icons.js";
import { inviteLink } from "./invite.js";
import { toggleButton } from "./toggle_button.js";

const TOAST_MS = 3500;
const PHONE = "(max-width: 860px)"; // as style.css and video_grid.js

/** Events: "leave", "react" emoji, "sound", "tab" name. */
export class RoomView extends Emitter {
  constructor(localMedia) {
    super();
    this.media = localMedia;
    this.root = byId("room");
    this.roomName = byId("room-name");
    this.people = byId("people-count");
    this.status = byId("conn-status");
    this.banner = byId("banner");
    this.bannerText = byId("banner-text");
    this.bannerAction = byId("banner-action");
    this.micButton = byId("mic-toggle");
    this.camButton = byId("cam-toggle");
    this.toasts = byId("toasts");
    this.roomId = null;
    this._bannerHandler = null;

    const copy = byId("copy-link");
    copy.replaceChildren(icon("link", "icon small"), h("span", { class: "label" }, "Copy invite link"));
    copy.addEventListener("click", () => this.copyInvite());
    byId("waiting-copy").addEventListener("click", () => this.copyInvite());
    byId("leave").replaceChildren(icon("leave"), h("span", { class: "label" }, "Leave"));
    byId("leave").addEventListener("click", () => this.emit("leave"));
    this.micButton.addEventListener("click", () => this.media.setMic(!this.media.micOn));
    this.camButton.addEventListener("click", () => this.media.setCamera(!this.media.camOn));
    this.bannerAction.addEventListener("click", () => this._bannerHandler && this._bannerHandler());
    byId("reaction-bar").replaceChildren(
      ...REACTIONS.map(({ emoji, name }) =>
        h(
          "button",
          {
            type: "button",
            class: "emoji-button",
            "aria-label": `React with ${name}`,
            title: `React: ${name}`,
            onclick: () => this.emit("react", emoji),
          },
          reactionIcon(emoji),
        ),
      ),
    );
    byId("chat-form").querySelector("button").append(icon("send"));
    this._tabs();
    localMedia.on("change", () => this.renderControls());
    document.addEventListener("keydown", (event) => this._shortcut(event));
  }

  show(roomId) {
    this.roomId = roomId;
    this.roomName.textContent = roomId;
    document.title = `${roomId} · coshop`;
    this.root.hidden = false;
    byId("ended").hidden = true;
    this.renderControls();
  }

  hide() {
    this.root.hidden = true;
  }

  /** Publishing controls; a viewer has none. */
  renderControls(viewer = this.viewer) {
    this.viewer = viewer;
    const m = this.media;
    toggleButton(this.micButton, m.micOn && m.audioTrack, "microphone", "mic", "micOff");
    toggleButton(this.camButton, m.camOn && m.videoTrack, "camera", "cam", "camOff");
    this.micButton.disabled = viewer || !m.audioTrack;
    this.camButton.disabled = viewer || (m.problems.video !== null && m.camOn);
    this.micButton.hidden = this.camButton.hidden = Boolean(viewer);
  }

  setPeople(onStage, viewers) {
    const text = `${onStage} ${onStage === 1 ? "person" : "people"}${viewers ? ` · ${viewers} watching` : ""}`;
    this.people.replaceChildren(icon("users", "icon small"), h("span", {}, text));
  }

  /** Connection state in the title bar: "" (all good), or a short word. */
  setStatus(text, kind = "info") {
    this.status.textContent = text;
    this.status.hidden = !text;
    this.status.className = `pill status ${kind}`;
  }

  /** A banner across the page; `action` = {label, run} adds a button. Empty text hides it. */
  setBanner(text, action = null, kind = "warn") {
    this.banner.hidden = !text;
    this.banner.className = `banner ${kind}`;
    this.bannerText.textContent = text || "";
    this.bannerAction.hidden = !action;
    this.bannerAction.textContent = action ? action.label : "";
    this._bannerHandler = action ? action.run : null;
  }

  toast(text, kind = "info") {
    const el = h("div", { class: `toast ${kind}` }, text);
    this.toasts.append(el);
    while (this.toasts.children.length > 3) this.toasts.firstElementChild.remove();
    setTimeout(() => el.remove(), TOAST_MS);
  }

  async copyInvite() {
    const link = inviteLink(this.roomId);
    try {
      await navigator.clipboard.writeText(link);
      this.toast("Invite link copied. Send it to your friends.");
    } catch {
      // No clipboard permission (or an insecure page): show the link to copy by hand.
      this.toast(`Invite link: ${link}`);
    }
  }

  setCounts(shortlist, cart) {
    byId("count-shortlist").textContent = shortlist ? String(shortlist) : "";
    byId("count-cart").textContent = cart ? String(cart) : "";
  }

  setUnread(count) {
    const el = byId("count-chat");
    el.textContent = count ? String(count) : "";
    el.setAttribute("aria-label", count ? `${count} unread` : "");
  }

  /** The page shown when the call ended; `rejoin` false hides the rejoin button. */
  showEnded(title, text, { rejoin = true } = {}) {
    this.hide();
    const page = byId("ended");
    byId("ended-title").textContent = title;
    byId("ended-text").textContent = text;
    byId("rejoin").hidden = !rejoin;
    page.hidden = false;
    byId("ended-title").focus();
  }

  // ARIA tabs: arrow keys move between tabs, the selected one is the only tab stop. On a phone
  // the lists are a sheet over the room: a tab opens it, the selected tab closes it again.
  _tabs() {
    const tabs = [...document.querySelectorAll('.tabs [role="tab"]')];
    const lists = byId("lists");
    const phone = window.matchMedia(PHONE);
    const setOpen = (open) => {
      lists.dataset.open = open ? "true" : "false";
      this.emit("tab", open ? this.tab : null);
    };
    const select = (tab, focus = false) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        byId(t.getAttribute("aria-controls")).hidden = !on;
      }
      if (focus) tab.focus();
      this.tab = tab.id.replace("tab-", "");
      this.emit("tab", this.tab);
    };
    this.selectTab = (name) => {
      select(byId(`tab-${name}`));
      setOpen(true);
    };
    for (const tab of tabs) {
      tab.addEventListener("click", () => {
        const open = lists.dataset.open === "true";
        if (phone.matches && open && tab.getAttribute("aria-selected") === "true") {
          setOpen(false);
          return;
        }
        select(tab);
        setOpen(true);
      });
      tab.addEventListener("keydown", (event) => {
        const i = tabs.indexOf(tab);
        const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
        if (to === undefined) return;
        event.preventDefault();
        select(tabs[(to + tabs.length) % tabs.length], true);
        setOpen(true);
      });
    }
    this.tab = "shortlist";
    const fit = () => setOpen(!phone.matches);
    phone.addEventListener("change", fit);
    fit();
  }

  // Ctrl/Cmd+D toggles the mic, Ctrl/Cmd+E the camera (as in common video apps).
  _shortcut(event) {
    if (this.root.hidden || this.viewer || !(event.ctrlKey || event.metaKey)) return;
    const key = event.key.toLowerCase();
    if (key === "d") {
      event.preventDefault();
      this.micButton.click();
    } else if (key === "e") {
      event.preventDefault();
      this.camButton.click();
    }
  }
}
