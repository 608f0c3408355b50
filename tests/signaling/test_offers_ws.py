"""Group offers through the real WebSocket: the host sets one, everyone sees its progress as
the cart changes, and once reached the checkout links carry its code."""

from __future__ import annotations

from signaling import Settings
from tests.catalogs import make_catalog
from tests.signaling.test_checkout_ws import AUTH, MakeClient, _load, _member

CATALOG = make_catalog({"tee": ["tee-s", "tee-m", "tee-l"], "cap": ["cap-one"]}).model_copy(
    update={"shopify_shop": "friends.myshopify.com"}
)


async def test_host_sets_an_offer_everyone_sees_it_reached(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="shop", secret="k"))
    await client.post("/api/rooms", json={"id": "g"}, headers=AUTH)
    await _load(client, "g", CATALOG)
    host, host_id = await _member(client, "g", "Hana", "host")
    ann, _ = await _member(client, "g", "Ann", "guest")
    bob, _ = await _member(client, "g", "Bob", "guest")
    try:
        offer = {"type": "offer_set", "product_id": "tee", "threshold": 2, "percent": 20,
                 "code": "DUO20", "duration": 600}
        await ann.send(offer)
        await ann.next_error("forbidden", ref="offer_set")
        await host.send({**offer, "code": "no spaces"})
        await host.next_error("bad_message", ref="offer_set")

        await host.send(offer)
        progress = await bob.until("offer_progress")
        assert (progress.backers, progress.reached, progress.offer.set_by) == (0, False, host_id)

        await ann.send({"type": "cart_add", "product_id": "tee", "variant_id": "tee-s"})
        assert (await bob.until("offer_progress")).backers == 1
        await ann.send({"type": "checkout"})
        link = await ann.until("checkout_link")
        assert link.url == "https://friends.myshopify.com/cart/tee-s:1"  # not reached yet

        await bob.send({"type": "cart_add", "product_id": "tee", "variant_id": "tee-m"})
        progress = await ann.until("offer_progress")
        assert (progress.backers, progress.reached) == (2, True)
        reached = await ann.until("offer_reached")
        assert (reached.backers, reached.offer.code) == (2, "DUO20")

        await ann.send({"type": "checkout"})
        link = await ann.until("checkout_link")
        assert link.url == "https://friends.myshopify.com/cart/tee-s:1?discount=DUO20"
        await host.send({"type": "cart_add", "product_id": "cap"})
        await host.until("cart_item_added")
        await host.send({"type": "checkout"})  # the host's lines hold no tee: no code
        assert (await host.until("checkout_link")).url == (
            "https://friends.myshopify.com/cart/cap-one:1"
        )

        # A late joiner sees the offer's state in its snapshot.
        late, _ = await _member(client, "g", "Lu", "guest")
        await late.send({"type": "resync"})
        snapshot = await late.until("snapshot")
        assert snapshot.shopping.offer is not None
        assert (snapshot.shopping.offer.backers, snapshot.shopping.offer.reached) == (2, True)
        await late.close()
    finally:
        for ws in (host, ann, bob):
            await ws.close()
