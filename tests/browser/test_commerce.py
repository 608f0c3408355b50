"""Checkout links, the group offer and ratings in real browsers (issue 15; PROTOCOL.md
"Checkout", "Group offers", "Ratings"): the product card shows the catalog's rating; each person's
checkout link and the host's for the whole cart are the Shopify cart permalinks, with the offer's
code once other people (a page and an aiortc peer) bring it to its threshold, while every page
follows the offer's progress live; after the session each rates what the cart held, and in a
later room of the same catalog the card says what their friends rated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import expect

from rooms.catalog import Catalog, dump_coshop_json
from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.api import call, create_room
from tests.browser.axe import violations
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SHOP = "friends.myshopify.com"
CATALOG = Catalog.model_validate({
    "id": "commerce-test",
    "currency": "USD",
    "shopify_shop": SHOP,
    "products": [
        {
            "id": "tee", "title": "Harbor Tee", "rating": {"value": 4.6, "count": 212},
            "variants": [
                {"id": f"tee-{size.lower()}", "title": size, "options": {"size": size},
                 "price": {"amount_minor": 2400, "currency": "USD"}}
                for size in ("S", "M", "L")
            ],
        },
        {"id": "cap", "title": "Camp Cap",
         "variants": [{"id": "cap-one", "price": {"amount_minor": 1500, "currency": "USD"}}]},
    ],
})


async def _room(server: CoshopServer, room: str) -> None:
    await create_room(server.url, room)
    await call(server.url, "PUT", f"/api/rooms/{room}/catalog",
               json.loads(dump_coshop_json(CATALOG)))


async def _token(server: CoshopServer, room: str, identity: str, role: str = "guest") -> str:
    body = {"name": identity.title(), "identity": identity, "role": role}
    data = await call(server.url, "POST", f"/api/rooms/{room}/tokens", body)
    token: str = data["token"]
    return token


async def _enter(open_page: OpenPage, server: CoshopServer, room: str, identity: str,
                 role: str = "guest") -> RoomPage:
    page = await open_page(f"/r/{room}?token={await _token(server, room, identity, role)}")
    await page.media_ready()
    await page.page.get_by_role("button", name="Camera").click()  # no video: a lighter test
    await page.join(identity.title())
    return page


async def _add(page: RoomPage, variant: str) -> None:
    await page.page.locator(f'[data-key="variant-{variant}"]').click()
    await page.page.get_by_role("button", name="Add to cart").click()


async def _link(page: RoomPage, scope: str) -> str:
    """Ask for the checkout link of ``scope`` in the cart view; the href it shows."""
    await page.page.get_by_role("tab", name="Cart").click()
    await page.page.locator(f'[data-key="checkout-{scope}"]').click()
    link = page.page.locator(f'a.checkout-link[data-scope="{scope}"]')
    await expect(link).to_be_visible()
    return str(await link.get_attribute("href"))


async def test_checkout_links_offer_progress_and_friends_ratings(
    open_page: OpenPage, server: CoshopServer, artifacts: Path
) -> None:
    await _room(server, "deal-one")
    ann = await _enter(open_page, server, "deal-one", "ann", "host")
    bob = await _enter(open_page, server, "deal-one", "bob")
    pages = [ann, bob]
    cleo = ProtocolPeer(server.url, "Cleo", index=3, decode=False)
    try:
        # The card shows the catalog's rating of the product.
        for page in pages:
            await expect(page.page.locator(".catalog-rating")).to_have_text("★ 4.6 · 212 reviews")

        # A brand sets a group offer; both pages follow its progress as the cart fills.
        offer = {"product_id": "tee", "threshold": 3, "percent": 10, "code": "TEE10",
                 "duration": 300}
        await call(server.url, "PUT", "/api/rooms/deal-one/offer", offer)
        for page in pages:
            line = page.page.locator(".product-card .offer-line")
            await expect(line).to_contain_text("0 of 3 have it · 10 % off · ends in 4:")
        await _add(ann, "tee-s")
        await _add(bob, "tee-m")
        for page in pages:
            line = page.page.locator(".product-card .offer-line")
            await expect(line).to_contain_text("2 of 3 have it")
            await expect(line).to_have_attribute("data-reached", "false")

        # Links before the offer is reached: no code.
        assert await _link(ann, "mine") == f"https://{SHOP}/cart/tee-s:1"
        assert await _link(ann, "cart") == f"https://{SHOP}/cart/tee-s:1,tee-m:1"
        assert await _link(bob, "mine") == f"https://{SHOP}/cart/tee-m:1"
        await expect(bob.page.locator('[data-key="checkout-cart"]')).to_have_count(0)

        # A third person (an aiortc peer) adds the tee: reached, live on both pages, and the
        # shown links go (they lack the code); fresh ones carry it.
        await cleo.join("deal-one", token=await _token(server, "deal-one", "cleo"))
        await cleo.send({"type": "cart_add", "product_id": "tee", "variant_id": "tee-l"})
        for page in pages:
            line = page.page.locator("#checkout .offer-line")
            await expect(line).to_have_attribute("data-reached", "true")
            await expect(line).to_contain_text(
                "Group deal reached: Harbor Tee: 10 % off with code TEE10 at checkout · ends in")
            await expect(page.page.locator("a.checkout-link")).to_have_count(0)
            # 10 % of three $24.00 tees.
            await expect(page.page.locator(".offer-saving")).to_have_text(
                "Saves $7.20 on the cart's 3 \u00d7 Harbor Tee")
        assert await _link(ann, "mine") == f"https://{SHOP}/cart/tee-s:1?discount=TEE10"
        assert await _link(bob, "mine") == f"https://{SHOP}/cart/tee-m:1?discount=TEE10"
        assert await _link(ann, "cart") == (
            f"https://{SHOP}/cart/tee-s:1,tee-m:1,tee-l:1?discount=TEE10")
        await ann.screenshot(str(artifacts / "commerce-offer-reached.png"))
        assert await violations(ann.page) == []  # the cart view with the offer and links

        # In the room: Bob rates the tee from the card (it is in the cart); Ann sees it live.
        await bob.page.locator(".rate-here [data-stars='3']").click()
        await expect(ann.page.locator(".friends-rated")).to_have_text("Friends rated 3.0")
        await expect(bob.page.locator(".you-rated")).to_have_text("You rated 3")

        # After the session: each rates what the cart held, on the recap page (Bob's 5
        # replaces his 3).
        for page, stars in ((bob, 5), (ann, 4)):
            await page.page.locator("#leave").click()
            item = page.page.locator('.rate-item[data-product="tee"]')
            await item.locator(f'[data-stars="{stars}"]').click()
            await expect(page.page.locator(".rate-status")).to_contain_text(
                f"You rated Harbor Tee {stars} of 5")
            await expect(item.locator(f'[data-stars="{stars}"]')).to_have_attribute(
                "aria-checked", "true")
        assert await violations(ann.page) == []  # the recap's rating section
        # The aiortc peer's person rates through the API (as a brand's backend would).
        await call(server.url, "POST", "/api/rooms/deal-one/ratings",
                   {"participant_id": "cleo", "name": "Cleo", "product_id": "tee", "stars": 4})
    finally:
        await cleo.close()
    assert not ann.errors and not bob.errors, ann.errors + bob.errors

    # A later room of the same catalog: friends' ratings are on the card.
    await _room(server, "deal-two")
    ann2 = await _enter(open_page, server, "deal-two", "ann", "host")
    await expect(ann2.page.locator(".you-rated")).to_have_text("You rated 4")
    await expect(ann2.page.locator(".friends-rated")).to_have_count(0)
    bob2 = await _enter(open_page, server, "deal-two", "bob")
    await expect(ann2.page.locator(".friends-rated")).to_have_text("Friends rated 5.0")
    await expect(bob2.page.locator(".friends-rated")).to_have_text("Friends rated 4.0")
    cleo2 = ProtocolPeer(server.url, "Cleo", index=3, decode=False)
    try:
        await cleo2.join("deal-two", token=await _token(server, "deal-two", "cleo"))
        await expect(ann2.page.locator(".friends-rated")).to_have_text("Friends rated 4.5")
        await expect(bob2.page.locator(".friends-rated")).to_have_text("Friends rated 4.0")
        await expect(bob2.page.locator(".you-rated")).to_have_text("You rated 5")
        await ann2.screenshot(str(artifacts / "commerce-friends-rated.png"))
    finally:
        await cleo2.close()
    assert not ann2.errors and not bob2.errors, ann2.errors + bob2.errors
