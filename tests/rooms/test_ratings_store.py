"""Store contract for ratings (rooms.ratings), on MemoryStore and RedisStore: one rating per
person per product (a re-rate replaces), kept per catalog and not per room, read back by rater;
and a catalog's id and product ratings kept with the room's catalog."""

from __future__ import annotations

import pytest

from rooms import Participant, Role, RoomStore
from rooms.catalog import Catalog, Product, ProductRating
from rooms.ratings import Rating, mean_stars, ratings_key
from tests.catalogs import make_catalog
from tests.rooms.conftest import make_redis_store

FALL = "id:fall"
SPRING = "id:spring"


def rating(product: str, who: str, stars: int, at: float = 1.0) -> Rating:
    return Rating(product_id=product, participant_id=who, name=who.title(), stars=stars, at=at)


async def test_one_rating_per_person_per_product(store: RoomStore) -> None:
    await store.rate_product(FALL, rating("tee", "ann", 3))
    await store.rate_product(FALL, rating("mug", "ann", 5))
    await store.rate_product(FALL, rating("tee", "bob", 4))
    await store.rate_product(FALL, rating("tee", "ann", 5, at=2.0))  # re-rate: replaces
    got = await store.ratings_by(FALL, ["bob", "ann", "cleo"])
    assert got == [
        rating("mug", "ann", 5),
        rating("tee", "ann", 5, at=2.0),
        rating("tee", "bob", 4),
    ]
    assert mean_stars(got, "tee") == 4.5
    assert await store.ratings_by(FALL, ["bob"]) == [rating("tee", "bob", 4)]
    assert await store.ratings_by(FALL, []) == []


async def test_ratings_are_per_catalog(store: RoomStore) -> None:
    await store.rate_product(FALL, rating("tee", "ann", 2))
    await store.rate_product(SPRING, rating("tee", "ann", 5))
    assert await store.ratings_by(FALL, ["ann"]) == [rating("tee", "ann", 2)]
    assert await store.ratings_by(SPRING, ["ann"]) == [rating("tee", "ann", 5)]
    assert await store.ratings_by("id:other", ["ann"]) == []


async def test_ratings_outlive_rooms(store: RoomStore) -> None:
    catalog = make_catalog({"tee": ["tee-s"]})
    await store.create_room("r1", catalog=catalog)
    await store.join("r1", Participant(id="ann", name="Ann", role=Role.HOST))
    key = ratings_key((await store.room_catalog("r1")).catalog)
    await store.rate_product(key, rating("tee", "ann", 4))
    await store.close_room("r1")
    await store.create_room("r2", catalog=catalog)
    assert ratings_key((await store.room_catalog("r2")).catalog) == key
    assert await store.ratings_by(key, ["ann"]) == [rating("tee", "ann", 4)]


@pytest.mark.parametrize("stars", [0, 6, True, 4.5, "4"])
def test_stars_are_whole_1_to_5(stars: object) -> None:
    with pytest.raises(ValueError):
        rating("tee", "ann", stars)  # type: ignore[arg-type]


async def test_catalog_id_and_product_ratings_kept_with_the_room(store: RoomStore) -> None:
    base = make_catalog({"tee": ["tee-s"], "mug": ["mug-1"]})
    rated = Product.model_validate(
        {**base.products[0].model_dump(), "rating": {"value": 4.4, "count": 9}}
    )
    catalog = Catalog(id="northwind", products=(rated, base.products[1]), currency="USD")
    await store.create_room("r", catalog=catalog)
    kept = (await store.room_catalog("r")).catalog
    assert kept.id == "northwind"
    assert kept.products[0].rating == ProductRating(value=4.4, count=9)
    assert ratings_key(kept) == "id:northwind"
    # The wire form (joined's catalog) carries the rating for the product card.
    snap = await store.snapshot("r")
    assert snap.shopping.to_dict()["catalog"]["products"][0]["rating"] == {
        "value": 4.4, "count": 9
    }


def test_ratings_key_without_an_id() -> None:
    a = make_catalog({"tee": ["tee-s"], "mug": ["mug-1"]})
    b = make_catalog({"mug": ["mug-1"], "tee": ["tee-s"]})
    assert ratings_key(a) == ratings_key(b)  # the same products, in any order
    assert ratings_key(a) != ratings_key(make_catalog({"tee": ["tee-s"]}))
    shop = Catalog(products=a.products, shopify_shop="north.example.com")
    assert ratings_key(shop) == "shopify:north.example.com"


@pytest.mark.redis
async def test_redis_ratings_survive_a_new_store(redis_url: str, redis_namespace: str) -> None:
    first = make_redis_store(redis_url, redis_namespace)
    await first.rate_product(FALL, rating("tee", "ann", 3))
    await first.close()
    second = make_redis_store(redis_url, redis_namespace)
    try:
        assert await second.ratings_by(FALL, ["ann"]) == [rating("tee", "ann", 3)]
    finally:
        await second.close()
