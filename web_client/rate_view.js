// After a session: rate what the room's cart held, 1-5 stars each (PROTOCOL.md, "Ratings").
// The socket is gone by then, so the rating goes over HTTP with this tab's resume credential,
// which proves who was in the room. Friends see it in later rooms of the same catalog.

import { resumeCredential } from "./call.js";
import { h } from "./dom.js";
import { starPicker } from "./rating_view.js";

/** The "Rate what you bought" section for `room` whose cart held `cart` (its items), or null
 * (nothing to rate, or no credential). */
export function rateSection(room, cart, shopping) {
  const credential = resumeCredential(room);
  const ids = [...new Set(cart.map((item) => item.product_id))];
  if (!credential || !ids.length) return null;
  const status = h("p", { class: "rate-status", role: "status", "aria-live": "polite" });
  const given = new Map(); // product id -> stars
  const rows = ids.map((id) => {
    const product = shopping.product(id);
    const title = product ? product.title : id;
    const row = h("li", { class: "rate-item", dataset: { product: id } });
    const draw = () =>
      row.replaceChildren(
        h("span", { class: "recap-text" }, h("strong", {}, title)),
        starPicker(`Rate ${title}`, given.get(id) || null, (stars) => rate(id, title, stars)),
      );
    const rate = async (productId, name, stars) => {
      try {
        const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/ratings`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${credential}` },
          body: JSON.stringify({ product_id: productId, stars }),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        given.set(productId, stars);
        draw();
        status.textContent = `You rated ${name} ${stars} of 5. Friends will see it next time.`;
      } catch {
        status.textContent = "Your rating could not be saved. Try again.";
      }
    };
    draw();
    return row;
  });
  return h(
    "section",
    { class: "rate", "aria-labelledby": "rate-title" },
    h("h3", { id: "rate-title" }, "Rate what you bought"),
    h("ul", { class: "recap-list rate-list" }, rows),
    status,
  );
}
