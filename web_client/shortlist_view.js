// The ranked shortlist (from the votes) and the shared cart (who added what).

import { imageOf, priceText, tallyText, variantName } from "./catalog_format.js";
import { byId, h, keepFocus } from "./dom.js";
import { icon } from "./icons.js";
import { formatMoney } from "./money.js";

export class ShortlistView {
  constructor({ shopping, room, send, onOpen, onCount }) {
    this.shopping = shopping;
    this.room = room;
    this.send = send;
    this.onOpen = onOpen; // show a product (browse to it)
    this.onCount = onCount; // (shortlistCount, cartCount)
    this.list = byId("shortlist");
    this.cart = byId("cart");
    for (const name of ["votes", "catalog", "change"]) shopping.on(name, () => this.renderShortlist());
    for (const name of ["cart", "catalog"]) shopping.on(name, () => this.renderCart());
    room.on("change", () => this.renderCart());
  }

  renderShortlist() {
    const shopping = this.shopping;
    const entries = shopping.shortlist.filter((e) => shopping.product(e.product_id));
    const items = entries.map((entry) => {
      const product = shopping.product(entry.product_id);
      const variant = product.variants.find((v) => v.id === entry.variant_id) || null;
      const image = imageOf(product);
      return h(
        "li",
        { class: "short-item", dataset: { product: product.id } },
        h(
          "button",
          {
            type: "button",
            class: "row-button",
            dataset: { key: `short-${product.id}` },
            onclick: () => this.onOpen(product.id),
          },
          h("span", { class: "rank", "aria-label": `Rank ${entry.rank}` }, `#${entry.rank}`),
          image
            ? h("img", { src: image, alt: "", class: "mini" })
            : h("span", { class: "mini" }, icon("bag")),
          h(
            "span",
            { class: "short-text" },
            h("span", { class: "short-title" }, product.title),
            h(
              "span",
              { class: "short-sub" },
              [variant ? variantName(variant) : null, priceText(product, variant)]
                .filter(Boolean)
                .join(" · "),
            ),
          ),
          h("span", { class: "short-tally" }, tallyText(entry.tally)),
        ),
      );
    });
    keepFocus(this.list, () =>
      this.list.replaceChildren(
        items.length
          ? h("ol", { class: "short-list", "aria-label": "Shortlist, best first" }, items)
          : h("p", { class: "empty" }, "Vote yes on what you like: the favourites rank here."),
      ),
    );
    this._count();
  }

  renderCart() {
    const shopping = this.shopping;
    const you = this.room.you;
    const totals = new Map(); // currency -> minor units
    const items = shopping.cart.map((item) => {
      const product = shopping.product(item.product_id);
      const variant = product && product.variants.find((v) => v.id === item.variant_id);
      const price = variant ? variant.price : product ? product.variants[0].price : null;
      if (price)
        totals.set(price.currency, (totals.get(price.currency) || 0) + price.amount_minor * item.quantity);
      const who = item.added_by === (you && you.id) ? "you" : item.added_by_name || "the shop";
      const key = `${item.product_id}|${item.variant_id || ""}`;
      return h(
        "li",
        { class: "cart-item", dataset: { product: item.product_id } },
        product && imageOf(product)
          ? h("img", { src: imageOf(product), alt: "", class: "mini" })
          : h("span", { class: "mini" }, icon("bag")),
        h(
          "span",
          { class: "short-text" },
          h("span", { class: "short-title" }, product ? product.title : item.product_id),
          h(
            "span",
            { class: "short-sub" },
            [variant ? variantName(variant) : null, item.quantity > 1 ? `× ${item.quantity}` : null]
              .filter(Boolean)
              .join(" · "),
          ),
          // Who added it gets a line of its own: it is what shopping together is about.
          h("span", { class: "added-by" }, `Added by ${who}`),
        ),
        h(
          "span",
          { class: "cart-price" },
          price ? formatMoney({ ...price, amount_minor: price.amount_minor * item.quantity }) : "",
        ),
        you && you.role !== "viewer"
          ? h(
              "button",
              {
                type: "button",
                class: "icon-button",
                dataset: { key: `remove-${key}` },
                "aria-label": `Remove ${product ? product.title : item.product_id}${variant ? ` (${variantName(variant)})` : ""} from the cart`,
                onclick: () => {
                  const message = { type: "cart_remove", product_id: item.product_id };
                  if (item.variant_id) message.variant_id = item.variant_id;
                  this.send(message);
                },
              },
              "×",
            )
          : null,
      );
    });
    const total = [...totals]
      .map(([currency, minor]) => formatMoney({ currency, amount_minor: minor }))
      .join(" + ");
    keepFocus(this.cart, () =>
      this.cart.replaceChildren(
        items.length
          ? h(
              "div",
              {},
              h("ul", { class: "cart-list", "aria-label": "Shared cart" }, items),
              h("p", { class: "cart-total" }, h("span", {}, "Total"), h("strong", {}, total)),
            )
          : h("p", { class: "empty" }, "The shared cart is empty. Add a product from the carousel."),
      ),
    );
    this._count();
  }

  _count() {
    this.onCount(this.shopping.shortlist.length, this.shopping.cart.length);
  }
}
