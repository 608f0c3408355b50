// Checkout in the cart view (PROTOCOL.md, "Checkout"): everyone gets a link for the cart lines
// they added, the host one for the whole cart; the group offer's progress shows above them and
// its code is in the links once it is reached. A link is asked for with `checkout` and shown
// when its `checkout_link` comes; a cart or offer change makes shown links stale, so they go.

import { byId, h, keepFocus } from "./dom.js";
import { offerLine } from "./offer_view.js";

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
    const mine = Boolean(you) && shopping.cart.some((item) => item.added_by === you.id);
    const host = shopping.may.lead;
    const rows = [];
    if (you && you.role !== "viewer" && mine) rows.push(this._row("mine", "Checkout link for my items"));
    if (host && shopping.cart.length) rows.push(this._row("cart", "Checkout link for the whole cart"));
    keepFocus(this.root, () =>
      this.root.replaceChildren(
        ...[offer, rows.length ? h("div", { class: "checkout-rows" }, rows) : null].filter(Boolean),
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
