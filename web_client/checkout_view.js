// Checkout in the cart view (PROTOCOL.md, "Checkout"): everyone gets a link for the cart lines
// they added, the host one for the whole cart; the group offer's progress shows above them and
// its code is in the links once it is reached. A link is asked for with `checkout` and shown
// when its `checkout_link` comes; a cart or offer change makes shown links stale, so they go.

import { byId, h, keepFocus } from "./dom.js";
import { formatMoney } from "./money.js";
import { offerLine } from "./offer_view.js";

/**
 * What a reached offer takes off the cart: `percent` % of its product's lines, rounded to the
 * minor unit ({money, units}), or null. The shop applies the code; this is what the page shows.
 */
export function offerSaving(state, cart, product) {
  if (!state || !state.reached || !product || Date.now() / 1000 >= state.offer.expires_at) return null;
  let minor = 0;
  let units = 0;
  for (const item of cart) {
    if (item.product_id !== product.id) continue;
    const variant = product.variants.find((v) => v.id === item.variant_id) || product.variants[0];
    minor += variant.price.amount_minor * item.quantity;
    units += item.quantity;
  }
  if (!units) return null;
  const currency = product.variants[0].price.currency;
  return { money: { currency, amount_minor: Math.round((minor * state.offer.percent) / 100) }, units };
}

export class CheckoutView {
  constructor({ shopping, room, send }) {
    this.shopping = shopping;
    this.room = room;
    this.send = send;
    this.root = byId("checkout");
    this.links = { mine: null, cart: null };
    shopping.on("checkout", ({ scope, link }) => {
      this.links[scope] = link;
      this.render();
    });
    for (const name of ["cart", "offer"]) {
      shopping.on(name, () => {
        this.links = { mine: null, cart: null };
        this.render();
      });
    }
    for (const name of ["catalog", "may"]) shopping.on(name, () => this.render());
    room.on("change", () => this.render());
  }

  render() {
    const shopping = this.shopping;
    const you = this.room.you;
    const title = (id) => (shopping.product(id) || { title: id }).title;
    const offer = offerLine(shopping.offer, null, title);
    const product = shopping.offer && shopping.product(shopping.offer.offer.product_id);
    const saving = offerSaving(shopping.offer, shopping.cart, product);
    const mine = Boolean(you) && shopping.cart.some((item) => item.added_by === you.id);
    const host = shopping.may.lead;
    const rows = [];
    if (you && you.role !== "viewer" && mine) rows.push(this._row("mine", "Checkout link for my items"));
    if (host && shopping.cart.length) rows.push(this._row("cart", "Checkout link for the whole cart"));
    keepFocus(this.root, () =>
      this.root.replaceChildren(
        ...[
          offer,
          saving
            ? h(
                "p",
                { class: "offer-saving" },
                `Saves ${formatMoney(saving.money)} on the cart's ${saving.units} × ${product.title}`,
              )
            : null,
          rows.length ? h("div", { class: "checkout-rows" }, rows) : null,
        ].filter(Boolean),
      ),
    );
  }

  _row(scope, label) {
    const link = this.links[scope];
    return h(
      "div",
      { class: "checkout-row", dataset: { scope } },
      h(
        "button",
        {
          type: "button",
          class: "secondary small-button",
          dataset: { key: `checkout-${scope}` },
          onclick: () => this.send({ type: "checkout", scope }),
        },
        label,
      ),
      link
        ? h(
            "a",
            {
              class: "checkout-link",
              href: link.url,
              target: "_blank",
              rel: "noopener",
              dataset: { scope },
            },
            `Go to checkout (${link.quantity} ${link.quantity === 1 ? "item" : "items"})`,
          )
        : null,
    );
  }
}
