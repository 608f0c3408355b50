// The room's shopping state (PROTOCOL.md, "Shopping"): catalog, carousel, votes, round, cart, chat.
//
// Only server events change it (never optimistically): `reset` takes the `shopping` field of
// joined/snapshot, `apply` takes one event. Browsing on your own is local too, but it is view
// state (see CarouselView), not room state.

import { Emitter } from "./events.js";

export const SHOPPING_EVENTS = new Set([
  "carousel_changed",
  "vote_cast",
  "vote_retracted",
  "vote_round_opened",
  "vote_round_closed",
  "chat_message",
  "reaction",
  "cart_item_added",
  "cart_item_removed",
  // Checkout, group offers and ratings (PROTOCOL.md "Checkout", "Group offers", "Ratings").
  "checkout_link",
  "checkout_started",
  "offer_progress",
  "offer_reached",
  "product_rated",
  "ratings_shared",
]);

const CHAT_KEEP = 200;

/** Nothing allowed until the server says otherwise (`may` of joined/snapshot, then `may`). */
export const MAY_NOTHING = Object.freeze({
  move: false,
  hand_remote: false,
  hold_remote: false,
  lead: false,
  cart: false,
  vote_closed: [],
});

function emptyCarousel() {
  return { product_ids: [], index: 0, current: null, version: 0, mode: "host_led", holder: null };
}

/**
 * Events: "catalog", "carousel" {carousel, change, by}, "votes", "round", "cart", "chat" (new
 * message or reset), "reaction" {participant_id, emoji, product_id}, "may" (your permissions),
 * "offer" (the group offer's progress), "checkout" (a checkout link came: {scope, link}),
 * "ratings" (people's ratings), "change" (anything).
 *
 * What you may do is the server's word (`may`, PROTOCOL.md "Shapes"): the client holds no copy
 * of the rules.
 */
export class ShoppingState extends Emitter {
  constructor() {
    super();
    this.available = false; // false until a joined/snapshot carried `shopping`
    this.may = MAY_NOTHING;
    this.ratings = new Map(); // `${participant}|${product}` -> rating (not in snapshots)
    this.checkoutLinks = { mine: null, cart: null }; // the latest checkout_link of each scope
    this._set({});
  }

  _set(shopping) {
    this.catalog = shopping.catalog || { revision: 0, currency: null, products: [] };
    this.products = new Map(this.catalog.products.map((p) => [p.id, p]));
    this.carousel = this._normalize(shopping.carousel || emptyCarousel());
    this.round = shopping.round || null;
    this.votes = new Map(); // `${participant}|${product}` -> vote
    for (const vote of shopping.votes || []) this.votes.set(voteKey(vote), vote);
    this.tallies = shopping.tallies || {};
    this.shortlist = shopping.shortlist || [];
    this.cart = shopping.cart || [];
    this.chat = (shopping.chat || []).slice(-CHAT_KEEP);
    this.offer = shopping.offer || null; // {offer, backers, reached} or null
    this.checkoutLinks = { mine: null, cart: null };
  }

  /** Forget people's ratings (a new room: the server shares them again on joining). */
  clearRatings() {
    this.ratings = new Map();
    this.emit("ratings", this);
  }

  /** Replace everything with the `shopping` and `may` fields of joined/snapshot. */
  reset(shopping, may = null) {
    this.available = Boolean(shopping);
    this._set(shopping || {});
    this.may = may || MAY_NOTHING;
    for (const name of ["catalog", "carousel", "votes", "round", "cart", "chat", "may", "offer", "checkout", "change"]) {
      this.emit(name, name === "carousel" ? { carousel: this.carousel, change: "reset" } : this);
    }
  }

