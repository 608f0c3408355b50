// The live show as a phone shows it: the stage full-bleed, and over it the featured product
// (price, "Add to cart"), the chat, the reactions and the viewer's own cart.
//
// The featured product is the room's carousel `current` (the host pins it: PROTOCOL.md "The
// featured product of a live room"). A viewer may browse the others alone; the card then says so
// and one tap snaps back to the featured one.

import { availability, compareAtText, priceText, variantName } from "./catalog_format.js";
import { byId, h, replaceChildren } from "./dom.js";
import { Emitter } from "./events.js";
import { REACTIONS, reactionIcon } from "./icons.js";

const CHAT_SHOWN = 8; // the latest messages over the video; older ones scroll away
const FLOATING_MAX = 12; // reactions in the air at once (a burst of counts is capped)
const FLOAT_MS = 2400;

/** Events: "react" emoji, "chat" text, "hand" raised, "add" {product_id, variant_id}, "remove" item, "leave". */
export class LiveView extends Emitter {
  constructor({ shopping, room, live }) {
    super();
    this.shopping = shopping;
    this.room = room;
    this.live = live;
    this.browsing = null; // product id the viewer looks at instead of the featured one
    this._videos = new Map(); // participant id -> <video>
    this._variant = new Map(); // product id -> chosen variant id
    this._floating = 0;
    byId("live-leave").addEventListener("click", () => this.emit("leave"));
    byId("live-chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = byId("live-chat-input");
      const text = input.value.trim();
      if (text) this.emit("chat", text);
      input.value = "";
    });
    byId("live-hand").addEventListener("click", () => this.emit("hand", !this.live.handRaised));
    byId("live-cart-button").addEventListener("click", () => this.toggleCart());
    byId("live-cart-close").addEventListener("click", () => this.toggleCart(false));
    replaceChildren(
      byId("live-reaction-bar"),
      REACTIONS.slice(0, 4).map(({ emoji, name }) =>
        h(
          "button",
          { type: "button", class: "live-react", "aria-label": `React ${name}`, onclick: () => this.emit("react", emoji) },
          reactionIcon(emoji),
        ),
      ),
    );
    shopping.on("carousel", ({ change }) => {
      // The host pinned another product: a viewer who was browsing is brought back to it.
      if (change === "move" || change === "reset") this.browsing = null;
      this.renderProduct();
    });
    shopping.on("catalog", () => this.renderProduct());
    shopping.on("chat", () => this.renderChat());
    shopping.on("reaction", (r) => this.float(r.emoji, 1));
    shopping.on("cart", () => this.renderCart());
    live.on("hidden", () => this.renderChat());
    live.on("counts", (counts) => {
      for (const [emoji, n] of Object.entries(counts.reactions || {})) this.float(emoji, n);
    });
    live.on("own_cart", () => this.renderCart());
    live.on("hands", () => this.renderHand());
    live.on("audience", () => this.renderTop());
    room.on("change", () => {
      this.renderTop();
      this.renderHand();
      this.renderCart();
    });
  }

  // --- stage ------------------------------------------------------------------------------------

  /**
   * Show the stage: `entries` [{participant, stream, self}] in stage order; the host (or the
   * first on stage) full-bleed, the guests as small tiles over it.
   */
  renderStage(entries) {
    const main = entries.find((e) => ["host", "admin"].includes(e.participant.role)) || entries[0] || null;
    const seen = new Set();
    const place = (entry, parent) => {
      const id = entry.participant.id;
      seen.add(id);
      let video = this._videos.get(id);
      if (!video) {
        video = h("video", { autoplay: true, playsinline: true, dataset: { participant: id } });
        this._videos.set(id, video);
      }
      video.muted = entry.self; // never hear yourself
      video.classList.toggle("mirror", entry.self);
      if (video.srcObject !== entry.stream) {
        video.srcObject = entry.stream;
        this._play(video);
      }
      const label = `${entry.participant.name}${entry.self ? " (you)" : ""}`;
      video.setAttribute("aria-label", label);
      if (video.parentElement !== parent) parent.append(video);
    };
    if (main) place(main, byId("live-main-video"));
    for (const entry of entries) if (entry !== main) place(entry, byId("live-guests"));
    for (const [id, video] of this._videos) {
      if (seen.has(id)) continue;
      video.srcObject = null;
      video.remove();
      this._videos.delete(id);
    }
    byId("live-waiting").hidden = Boolean(main && main.stream);
  }

  _play(video) {
    video.play().catch(() => {
      // No user gesture yet (a token link opened directly): play muted rather than not at all.
      if (!video.muted) {
        video.muted = true;
        video.play().catch(() => {});
        this.emit("sound-blocked", video);
      }
    });
  }

  /** Unmute the stage after a tap (browsers play sound only after one). */
  enableSound() {
    for (const video of this._videos.values()) {
      if (video.classList.contains("mirror")) continue;
      video.muted = false;
      video.play().catch(() => {});
    }
  }

  renderTop() {
    const host = this.room.onStage.find((p) => p.role === "host" || p.role === "admin");
    byId("live-host").textContent = host ? host.name : "";
    const n = audienceOf(this.room, this.live);
    replaceChildren(
      byId("live-audience"),
      h("span", { "aria-hidden": "true" }, "👁 "),
      String(n),
      h("span", { class: "visually-hidden" }, " watching"),
    );
  }

  renderHand() {
    const you = this.room.you;
    const viewer = Boolean(you && you.role === "viewer");
    const button = byId("live-hand");
    button.hidden = !viewer;
    button.setAttribute("aria-pressed", String(this.live.handRaised));
    button.setAttribute("aria-label", this.live.handRaised ? "Lower your hand" : "Raise your hand to come on stage");
  }

  // --- the featured product ------------------------------------------------------------------

  /** The product the card shows: the one browsed to, else the featured one. */
  get shown() {
    const id = this.browsing || this.shopping.carousel.current;
    return id ? this.shopping.product(id) : null;
  }

  browse(step) {
    const ids = this.shopping.carousel.product_ids;
    if (!ids.length) return;
    const at = Math.max(0, ids.indexOf(this.shown ? this.shown.id : ids[0]));
    const next = ids[(at + step + ids.length) % ids.length];
    this.browsing = next === this.shopping.carousel.current ? null : next;
    this.renderProduct();
  }

  snapBack() {
    this.browsing = null;
    this.renderProduct();
  }

  renderProduct() {
    const root = byId("live-product");
    const product = this.shown;
    if (!product) {
      replaceChildren(root);
      root.hidden = true;
      return;
    }
    root.hidden = false;
    const featured = !this.browsing;
    const variants = product.variants || [];
    const chosen = variants.find((v) => v.id === this._variant.get(product.id)) || variants[0] || null;
    const stock = availability(product, chosen);
    const was = compareAtText(product, chosen);
    const image = product.images && product.images[0];
    root.dataset.productId = product.id;
    root.dataset.featured = String(featured);
    replaceChildren(
      root,
      h(
        "div",
        { class: "live-product-card" },
        image ? h("img", { class: "live-product-image", src: image, alt: "" }) : null,
        h(
          "div",
          { class: "live-product-text" },
          h("p", { class: "live-product-flag" }, featured ? "Featured now" : "Browsing"),
          h("h2", { class: "live-product-title" }, product.title),
          h(
            "p",
            { class: "live-product-price" },
            h("span", { class: "price" }, priceText(product, chosen)),
            was ? h("s", { class: "was" }, was) : null,
          ),
          variants.length > 1
            ? h(
                "select",
                {
                  class: "live-variant",
                  "aria-label": "Option",
                  onchange: (event) => {
                    this._variant.set(product.id, event.target.value);
                    this.renderProduct();
                  },
                },
                variants.map((v) =>
                  h("option", { value: v.id, selected: chosen && v.id === chosen.id }, variantName(v)),
                ),
              )
            : null,
        ),
        h(
          "button",
          {
            type: "button",
            class: "primary live-add",
            disabled: stock.level === "out",
            onclick: () => this.emit("add", { product_id: product.id, variant_id: chosen ? chosen.id : null }),
          },
          stock.level === "out" ? "Sold out" : "Add to cart",
        ),
      ),
      h(
        "div",
        { class: "live-product-nav" },
        h("button", { type: "button", class: "live-icon-button", "aria-label": "Previous product", onclick: () => this.browse(-1) }, "‹"),
        featured
          ? null
          : h("button", { type: "button", class: "secondary live-back", onclick: () => this.snapBack() }, "Back to live product"),
        h("button", { type: "button", class: "live-icon-button", "aria-label": "Next product", onclick: () => this.browse(1) }, "›"),
      ),
    );
  }

  // --- chat and reactions ----------------------------------------------------------------------

  renderChat() {
    const shown = this.shopping.chat.filter((m) => !this.live.hiddenChat.has(m.seq)).slice(-CHAT_SHOWN);
    replaceChildren(
      byId("live-chat-log"),
      shown.map((m) =>
        h("p", { class: "live-chat-line", dataset: { seq: m.seq } }, h("b", {}, m.name), " ", m.text),
      ),
    );
  }

  /** Float `n` of `emoji` up the right edge (at most FLOATING_MAX in the air). */
  float(emoji, n) {
    const layer = byId("live-reactions");
    for (let i = 0; i < n && this._floating < FLOATING_MAX; i += 1) {
      const art = reactionIcon(emoji) || h("span", {}, emoji);
      const bubble = h("span", { class: "live-float", dataset: { emoji } }, art);
      bubble.style.setProperty("--drift", `${Math.round(Math.random() * 40 - 20)}px`);
      bubble.style.animationDelay = `${i * 90}ms`;
      this._floating += 1;
      layer.append(bubble);
      setTimeout(() => {
        bubble.remove();
        this._floating -= 1;
      }, FLOAT_MS + i * 90);
    }
  }

  // --- the cart ----------------------------------------------------------------------------------

  /** A live room's viewer's own cart; the stage's is the room's shared one. */
  get cart() {
    const you = this.room.you;
    return you && you.role === "viewer" ? this.live.ownCart : this.shopping.cart;
  }

  toggleCart(open = byId("live-cart").hidden) {
    byId("live-cart").hidden = !open;
    byId("live-cart-button").setAttribute("aria-expanded", String(open));
    this.renderCart();
  }

  renderCart() {
    const items = this.cart;
    const units = items.reduce((n, item) => n + item.quantity, 0);
    byId("live-cart-count").textContent = units ? String(units) : "";
    byId("live-cart-button").setAttribute("aria-label", `Your cart: ${units} item${units === 1 ? "" : "s"}`);
    replaceChildren(
      byId("live-cart-items"),
      items.length
        ? items.map((item) => {
            const product = this.shopping.product(item.product_id);
            const variant = product && item.variant_id ? product.variants.find((v) => v.id === item.variant_id) : null;
            return h(
              "li",
              { dataset: { productId: item.product_id } },
              h("span", {}, product ? product.title : item.product_id, variant ? ` · ${variantName(variant)}` : ""),
              h("span", { class: "qty" }, `× ${item.quantity}`),
              h(
                "button",
                { type: "button", class: "secondary small-button", onclick: () => this.emit("remove", item) },
                "Remove",
              ),
            );
          })
        : h("li", { class: "empty" }, "Nothing yet: tap “Add to cart” on a product."),
    );
  }
}

/**
 * Viewers watching now: the stage is sent everyone (it counts them itself); a viewer is sent the
 * count (`room.audience_count`, then `reaction_counts`).
 */
export function audienceOf(room, live) {
  return room.you && room.you.role !== "viewer" ? room.viewers.length : live.audienceCount;
}
