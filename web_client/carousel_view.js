// The shared carousel: the room's product (or the one you browse on your own), its variants,
// price and availability, votes with live tallies, the remote, vote rounds and "add to cart".

import {
  availability,
  compareAtText,
  imageOf,
  nameList,
  priceText,
  tallyText,
  variantLabels,
  variantName,
} from "./catalog_format.js";
import { byId, h, keepFocus } from "./dom.js";
import { icon } from "./icons.js";
import { offerLine } from "./offer_view.js";
import { rateHere, ratingLine } from "./rating_view.js";

const ROUND_SECONDS = 60;

export class CarouselView {
  /** `send(message)` sends a request; returns false when not connected. */
  constructor({ shopping, room, send, toast }) {
    this.shopping = shopping;
    this.room = room;
    this.send = send;
    this.toast = toast;
    this.root = byId("product");
    this.localId = null; // the product you browse on your own; null = follow the room
    this.variants = new Map(); // product id -> selected variant id
    this._roundTimer = null;
    this._images = new Map(); // `${place}|${src}` -> <img>: re-renders keep loaded images

    shopping.on("carousel", ({ change, by }) => {
      if (change === "move" && by && by !== (room.you && room.you.id) && !this.localId) {
        this._flash();
      }
      if (this.localId === this.shopping.carousel.current) this.localId = null;
      this.render();
    });
    for (const name of ["catalog", "votes", "round", "may", "offer", "ratings", "cart"]) {
      shopping.on(name, () => this.render());
    }
    room.on("change", () => this.render());
  }

  /** The product shown: the one you browse, else the room's. */
  get shown() {
    const local = this.localId && this.shopping.product(this.localId);
    return local || this.shopping.currentProduct;
  }

  get browsing() {
    return Boolean(
      this.localId && this.localId !== this.shopping.carousel.current && this.shopping.product(this.localId),
    );
  }

  /** Show `productId` to yourself only. */
  browse(productId) {
    this.localId = productId === this.shopping.carousel.current ? null : productId;
    this.render();
  }

  backToRoom() {
    this.localId = null;
    this.render();
    this.root.querySelector(".product-title")?.focus();
  }

  /** Step by `delta`: moves the room when you may (and follow it), else browses on your own. */
  step(delta) {
    const ids = this.shopping.carousel.product_ids;
    if (!ids.length) return;
    const you = this.room.you;
    if (!this.browsing && you && this.shopping.may.move) {
      this.send({
        type: "carousel_move",
        action: delta > 0 ? "next" : "prev",
        version: this.shopping.carousel.version,
      });
      return;
    }
    const from = Math.max(0, ids.indexOf(this.shown ? this.shown.id : ids[0]));
    this.browse(ids[(from + delta + ids.length) % ids.length]);
  }

  showEveryone() {
    const product = this.shown;
    if (!product) return;
    this.send({
      type: "carousel_move",
      action: "goto",
      product_id: product.id,
      version: this.shopping.carousel.version,
    });
    this.localId = null;
  }

  vote(value) {
    const product = this.shown;
    const you = this.room.you;
    if (!product || !you) return;
    const mine = this.shopping.myVote(you.id, product.id);
    const variantId = this.variants.get(product.id) || null;
    if (mine && mine.value === value && (mine.variant_id || null) === variantId) {
      this.send({ type: "vote_retract", product_id: product.id });
      return;
    }
    const message = { type: "vote", product_id: product.id, value };
    if (variantId) message.variant_id = variantId;
    this.send(message);
  }

  addToCart() {
    const product = this.shown;
    if (!product) return;
    const variantId =
      this.variants.get(product.id) || (product.variants.length === 1 ? product.variants[0].id : null);
    if (!variantId && product.variants.length > 1) {
      this.toast("Pick a size or colour first.");
      this.root.querySelector(".variants button")?.focus();
      return;
    }
    const message = { type: "cart_add", product_id: product.id, quantity: 1 };
    if (variantId) message.variant_id = variantId;
    if (this.send(message)) this.toast(`${product.title} goes into the shared cart.`);
  }

