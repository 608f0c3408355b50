// Ratings on the page (PROTOCOL.md, "Ratings"): the product's own rating from its catalog,
// "friends rated" (the mean of the others' stars in this room) and "you rated"; and a row of
// five star buttons to give one.

import { h } from "./dom.js";

/** "4.5" (one decimal) */
export function starsText(value) {
  return (Math.round(value * 10) / 10).toFixed(1);
}

/** The mean stars of some ratings, or null. */
export function meanStars(ratings) {
  if (!ratings.length) return null;
  return ratings.reduce((sum, r) => sum + r.stars, 0) / ratings.length;
}

/** The product card's rating line, or null when there is nothing to say. */
export function ratingLine(product, shopping, you) {
  const parts = [];
  const own = product.rating;
  if (own) {
    const reviews = own.count ? ` · ${own.count} ${own.count === 1 ? "review" : "reviews"}` : "";
    parts.push(
      h(
        "span",
        {
          class: "catalog-rating",
          "aria-label": `Rated ${starsText(own.value)} out of 5${reviews ? ` in ${own.count} reviews` : ""}`,
        },
        h("span", { class: "star", "aria-hidden": "true" }, "★"),
        ` ${starsText(own.value)}${reviews}`,
      ),
    );
  }
  const { friends, mine } = shopping.ratingsOf(product.id, you && you.id);
  const mean = meanStars(friends);
  if (mean !== null) {
    const names = friends.map((r) => r.name).join(", ");
    parts.push(
      h(
        "span",
        { class: "friends-rated", title: `Rated by ${names}`, dataset: { stars: starsText(mean) } },
        `Friends rated ${starsText(mean)}`,
      ),
    );
  }
  if (mine) parts.push(h("span", { class: "you-rated" }, `You rated ${mine.stars}`));
  return parts.length ? h("p", { class: "rating-line" }, parts) : null;
}

/** "Rate it" on the card of a product the room's cart holds (`rate`: PROTOCOL.md), or null. */
export function rateHere(product, shopping, you, send) {
  if (!you || !shopping.cart.some((item) => item.product_id === product.id)) return null;
  const { mine } = shopping.ratingsOf(product.id, you.id);
  return h(
    "p",
    { class: "rate-here" },
    h("span", {}, "Rate it"),
    starPicker(`Rate ${product.title}`, mine ? mine.stars : null, (stars) =>
      send({ type: "rate", product_id: product.id, stars }),
    ),
  );
}

/** Five star buttons (a radio group) for `label`; `onPick(stars)` when one is chosen. */
export function starPicker(label, current, onPick) {
  return h(
    "span",
    { class: "star-picker", role: "radiogroup", "aria-label": label },
    [1, 2, 3, 4, 5].map((stars) =>
      h(
        "button",
        {
          type: "button",
          role: "radio",
          class: `star-button${current && stars <= current ? " on" : ""}`,
          "aria-checked": current === stars ? "true" : "false",
          "aria-label": `${stars} ${stars === 1 ? "star" : "stars"}`,
          dataset: { stars: String(stars) },
          onclick: () => onPick(stars),
        },
        "★",
      ),
    ),
  );
}
