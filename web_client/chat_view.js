// Chat (a live log with a composer) and emoji reactions floating over the videos.

import { byId, h, hueOf } from "./dom.js";
import { reactionIcon } from "./icons.js";
const FLOAT_MS = 2600;
const MAX_FLOATING = 24;

export class ChatView {
  constructor({ shopping, room, send, onUnread }) {
    this.shopping = shopping;
    this.room = room;
    this.send = send;
    this.onUnread = onUnread;
    this.log = byId("chat-log");
    this.form = byId("chat-form");
    this.input = byId("chat-input");
    this.layer = byId("reactions-layer");
    this.visible = false;
    this.unread = 0;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (this.send({ type: "chat", text })) this.input.value = "";
    });
    shopping.on("chat", (message) =>
      message && message.text !== undefined ? this._append(message) : this.renderAll(),
    );
    shopping.on("reaction", (reaction) => this.float(reaction));
  }

  /** Whether the chat is on screen (unread counting stops while it is). */
  setVisible(visible) {
    this.visible = visible;
    if (visible) {
      this.unread = 0;
      this.onUnread(0);
      this.log.scrollTop = this.log.scrollHeight;
    }
  }

  renderAll() {
    this.log.replaceChildren(...this.shopping.chat.map((m) => this._line(m)));
    if (!this.shopping.chat.length) this.log.append(this._hint());
    this.log.scrollTop = this.log.scrollHeight;
  }

  _hint() {
    return h("p", { class: "empty hint" }, "Say hi, or ask what the others think.");
  }

  _append(message) {
    this.log.querySelector(".hint")?.remove();
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 60;
    this.log.append(this._line(message));
    while (this.log.children.length > 200) this.log.firstElementChild.remove();
    const mine = this.room.you && message.participant_id === this.room.you.id;
    if (nearBottom || mine) this.log.scrollTop = this.log.scrollHeight;
    if (!this.visible && !mine) {
      this.unread += 1;
      this.onUnread(this.unread);
    }
  }

  _line(message) {
    const mine = this.room.you && message.participant_id === this.room.you.id;
    const time = new Date(message.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return h(
      "div",
      { class: `chat-line${mine ? " mine" : ""}`, dataset: { seq: message.seq } },
      h(
        "span",
        { class: "who", style: `--hue:${hueOf(message.participant_id)}` },
        mine ? "You" : message.name,
      ),
      h("time", { datetime: new Date(message.at * 1000).toISOString() }, time),
      h("p", { class: "text" }, message.text),
    );
  }

  /** Send a reaction about the product you are looking at. */
  react(emoji, productId) {
    const message = { type: "react", emoji };
    if (productId) message.product_id = productId;
    this.send(message);
  }

  /** A reaction floats up over the videos with the sender's name. */
  float(reaction) {
    while (this.layer.children.length >= MAX_FLOATING) this.layer.firstElementChild.remove();
    const mine = this.room.you && reaction.participant_id === this.room.you.id;
    const bubble = h(
      "div",
      { class: "floater", style: `--x:${10 + Math.random() * 75}%` },
      // Drawn when we have a drawing (no emoji font needed); another client's emoji as text.
      h("span", { class: "emoji" }, reactionIcon(reaction.emoji, "reaction-icon big") || reaction.emoji),
      h("span", { class: "by" }, mine ? "You" : this.room.nameOf(reaction.participant_id)),
    );
    this.layer.append(bubble);
    setTimeout(() => bubble.remove(), FLOAT_MS);
  }
}
