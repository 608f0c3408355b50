// The session's recap on the page shown after a call: what the group liked, what went into the
// cart and who added it, and how lively it was (GET /api/rooms/{id}/recap, PROTOCOL.md).

import { imageOf, priceText, variantName } from "./catalog_format.js";
import { byId, h } from "./dom.js";
import { icon } from "./icons.js";
import { rateSection } from "./rate_view.js";

const SHOWN = 3; // shortlist entries shown

const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export class RecapView {
  constructor(shopping) {
    this.shopping = shopping;
    this.root = byId("recap");
  }

  hide() {
    this.root.hidden = true;
    this.root.replaceChildren();
  }

  /** Fetch and show the recap of `room`; hidden when the API does not answer (a server key). */
  async show(room) {
    this.hide();
    let recap;
    try {
      const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/recap`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      recap = await response.json();
    } catch {
      // No recap (the API wants the server key): rating what the cart held still works, with
      // the participant's own credential.
      const rate = rateSection(room, this.shopping.cart, this.shopping);
      if (rate) {
        this.root.replaceChildren(rate);
        this.root.hidden = false;
      }
      return;
    }
    const title = (id) => {
      const product = this.shopping.product(id);
      const shown = recap.products_shown.find((p) => p.product_id === id);
      return product ? product.title : shown ? shown.title : id;
    };
    const liked = recap.shortlist.slice(0, SHOWN).map((entry) =>
      h(
        "li",
        {},
        this._mini(entry.product_id),
        h("span", { class: "recap-text" }, h("strong", {}, title(entry.product_id))),
        h(
          "span",
          { class: "recap-votes" },
          icon("thumbUp", "icon small"),
          h("span", {}, `${entry.tally.yes} yes`),
        ),
      ),
    );
    const cart = recap.cart.map((item) => {
      const product = this.shopping.product(item.product_id);
      const variant = product && product.variants.find((v) => v.id === item.variant_id);
      return h(
        "li",
        {},
        this._mini(item.product_id),
        h(
          "span",
          { class: "recap-text" },
          h("strong", {}, title(item.product_id)),
          h(
            "span",
            { class: "added-by" },
            [variant ? variantName(variant) : null, `added by ${item.added_by_name || "the shop"}`]
              .filter(Boolean)
              .join(" · "),
          ),
        ),
        product ? h("span", { class: "cart-price" }, priceText(product, variant || null)) : null,
      );
    });
    const stats = [
      `${count(recap.products_shown.length, "product")} looked at`,
      count(recap.votes_cast, "vote"),
      count(recap.chat_messages, "message"),
      count(recap.reactions.total, "reaction"),
    ].join(" · ");
    this.root.replaceChildren(
      h("h2", { id: "recap-title" }, "Your session"),
      h("p", { class: "recap-stats" }, stats),
      h("h3", {}, "Favourites"),
      liked.length
        ? h("ol", { class: "recap-list" }, liked)
        : h("p", { class: "empty" }, "Nothing was voted up."),
      h("h3", {}, "Shared cart"),
      cart.length ? h("ul", { class: "recap-list" }, cart) : h("p", { class: "empty" }, "The cart stayed empty."),
      rateSection(room, recap.cart, this.shopping),
    );
    this.root.hidden = false;
  }

  _mini(productId) {
    const product = this.shopping.product(productId);
    const src = product && imageOf(product);
    return src ? h("img", { src, alt: "", class: "mini" }) : h("span", { class: "mini" }, icon("bag"));
  }
}
