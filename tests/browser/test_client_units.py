"""The client's pure modules, run in the real browser engine (ES modules imported by the page):
money formatting, product text, grid sizing, seq tracking and the shopping rules it mirrors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def run(page: RoomPage, module: str, body: str) -> Any:
    """Evaluate ``body`` (an async function body) with ``m`` = the imported module."""
    return await page.page.evaluate(
        f"async () => {{ const m = await import('/static/{module}'); {body} }}"
    )


async def test_money(open_page: OpenPage) -> None:
    page = await open_page("/")
    got = await run(page, "money.js", """
        const f = (minor, currency) => m.formatMoney({amount_minor: minor, currency}, "en-US");
        return {
          usd: f(1999, "USD"), jpy: f(1500, "JPY"), kwd: f(12345, "KWD"), eur: f(5, "EUR"),
          big: f(123456789012345, "USD"), zero: f(0, "USD"),
          de: m.formatMoney({amount_minor: 129999, currency: "EUR"}, "de-DE"),
          unknown: m.formatMoney({amount_minor: 250, currency: "XYZ"}, "en-US"),
          invalid: m.formatMoney({amount_minor: 250, currency: "US"}, "en-US"),
          range: m.formatPriceRange([{amount_minor: 3200, currency: "USD"},
                                     {amount_minor: 2400, currency: "USD"}], "en-US"),
          same: m.formatPriceRange([{amount_minor: 2400, currency: "USD"},
                                    {amount_minor: 2400, currency: "USD"}], "en-US"),
          decimal: [m.minorToDecimal(5, 2), m.minorToDecimal(1999, 2), m.minorToDecimal(7, 0),
                    m.minorToDecimal(1, 3)],
        };
    """)
    got = {k: v.replace("\u00a0", " ") if isinstance(v, str) else v for k, v in got.items()}
    assert got["usd"] == "$19.99"
    assert got["jpy"] == "¥1,500"  # no minor unit: 1500 yen, not 15
    assert got["kwd"] == "KWD 12.345"  # three decimals
    assert got["eur"] == "€0.05"
    assert got["big"] == "$1,234,567,890,123.45"  # exact: no float rounding
    assert got["zero"] == "$0.00"
    assert got["de"] == "1.299,99 €"
    assert got["unknown"] == "XYZ 2.50"  # well-formed code Intl does not know: 2 decimals
    assert got["invalid"] == "2.50 US"  # Intl refuses it: still shown, with the code
    assert got["range"] == "$24.00 \u2013 $32.00"  # an en dash between the two
    assert got["same"] == "$24.00"
    assert got["decimal"] == ["0.05", "19.99", "7", "0.001"]


async def test_product_text(open_page: OpenPage) -> None:
    page = await open_page("/")
    got = await run(page, "catalog_format.js", """
        const price = {amount_minor: 4900, currency: "USD"};
        const v = (id, options, availability = "in_stock", inventory = 10) =>
          ({id, title: "", options, price, compare_at_price: null, availability, inventory});
        const hoodie = {variants: [v("s", {color: "Grey", size: "S"}),
                                   v("m", {color: "Grey", size: "M"}, "in_stock", 2),
                                   v("l", {color: "Grey", size: "L"}, "out_of_stock", 0)]};
        const tee = {variants: [v("rs", {color: "Red", size: "S"}),
                                v("nm", {color: "Navy", size: "M"})]};
        const soldOut = {variants: [v("x", {}, "out_of_stock", 0)]};
        const later = {variants: [v("y", {}, "preorder", null)]};
        return {
          hoodie: [...m.variantLabels(hoodie).values()],
          tee: [...m.variantLabels(tee).values()],
          stock: m.availability(hoodie).text,
          low: m.availability(hoodie, hoodie.variants[1]).text,
          out: m.availability(soldOut).text,
          later: m.availability(later).text,
          names: [m.nameList(["you"]), m.nameList(["Ann", "Bob"]),
                  m.nameList(["A", "B", "C", "D", "E"])],
        };
    """)
    assert got["hoodie"] == ["S", "M", "L"]  # only the options that differ
    assert got["tee"] == ["Red / S", "Navy / M"]
    assert got["stock"] == "In stock (1 of 3 sold out)"
    assert got["low"] == "Only 2 left"
    assert got["out"] == "Sold out"
    assert got["later"] == "Pre-order"
    assert got["names"] == ["you", "Ann and Bob", "A, B, C and 2 more"]


async def test_grid_sizing(open_page: OpenPage) -> None:
    page = await open_page("/")
    got = await run(page, "video_grid.js", """
        return [1, 2, 4, 10].map((n) => m.tileWidth(n, 960, 540, 10));
    """)
    # One tile fills a 16:9 box; two sit side by side; four make 2x2 (height-bound); ten, 4x3.
    assert got == [960, 475, 471, 232]


async def test_seq_tracking(open_page: OpenPage) -> None:
    page = await open_page("/")
    got = await run(page, "room_state.js", """
        const room = new m.RoomState();
        const a = {id: "a", name: "A", role: "guest", joined_at: 2};
        const b = {id: "b", name: "B", role: "viewer", joined_at: 3};
        room.reset({seq: 5, room: {id: "r", capacity: 10}, you: a, participants: [b, a]});
        return {
          order: [...room.participants.keys()], stage: room.onStage.map((p) => p.id),
          checks: [room.check(6), room.check(6), room.check(9), room.check(10), room.check(3)],
          seq: room.seq,
        };
    """)
    assert got["order"] == ["a", "b"]  # join order
    assert got["stage"] == ["a"]  # viewers are not on stage
    assert got["checks"] == ["next", "old", "gap", "next", "old"]
    assert got["seq"] == 10


async def test_only_a_live_rooms_viewer_expects_seq_gaps(open_page: OpenPage) -> None:
    """A live room folds events for its audience (PROTOCOL.md): its viewers must not resync
    on every gap; everyone else still does."""
    page = await open_page("/")
    got = await run(page, "room_state.js", """
        const room = new m.RoomState();
        const out = [];
        for (const [kind, role] of [["live", "viewer"], ["live", "host"], ["group", "viewer"]]) {
          const you = {id: "a", name: "A", role, joined_at: 2};
          room.reset({seq: 5, room: {id: "r", capacity: 10, kind}, you, participants: [you]});
          out.push(room.foldsEvents());
        }
        return out;
    """)
    assert got == [True, False, False]


async def test_shopping_permissions_are_the_servers(open_page: OpenPage) -> None:
    """The client keeps no rules: it shows what the server's ``may`` says, and nothing before
    it has said anything (issue 13)."""
    page = await open_page("/")
    got = await run(page, "shopping_state.js", """
        const s = new m.ShoppingState();
        const product = (id) => ({id, title: id, variants: []});
        const shopping = {
          catalog: {revision: 0, currency: "USD", products: [product("p1"), product("p2")]},
          carousel: {index: 0, current: "p1", version: 0, mode: "host_led", holder: "g2"},
          round: null, votes: [], tallies: {}, shortlist: [], cart: [], chat: []};
        const read = () => [s.may.move, s.may.cart, s.votingClosed("p1"), s.votingClosed("p2")];
        const fresh = read();
        s.reset(shopping);  // a snapshot without may (an older server): still nothing
        const without = read();
        s.reset(shopping, {move: true, hand_remote: true, hold_remote: true, lead: false,
                           cart: true, vote_closed: ["p1"]});
        const given = read();
        let told = 0;
        s.on("may", () => { told += 1; });
        // A round event alone changes nothing the page shows: only the server's may does.
        const now = Date.now() / 1000;
        s.apply({type: "vote_round_opened", seq: 3,
                 round: {id: 3, state: "open", opens_at: now, closes_at: now + 60,
                         product_ids: ["p2"]}});
        const afterRound = read();
        s.setMay({move: false, hand_remote: false, hold_remote: true, lead: false, cart: true,
                  vote_closed: ["p1"]});
        s.apply({type: "vote_cast", seq: 5, previous: null, shortlist: [],
                 vote: {participant_id: "g1", product_id: "p2", variant_id: null, value: "yes"},
                 tallies: {p2: {yes: 1, no: 0, score_count: 0, score_total: 0, by_variant: {}}}});
        return {
          order: s.carousel.product_ids, fresh, without, given, afterRound, after: read(), told,
          mine: s.myVote("g1", "p2").value, yes: s.tally("p2").yes,
        };
    """)
    assert got["order"] == ["p1", "p2"]  # the catalog's order when the carousel omits it
    assert got["fresh"] == got["without"] == [False, False, False, False]
    assert got["given"] == got["afterRound"] == [True, True, True, False]
    assert got["after"] == [False, True, True, False] and got["told"] == 1
    assert got["mine"] == "yes" and got["yes"] == 1


async def test_a_redirect_is_followed_once_and_a_loss_starts_over_at_the_first_url(
    open_page: OpenPage,
) -> None:
    """docs/PROTOCOL.md, Several nodes: only the redirected connection goes to the named node;
    when it fails (a dead node) the next attempt goes back to the first URL (the balancer)."""
    page = await open_page("/")
    got = await run(page, "signaling.js", """
        const home = `ws://${location.host}/ws`;
        const conn = new m.SignalingConnection(home);
        const opened = [];
        conn.on("open", () => opened.push(conn.url));
        const opens = (n) => new Promise((resolve) => {
          const timer = setInterval(() => {
            if (opened.length >= n) { clearInterval(timer); resolve(); }
          }, 20);
        });
        conn.start();
        await opens(1);
        // A node that does not answer (port 9 on loopback: refused at once).
        conn.redirect("ws://127.0.0.1:9/ws");
        const redirectedTo = conn.url;
        await opens(2);
        const after = conn.url;
        conn.stop();
        return {opened, redirectedTo, after, home};
    """)
    assert got["redirectedTo"] == "ws://127.0.0.1:9/ws"
    assert got["after"] == got["home"]
    assert got["opened"][0] == got["home"] and got["opened"][-1] == got["home"]


async def test_live_state_follows_the_host_controls(open_page: OpenPage) -> None:
    """live_state.js applies what the server says of a live room: raised hands (lowered by a
    role change or a leave), slow mode, hidden chat, the audience count, the own cart."""
    page = await open_page("/")
    got = await run(page, "live_state.js", """
        const s = new m.LiveState();
        const muted = [];
        s.on("muted", (e) => muted.push([e.kind, e.you]));
        s.reset({room: {raised_hands: ["v1"], slow_mode: 5, audience_count: 3}, you: {id: "v2"}});
        const out = {start: [[...s.hands], s.slowMode, s.audienceCount, s.handRaised]};
        s.apply({type: "hand_raised", participant_id: "v2", raised: true});
        out.raised = s.handRaised;
        s.apply({type: "role_changed", participant_id: "v2", role: "guest"});
        s.apply({type: "participant_left", participant_id: "v1"});
        out.hands = [...s.hands];
        s.apply({type: "slow_mode_changed", seconds: 0});
        s.apply({type: "chat_hidden", message_seq: 42});
        s.apply({type: "reaction_counts", reactions: {}, audience_count: 7});
        s.apply({type: "reaction_counts", reactions: {}, audience_count: null});
        s.apply({type: "participant_muted", participant_id: "v2", kind: "audio"});
        s.apply({type: "participant_muted", participant_id: "x", kind: "video"});
        s.apply({type: "own_cart", items: [{product_id: "p", quantity: 2}]});
        return {...out, slow: s.slowMode, hidden: [...s.hiddenChat], audience: s.audienceCount,
                muted, units: s.ownCartQuantity};
    """)
    assert got["start"] == [["v1"], 5, 3, False]
    assert got["raised"] is True
    assert got["hands"] == []
    assert (got["slow"], got["hidden"], got["audience"]) == (0, [42], 7)
    assert got["muted"] == [["audio", True], ["video", False]]
    assert got["units"] == 2


async def test_ratings_and_offer_state(open_page: OpenPage) -> None:
    """Ratings merge by rater and product (the others' are "friends"); the offer follows its
    progress events; a checkout link is kept per scope (issue 15)."""
    page = await open_page("/")
    got = await run(page, "shopping_state.js", """
        const s = new m.ShoppingState();
        const r = (who, product, stars) =>
          ({product_id: product, participant_id: who, name: who, stars, at: 1});
        s.apply({type: "ratings_shared", seq: 2, ratings: [r("ann", "tee", 4), r("bob", "tee", 5),
                                                            r("bob", "cap", 2)]});
        s.apply({type: "product_rated", seq: 3, rating: r("cleo", "tee", 4)});
        s.apply({type: "product_rated", seq: 4, rating: r("bob", "tee", 3)});  // replaces the 5
        const tee = s.ratingsOf("tee", "ann");
        const offer = {product_id: "tee", threshold: 3, percent: 10, code: "C",
                       expires_at: Date.now() / 1000 + 60, set_by: null};
        s.apply({type: "offer_progress", seq: 5, offer, backers: 2, reached: false});
        const before = {...s.offer};
        s.apply({type: "offer_progress", seq: 6, offer, backers: 3, reached: true});
        s.apply({type: "checkout_link", url: "https://x.example/cart/a:1", participant_id: null,
                 lines: [], quantity: 1});
        const views = await import("/static/rating_view.js");
        return {
          friends: tee.friends.map((x) => [x.participant_id, x.stars]).sort(),
          mine: tee.mine.stars,
          mean: views.starsText(views.meanStars(tee.friends)),
          before: [before.backers, before.reached], after: [s.offer.backers, s.offer.reached],
          cart: s.checkoutLinks.cart.url, mineLink: s.checkoutLinks.mine,
        };
    """)
    assert got["friends"] == [["bob", 3], ["cleo", 4]]
    assert (got["mine"], got["mean"]) == (4, "3.5")
    assert (got["before"], got["after"]) == ([2, False], [3, True])
    assert (got["cart"], got["mineLink"]) == ("https://x.example/cart/a:1", None)
    text = await run(
        page, "offer_view.js", "return [m.countdown(299.2), m.countdown(61), m.countdown(-3)];"
    )
    assert text == ["5:00", "1:01", "0:00"]


async def test_offer_saving(open_page: OpenPage) -> None:
    """What a reached offer takes off its product's cart lines, to the minor unit."""
    page = await open_page("/")
    got = await run(page, "checkout_view.js", """
        const price = (minor, currency) => ({amount_minor: minor, currency});
        const product = (currency, minor) => ({id: "p", title: "P", variants: [
          {id: "a", price: price(minor, currency)}, {id: "b", price: price(minor * 2, currency)}]});
        const later = Date.now() / 1000 + 60;
        const state = (percent, reached = true, expires_at = later) =>
          ({offer: {product_id: "p", threshold: 2, percent, code: "C", expires_at},
            backers: 2, reached});
        const cart = [{product_id: "p", variant_id: "a", quantity: 2},
                      {product_id: "p", variant_id: "b", quantity: 1},
                      {product_id: "q", variant_id: "x", quantity: 5}];
        return {
          usd: m.offerSaving(state(10), cart, product("USD", 2400)),
          jpy: m.offerSaving(state(15), cart.slice(1), product("JPY", 1000)),
          open: m.offerSaving(state(10, false), cart, product("USD", 2400)),
          ended: m.offerSaving(state(10, true, 1), cart, product("USD", 2400)),
          none: m.offerSaving(state(10), cart.slice(2), product("USD", 2400)),
        };
    """)
    assert got["usd"] == {"money": {"currency": "USD", "amount_minor": 960}, "units": 3}
    assert got["jpy"] == {"money": {"currency": "JPY", "amount_minor": 300}, "units": 1}
    assert got["open"] is None and got["ended"] is None and got["none"] is None