  /** Apply one shopping event (seq already checked by the caller). */
  apply(message) {
    switch (message.type) {
      case "carousel_changed":
        this._carousel(message.carousel, message.change, message.by);
        break;
      case "vote_cast":
        this.votes.set(voteKey(message.vote), message.vote);
        this._tallies(message);
        break;
      case "vote_retracted":
        this.votes.delete(voteKey(message.vote));
        this._tallies(message);
        break;
      case "vote_round_opened":
      case "vote_round_closed":
        this.round = message.round;
        this.emit("round", { round: this.round, reason: message.reason || null });
        break;
      case "chat_message":
        this.chat.push(message.message);
        if (this.chat.length > CHAT_KEEP) this.chat.splice(0, this.chat.length - CHAT_KEEP);
        this.emit("chat", message.message);
        break;
      case "reaction":
        this.emit("reaction", message);
        break;
      case "cart_item_added": {
        const i = this.cart.findIndex((item) => sameItem(item, message.item));
        if (i >= 0) this.cart[i] = message.item;
        else this.cart.push(message.item);
        this.emit("cart", this);
        break;
      }
      case "cart_item_removed":
        this.cart = this.cart.filter((item) => !sameItem(item, message.item));
        this.emit("cart", this);
        break;
      case "offer_progress":
        this.offer = { offer: message.offer, backers: message.backers, reached: message.reached };
        this.emit("offer", this);
        break;
      case "offer_reached":
        this.emit("offer", this);
        break;
      case "checkout_link": {
        const scope = message.participant_id === null ? "cart" : "mine";
        this.checkoutLinks = { ...this.checkoutLinks, [scope]: message };
        this.emit("checkout", { scope, link: message });
        break;
      }
      case "checkout_started":
        return;
      case "product_rated":
        this.ratings.set(ratingKey(message.rating), message.rating);
        this.emit("ratings", this);
        break;
      case "ratings_shared":
        for (const rating of message.ratings) this.ratings.set(ratingKey(rating), rating);
        this.emit("ratings", this);
        break;
      default:
        return;
    }
    this.emit("change", this);
  }

  /** Your permissions changed (a `may` message). */
  setMay(may) {
    this.may = may || MAY_NOTHING;
    this.emit("may", this);
    this.emit("change", this);
  }

  /** The remote is free again when its holder leaves (no event of its own says so). */
  participantLeft(id) {
    if (this.carousel.holder === id) {
      this._carousel({ ...this.carousel, holder: null }, "remote", null);
    }
  }

  /** The carousel as a `stale_version` error reported it. */
  correctCarousel(carousel) {
    if (carousel && carousel.version >= this.carousel.version) this._carousel(carousel, "move", null);
  }

  // PROTOCOL.md: the carousel's order is the catalog's; take it from there if not sent along.
  _normalize(carousel) {
    if (Array.isArray(carousel.product_ids)) return carousel;
    return { ...carousel, product_ids: this.catalog.products.map((p) => p.id) };
  }

  _carousel(carousel, change, by) {
    carousel = this._normalize(carousel);
    this.carousel = carousel;
    this.emit("carousel", { carousel, change, by });
  }

  _tallies(message) {
    this.tallies = message.tallies;
    this.shortlist = message.shortlist;
    this.emit("votes", { vote: message.vote, type: message.type });
  }

  // --- reading --------------------------------------------------------------------------------

  product(id) {
    return this.products.get(id) || null;
  }

  /** Products in carousel order. */
  get ordered() {
    return this.carousel.product_ids.map((id) => this.products.get(id)).filter(Boolean);
  }

  get currentProduct() {
    return this.carousel.current ? this.product(this.carousel.current) : null;
  }

  myVote(participantId, productId) {
    return this.votes.get(`${participantId}|${productId}`) || null;
  }

  tally(productId) {
    return this.tallies[productId] || { yes: 0, no: 0, score_count: 0, score_total: 0 };
  }

  /** The ratings of `productId` by others than `youId` ("friends rated") and by you. */
  ratingsOf(productId, youId) {
    const friends = [];
    let mine = null;
    for (const rating of this.ratings.values()) {
      if (rating.product_id !== productId) continue;
      if (rating.participant_id === youId) mine = rating;
      else friends.push(rating);
    }
    return { friends, mine };
  }

  /** Whether votes on `productId` are refused now (the server's `may.vote_closed`). */
  votingClosed(productId) {
    return this.may.vote_closed.includes(productId);
  }
}

function ratingKey(rating) {
  return `${rating.participant_id}|${rating.product_id}`;
}

function voteKey(vote) {
  return `${vote.participant_id}|${vote.product_id}`;
}

function sameItem(a, b) {
  return a.product_id === b.product_id && (a.variant_id || null) === (b.variant_id || null);
}
