// The host's controls of a live room (PROTOCOL.md "Host controls"): who is on stage and in the
// audience, raised hands (invite to the stage, send back), mute a microphone or camera, remove,
// ban, slow mode for the chat, hide a chat message, pin the featured product.
//
// Each button sends one request; the page changes only when the room event comes back.

import { byId, h, keepFocus, replaceChildren } from "./dom.js";
import { audienceOf } from "./live_view.js";

const SLOW_MODES = [0, 5, 10, 30, 60];
const AUDIENCE_SHOWN = 50; // a large audience is counted, not listed in full
const CHAT_SHOWN = 20;

export class HostPanel {
  constructor({ room, shopping, live, call, send }) {
    this.room = room;
    this.shopping = shopping;
    this.live = live;
    this.call = call;
    this.send = send;
    this.root = byId("host-panel");
    this.open = window.matchMedia("(min-width: 900px)").matches;
    const render = () => this.render();
    room.on("change", render);
    shopping.on("carousel", render);
    shopping.on("catalog", render);
    shopping.on("chat", render);
    live.on("change", render);
    call.on("media-state", render);
  }

  get visible() {
    return this.room.isHost;
  }

  render() {
    this.root.hidden = !this.visible;
    if (!this.visible) return;
    keepFocus(this.root, () =>
      replaceChildren(
        this.root,
        h(
          "button",
          {
            type: "button",
            class: "secondary host-toggle",
            "aria-expanded": String(this.open),
            "aria-controls": "host-tools",
            onclick: () => {
              this.open = !this.open;
              this.render();
            },
          },
          `Host tools${this.live.hands.size ? ` · ✋ ${this.live.hands.size}` : ""}`,
        ),
        h(
          "div",
          { id: "host-tools", class: "host-tools", hidden: !this.open },
          this._hands(),
          this._people("On stage", this.room.onStage.filter((p) => p.id !== this.room.you.id), "stage"),
          this._people("Audience", this.room.viewers.slice(0, AUDIENCE_SHOWN), "audience"),
          this._slowMode(),
          this._pin(),
          this._chat(),
        ),
      ),
    );
  }

  _section(title, id, ...children) {
    return h("section", { class: "host-section", "aria-labelledby": id }, h("h2", { id }, title), ...children);
  }

  _hands() {
    const hands = [...this.live.hands].map((id) => this.room.get(id)).filter(Boolean);
    return this._section(
      "Raised hands",
      "host-hands-title",
      hands.length
        ? h(
            "ul",
            { class: "host-list", id: "host-hands" },
            hands.map((p) =>
              h(
                "li",
                { dataset: { participant: p.id } },
                h("span", { class: "who" }, `✋ ${p.name}`),
                this._button(p.name, "Invite to stage", {
                  type: "set_role",
                  participant_id: p.id,
                  role: "guest",
                }),
              ),
            ),
          )
        : h("p", { class: "host-empty" }, "No hands up."),
    );
  }

  _people(title, people, kind) {
    const id = `host-${kind}-title`;
    return this._section(
      kind === "audience" ? `${title} (${audienceOf(this.room, this.live)})` : title,
      id,
      people.length
        ? h(
            "ul",
            { class: "host-list", id: `host-${kind}` },
            people.map((p) => this._person(p, kind)),
          )
        : h("p", { class: "host-empty" }, kind === "stage" ? "Nobody else on stage." : "Nobody watching yet."),
    );
  }

  _person(p, kind) {
    const said = this.call.mediaStates.get(p.id) || { audio: true, video: true };
    const moderator = p.role === "host" || p.role === "admin";
    return h(
      "li",
      { dataset: { participant: p.id } },
      h("span", { class: "who" }, p.name, moderator ? " (host)" : ""),
      moderator
        ? null
        : h(
            "span",
            { class: "host-actions" },
            kind === "stage"
              ? [
                  this._button(p.name, said.audio ? "Mute mic" : "Mic off", {
                    type: "mute",
                    participant_id: p.id,
                    kind: "audio",
                  }, !said.audio),
                  this._button(p.name, said.video ? "Stop cam" : "Cam off", {
                    type: "mute",
                    participant_id: p.id,
                    kind: "video",
                  }, !said.video),
                  this._button(p.name, "To audience", {
                    type: "set_role",
                    participant_id: p.id,
                    role: "viewer",
                  }),
                ]
              : this._button(p.name, "Invite", {
                  type: "set_role",
                  participant_id: p.id,
                  role: "guest",
                }),
            this._button(p.name, "Remove", { type: "remove", participant_id: p.id }),
            this._button(p.name, "Ban", { type: "ban", participant_id: p.id }, false, "danger"),
          ),
    );
  }

  /** A button whose accessible name is its text and whom it acts on ("Ban — Gus"). */
  _button(who, text, message, disabled = false, kind = "secondary") {
    return h(
      "button",
      {
        type: "button",
        class: `${kind} small-button`,
        disabled,
        dataset: { action: message.type === "mute" ? `mute-${message.kind}` : message.type },
        onclick: () => this.send(message),
      },
      text,
      h("span", { class: "visually-hidden" }, `— ${who}`),
    );
  }

  _slowMode() {
    return this._section(
      "Chat",
      "host-chat-title",
      h(
        "label",
        { class: "host-slow" },
        "Slow mode ",
        h(
          "select",
          {
            id: "host-slow-mode",
            onchange: (event) => this.send({ type: "slow_mode", seconds: Number(event.target.value) }),
          },
          SLOW_MODES.map((s) =>
            h("option", { value: s, selected: s === this.live.slowMode }, s ? `one message per ${s} s` : "off"),
          ),
        ),
      ),
    );
  }

  _pin() {
    const current = this.shopping.carousel.current;
    return this._section(
      "Featured product",
      "host-pin-title",
      h(
        "ul",
        { class: "host-list host-products", id: "host-products" },
        this.shopping.ordered.map((product) =>
          h(
            "li",
            { dataset: { productId: product.id } },
            h("span", { class: "who" }, product.title),
            h(
              "button",
              {
                type: "button",
                class: product.id === current ? "primary small-button" : "secondary small-button",
                "aria-pressed": String(product.id === current),
                dataset: { action: "pin" },
                onclick: () =>
                  this.send({
                    type: "carousel_move",
                    action: "goto",
                    product_id: product.id,
                    version: this.shopping.carousel.version,
                  }),
              },
              product.id === current ? "Pinned" : "Pin",
              h("span", { class: "visually-hidden" }, `— ${product.title}`),
            ),
          ),
        ),
      ),
    );
  }

  _chat() {
    const messages = this.shopping.chat.filter((m) => !this.live.hiddenChat.has(m.seq)).slice(-CHAT_SHOWN);
    return this._section(
      "Chat messages",
      "host-messages-title",
      messages.length
        ? h(
            "ul",
            { class: "host-list", id: "host-messages" },
            messages.map((m) =>
              h(
                "li",
                { dataset: { seq: m.seq } },
                h("span", { class: "who" }, h("b", {}, m.name), " ", m.text),
                this._button(`${m.name}'s message`, "Hide", { type: "chat_hide", seq: m.seq }),
              ),
            ),
          )
        : h("p", { class: "host-empty" }, "No messages yet."),
    );
  }
}
