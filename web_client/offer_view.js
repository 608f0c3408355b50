// The room's group offer on the page (PROTOCOL.md, "Group offers"): its live progress, "3 of 5
// have it · 10 % off · ends in 4:59", and once reached that its code applies at checkout.

import { h } from "./dom.js";

/** "4:59" */
export function countdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// One ticker for every countdown on the page: each second, [data-offer-ends] elements show
// the time left (and the line says it ended once it has).
let ticker = null;
function tick() {
  const now = Date.now() / 1000;
  for (const el of document.querySelectorAll("[data-offer-ends]")) {
    const left = Number(el.dataset.offerEnds) - now;
    el.textContent = left > 0 ? `ends in ${countdown(left)}` : "ended";
  }
}

/**
 * The offer line for `product` (or for the room when `product` is null: the cart view), or null
 * when there is no offer (or it is on another product). `productTitle(id)` names its product.
 */
export function offerLine(state, product, productTitle) {
  if (!state) return null;
  const { offer, backers, reached } = state;
  if (product && offer.product_id !== product.id) return null;
  if (!ticker) ticker = setInterval(tick, 1000);
  const now = Date.now() / 1000;
  const live = now < offer.expires_at;
  const what = product ? "" : `${productTitle(offer.product_id)}: `;
  const progress = `${Math.min(backers, offer.threshold)} of ${offer.threshold} have it`;
  const deal = `${offer.percent} % off`;
  const ends = h(
    "span",
    { class: "offer-ends", dataset: { offerEnds: String(offer.expires_at) } },
    live ? `ends in ${countdown(offer.expires_at - now)}` : "ended",
  );
  const text =
    reached && live
      ? [`Group deal reached: ${what}${deal} with code ${offer.code} at checkout · `, ends]
      : [`Group deal: ${what}${progress} · ${deal} · `, ends];
  return h(
    "p",
    {
      class: `offer-line${reached && live ? " reached" : ""}`,
      role: "status",
      dataset: { backers: String(backers), threshold: String(offer.threshold), reached: String(reached && live) },
    },
    h("progress", {
      max: String(offer.threshold),
      value: String(Math.min(backers, offer.threshold)),
      "aria-label": progress,
    }),
    h("span", { class: "offer-text" }, text),
  );
}