  render() {
    const shopping = this.shopping;
    const product = this.shown;
    clearInterval(this._roundTimer);
    if (!shopping.available || !product) {
      this.root.replaceChildren(
        h(
          "p",
          { class: "empty" },
          shopping.available ? "No products in this room yet." : "Loading products…",
        ),
      );
      return;
    }
    const you = this.room.you;
    const ids = shopping.carousel.product_ids;
    const position = ids.indexOf(product.id) + 1;
    const canMove = Boolean(you) && shopping.may.move;
    const browsing = this.browsing;
    const moveRoom = canMove && !browsing;
    const variantId = this.variants.get(product.id) || null;
    const variant = product.variants.find((v) => v.id === variantId) || null;
    const image = imageOf(product);
    const stock = availability(product, variant);
    const was = compareAtText(product, variant);

    const hero = h(
      "div",
      { class: "hero" },
      image
        ? this._image("hero", image, product.title)
        : h("div", { class: "no-image", "aria-hidden": "true" }, icon("bag")),
      h(
        "button",
        {
          class: "nav prev",
          type: "button",
          dataset: { key: "prev" },
          "aria-label": moveRoom ? "Previous product, for everyone" : "Previous product, just for you",
          title: moveRoom ? "Previous product (everyone)" : "Previous product (just you)",
          onclick: () => this.step(-1),
        },
        icon("prev"),
      ),
      h(
        "button",
        {
          class: "nav next",
          type: "button",
          dataset: { key: "next" },
          "aria-label": moveRoom ? "Next product, for everyone" : "Next product, just for you",
          title: moveRoom ? "Next product (everyone)" : "Next product (just you)",
          onclick: () => this.step(1),
        },
        icon("next"),
      ),
      h(
        "span",
        { class: "position", "aria-label": `Product ${position} of ${ids.length}` },
        `${position} / ${ids.length}`,
      ),
      browsing
        ? h("span", { class: "badge own" }, "Just you")
        : h("span", { class: "badge live" }, "Room's product"),
    );

    const browseBar = browsing
      ? h(
          "div",
          { class: "browse-bar", role: "status" },
          h("span", {}, "You're browsing on your own."),
          shopping.currentProduct
            ? h("span", { class: "room-now" }, `The room is on ${shopping.currentProduct.title}.`)
            : null,
          h(
            "button",
            { type: "button", class: "link", onclick: () => this.backToRoom() },
            icon("back", "icon small"),
            "Back to the room's product",
          ),
          canMove
            ? h(
                "button",
                { type: "button", class: "link", onclick: () => this.showEveryone() },
                "Show everyone",
              )
            : null,
        )
      : null;

    const tally = shopping.tally(product.id);
    const mine = you ? shopping.myVote(you.id, product.id) : null;
    const closed = shopping.votingClosed(product.id);
    const voteButton = (value, label, iconName) =>
      h(
        "button",
        {
          type: "button",
          class: `vote ${value}`,
          "aria-pressed": mine && mine.value === value ? "true" : "false",
          "aria-label": `Vote ${label}${variant ? ` in ${variantName(variant)}` : ""}: ${tally[value]} so far`,
          disabled: closed || !you,
          dataset: { vote: value, key: `vote-${value}` },
          onclick: () => this.vote(value),
        },
        icon(iconName),
        h("span", { class: "vote-label" }, label),
        h("span", { class: "count", "aria-hidden": "true" }, String(tally[value])),
      );

    const byVariant = tally.by_variant || {};
    const labels = variantLabels(product);
    const variants = h(
      "div",
      {
        class: "variants",
        role: "radiogroup",
        "aria-label": "Variant",
        onkeydown: (event) => this._variantKey(event, product, variantId),
      },
      product.variants.map((v, i) => {
        const vs = availability(product, v);
        const votes = byVariant[v.id] ? byVariant[v.id].yes : 0;
        // One tab stop for the group (the checked chip, else the first); arrows move within.
        const tabStop = variantId ? v.id === variantId : i === 0;
        return h(
          "button",
          {
            type: "button",
            role: "radio",
            "aria-checked": v.id === variantId ? "true" : "false",
            tabindex: tabStop ? "0" : "-1",
            class: `chip ${vs.level}`,
            dataset: { key: `variant-${v.id}` },
            title: `${variantName(v)}: ${priceText(product, v)}, ${vs.text}`,
            onclick: () => {
              this.variants.set(product.id, v.id === variantId ? null : v.id);
              this.render();
            },
          },
          labels.get(v.id),
          votes
            ? h("span", { class: "chip-votes", "aria-label": `${votes} yes` }, ` ${votes}`, icon("thumbUp", "icon tiny"))
            : null,
        );
      }),
    );

    const card = h(
      "article",
      { class: "product-card", "aria-labelledby": "product-title" },
      hero,
      browseBar,
      h(
        "div",
        { class: "product-body" },
        product.brand ? h("p", { class: "brand" }, product.brand) : null,
        h("h2", { class: "product-title", id: "product-title", tabindex: "-1" }, product.title),
        h(
          "p",
          { class: "price-line" },
          h("span", { class: "price" }, priceText(product, variant)),
          was ? h("s", { class: "was", "aria-label": `was ${was}` }, was) : null,
          h("span", { class: `stock ${stock.level}` }, stock.text),
        ),
        ratingLine(product, shopping, you),
        rateHere(product, shopping, you, this.send),
        offerLine(shopping.offer, product, null),
        variants,
        h(
          "div",
          { class: "vote-row" },
          voteButton("yes", "Yes", "thumbUp"),
          voteButton("no", "No", "thumbDown"),
          you && shopping.may.cart
            ? h(
                "button",
                {
                  type: "button",
                  class: "cart-add",
                  dataset: { key: "cart-add" },
                  onclick: () => this.addToCart(),
                },
                icon("bag", "icon small"),
                "Add to cart",
              )
            : null,
        ),
        h("p", { class: "tally", "aria-live": "polite" }, this._voters(product, tally, closed)),
        this._roundLine(product),
        product.description
          ? h("details", { class: "details" }, h("summary", {}, "Details"), h("p", {}, product.description))
          : null,
      ),
    );

    const thumbs = h(
      "ol",
      { class: "thumbs", "aria-label": "All products" },
      shopping.ordered.map((p) => {
        const t = shopping.tally(p.id);
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "thumb",
              dataset: { key: `thumb-${p.id}`, product: p.id },
              "aria-current": p.id === product.id ? "true" : "false",
              // The name says what the picture and its badge show: the product, whether the
              // room is on it, and how many like it.
              "aria-label": [
                p.title,
                p.id === shopping.carousel.current ? " (room's product)" : "",
                t.yes ? `, ${t.yes} yes ${t.yes === 1 ? "vote" : "votes"}` : "",
              ].join(""),
              title: p.title,
              onclick: () => this.browse(p.id),
            },
            imageOf(p) ? this._image(`thumb-${p.id}`, imageOf(p), "") : icon("bag"),
            p.id === shopping.carousel.current
              ? h("span", { class: "live-dot", "aria-hidden": "true" })
              : null,
            t.yes ? h("span", { class: "thumb-votes", "aria-hidden": "true" }, `${t.yes}`) : null,
          ),
        );
      }),
    );

    // The strip keeps its scroll position across renders, and says when more is off to a side.
    const scrolled = this.root.querySelector(".thumbs");
    const left = scrolled ? scrolled.scrollLeft : null;
    const strip = this._strip(thumbs);
    keepFocus(this.root, () => this.root.replaceChildren(card, strip, this._remoteLine()));
    if (left !== null) thumbs.scrollLeft = left;
    this._scrollHints(strip, thumbs);
    if (shopping.round && shopping.round.state === "open") {
      this._roundTimer = setInterval(() => this._tickRound(), 1000);
    }
  }

  // "Ann and Bob say yes · Cleo says no" (who thinks what matters more than the counts).
  _voters(product, tally, closed) {
    const you = this.room.you;
    const names = { yes: [], no: [] };
    for (const vote of this.shopping.votes.values()) {
      if (vote.product_id !== product.id || !(vote.value in names)) continue;
      const mine = you && vote.participant_id === you.id;
      names[vote.value][mine ? "unshift" : "push"](mine ? "you" : this.room.nameOf(vote.participant_id));
    }
    const says = (list, word) => {
      if (!list.length) return null;
      const verb = list.length === 1 && list[0] !== "you" ? "says" : "say";
      const text = nameList(list);
      return `${text.charAt(0).toUpperCase()}${text.slice(1)} ${verb} ${word}`;
    };
    const parts = [says(names.yes, "yes"), says(names.no, "no")].filter(Boolean);
    if (tally.score_count)
      parts.push(
        tallyText({ ...tally, yes: 0, no: 0 })
          .split(" · ")
          .pop(),
      );
    const text = parts.length ? parts.join(" · ") : "No votes yet. What do you think?";
    return closed ? `Voting closed · ${text}` : text;
  }

  // ARIA radio group keys: arrows select the previous/next variant and move the focus with it.
  _variantKey(event, product, variantId) {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const ids = product.variants.map((v) => v.id);
    const from = variantId ? ids.indexOf(variantId) : step > 0 ? -1 : 0;
    const to = ids[(from + step + ids.length) % ids.length];
    this.variants.set(product.id, to);
    this.render();
    this.root.querySelector(`[data-key="${CSS.escape(`variant-${to}`)}"]`)?.focus();
  }

  // The same <img> element for the same picture across renders (no reload, no flicker).
  _image(place, src, alt) {
    const key = `${place}|${src}`;
    let img = this._images.get(key);
    if (!img) {
      img = h("img", { src, alt, decoding: "async" });
      this._images.set(key, img);
    }
    img.alt = alt;
    return img;
  }

  _roundLine(product) {
    const round = this.shopping.round;
    const host = this.shopping.may.lead;
    const now = Date.now() / 1000;
    const open = round && round.state === "open" && now < round.closes_at;
    const parts = [];
    if (open) {
      const covers = !round.product_ids || round.product_ids.includes(product.id);
      parts.push(
        h(
          "span",
          { class: "round-open" },
          covers ? "Vote now: " : "A vote is on for other products: ",
          h("span", { class: "countdown" }, countdown(round.closes_at - now)),
          " left",
        ),
      );
      if (host)
        parts.push(
          h(
            "button",
            { type: "button", class: "link", onclick: () => this.send({ type: "vote_round_close" }) },
            "End vote",
          ),
        );
    } else if (host) {
      parts.push(
        h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: () => this.send({ type: "vote_round_open", duration: ROUND_SECONDS }),
          },
          `Start a ${ROUND_SECONDS} s vote`,
        ),
      );
    }
    return parts.length ? h("p", { class: "round-line" }, parts) : null;
  }

  _tickRound() {
    const round = this.shopping.round;
    const el = this.root.querySelector(".countdown");
    if (!round || !el) return;
    const left = round.closes_at - Date.now() / 1000;
    if (left <= 0) this.render();
    else el.textContent = countdown(left);
  }

  // Who holds the remote, and what you may do with it (the server's `may`): take it, pass it to
  // someone by name, give it back; the host also decides whether everyone steers.
  _remoteLine() {
    const shopping = this.shopping;
    const may = shopping.may;
    const you = this.room.you;
    const { mode, holder } = shopping.carousel;
    const mine = Boolean(you) && holder === you.id;
    const parts = [icon("remote", "icon small")];
    let text;
    if (mode === "everyone") text = "Everyone can steer the carousel.";
    else if (mine) text = "You have the remote: your moves show for everyone.";
    else if (holder) text = `${this.room.nameOf(holder)} has the remote.`;
    else if (may.move) text = "You steer the carousel: your moves show for everyone.";
    else text = "The host steers the carousel. Browse on your own with the arrows.";
    parts.push(h("span", { class: "remote-holder", dataset: { holder: holder || "" } }, text));
    if (mode !== "everyone" && may.hand_remote) {
      // Taking it helps only from someone else, or when you could not steer without it.
      if (!mine && (holder || !may.move)) {
        parts.push(
          h(
            "button",
            { type: "button", class: "link", onclick: () => this.send({ type: "remote_take" }) },
            holder ? "Take it back" : "Take the remote",
          ),
        );
      }
      // Anyone on camera can be passed the remote (viewers only watch).
      const others = this.room.onStage.filter((p) => you && p.id !== you.id && p.id !== holder);
      if (others.length) {
        const select = h(
          "select",
          { class: "pass-to", "aria-label": "Pass the remote to" },
          others.map((p) => h("option", { value: p.id }, p.name)),
        );
        parts.push(
          h(
            "span",
            { class: "pass" },
            select,
            h(
              "button",
              {
                type: "button",
                class: "secondary small-button",
                onclick: () => this.send({ type: "remote_pass", to: select.value }),
              },
              "Pass the remote",
            ),
          ),
        );
      }
      if (mine && !may.lead) {
        parts.push(
          h(
            "button",
            { type: "button", class: "link", onclick: () => this.send({ type: "remote_pass", to: null }) },
            "Give it back",
          ),
        );
      }
    }
    if (may.lead) {
      const everyone = mode === "everyone";
      parts.push(
        h(
          "label",
          { class: "switch" },
          h("input", {
            type: "checkbox",
            checked: everyone,
            onchange: (e) =>
              this.send({ type: "remote_mode", mode: e.target.checked ? "everyone" : "host_led" }),
          }),
          "Let everyone steer",
        ),
      );
    }
    return h("div", { class: "remote-line", role: "group", "aria-label": "The remote" }, parts);
  }

  // The thumbnail strip between two arrows that scroll it; an arrow shows only when there is
  // more to that side (and a fading edge says the same at a glance).
  _strip(thumbs) {
    const arrow = (side, delta) =>
      h(
        "button",
        {
          type: "button",
          class: `strip-arrow ${side}`,
          "aria-label": `More products ${side === "prev" ? "to the left" : "to the right"}`,
          hidden: true,
          onclick: () => thumbs.scrollBy({ left: delta * thumbs.clientWidth * 0.8, behavior: "smooth" }),
        },
        icon(side, "icon small"),
      );
    const strip = h("div", { class: "strip" }, arrow("prev", -1), thumbs, arrow("next", 1));
    const hints = () => this._scrollHints(strip, thumbs);
    thumbs.addEventListener("scroll", hints, { passive: true });
    // The strip's size changes with the layout (and is 0 while the room is still hidden).
    if (this._stripObserver) this._stripObserver.disconnect();
    this._stripObserver = new ResizeObserver(hints);
    this._stripObserver.observe(thumbs);
    return strip;
  }

  _scrollHints(strip, thumbs) {
    const more = (side) => {
      const max = thumbs.scrollWidth - thumbs.clientWidth;
      return side === "prev" ? thumbs.scrollLeft > 2 : thumbs.scrollLeft < max - 2;
    };
    for (const side of ["prev", "next"]) {
      const on = more(side);
      strip.querySelector(`.strip-arrow.${side}`).hidden = !on;
      strip.dataset[side] = on ? "more" : "";
    }
  }

  _flash() {
    this.root.classList.remove("moved");
    void this.root.offsetWidth; // restart the animation
    this.root.classList.add("moved");
  }
}

function countdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
