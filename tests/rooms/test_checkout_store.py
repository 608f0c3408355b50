"""Store contract for checkout: the catalog's checkout fields survive the store, and
start_checkout's rules, event and recap count (MemoryStore and RedisStore alike)."""

from __future__ import annotations

import pytest

from rooms import Participant, Role, RoomStore
from rooms.catalog.models import Catalog
from rooms.errors import Forbidden, NotInRoom, RoomClosed
from tests.catalogs import SHOP


def person(pid: str, role: Role = Role.GUEST) -> Participant:
    return Participant(id=pid, name=f"name of {pid}", role=role)


SHOPIFY = SHOP.model_copy(update={"shopify_shop": "friends.myshopify.com"})
TEMPLATED = Catalog(
    products=SHOP.products,
    currency=SHOP.currency,
    checkout_url_template="https://shop.example/buy?items={items}&code={discount}",
)


async def test_checkout_fields_survive_create_and_load(store: RoomStore) -> None:
    await store.create_room("s", catalog=SHOPIFY)
    assert (await store.room_catalog("s")).catalog.shopify_shop == "friends.myshopify.com"
    assert (await store.snapshot("s")).shopping.catalog.catalog == SHOPIFY
    await store.load_catalog("s", TEMPLATED)
    catalog = (await store.room_catalog("s")).catalog
    assert catalog == TEMPLATED and catalog.shopify_shop is None
    await store.load_catalog("s", SHOP)
    catalog = (await store.room_catalog("s")).catalog
    assert (catalog.shopify_shop, catalog.checkout_url_template) == (None, None)


async def test_start_checkout_rules_event_and_recap(store: RoomStore) -> None:
    await store.create_room("s", catalog=SHOPIFY, capacity=5)
    await store.join("s", person("host", Role.HOST))
    await store.join("s", person("ann"))
    await store.join("s", person("vic", Role.VIEWER))
    async with store.subscribe("s") as feed:
        mine = await store.start_checkout("s", by="ann", participant_id="ann", lines=2,
                                          quantity=3)
        assert mine.type == "checkout_started"
        assert mine.body.to_data() == {"by": "ann", "participant_id": "ann", "lines": 2,
                                       "quantity": 3}
        whole = await store.start_checkout("s", by="host", participant_id=None, lines=4,
                                           quantity=9)
        api = await store.start_checkout("s", by=None, participant_id="ann", lines=1,
                                         quantity=1)
        seen = []
        async for event in feed:
            seen.append(event)
            if len(seen) == 3:
                break
    assert seen == [mine, whole, api]
    refusals = [
        ("ann", None),  # the whole cart: hosts only
        ("ann", "host"),  # another's lines
        ("vic", "vic"),  # viewers do not buy
    ]
    for by, whose in refusals:
        with pytest.raises(Forbidden):
            await store.start_checkout("s", by=by, participant_id=whose, lines=1, quantity=1)
    with pytest.raises(NotInRoom):
        await store.start_checkout("s", by="ghost", participant_id="ghost", lines=1, quantity=1)
    recap = await store.recap("s")
    assert recap.checkouts_started == 3
    assert recap.to_dict()["checkouts_started"] == 3
    await store.close_room("s")
    with pytest.raises(RoomClosed):
        await store.start_checkout("s", by=None, participant_id=None, lines=1, quantity=1)
    assert (await store.recap("s")).checkouts_started == 3
