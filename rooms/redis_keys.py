"""Redis key and channel names of the rooms, documented like an API.

Every key of one room carries the hash tag ``{room:<id>}`` so the room's keys share one cluster
slot and each Lua script touches a single slot. ``<ns>`` is the store's namespace (default
``coshop``; tests use a unique one each).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

DEFAULT_NAMESPACE = "coshop"

NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""No braces (they would change the hash tag) and no glob characters (tests SCAN by prefix)."""

ROOMS_INDEX = "{ns}:rooms"
"""SET of room ids (str). Added to before a room can be created, so a superset of the rooms:
an id without a meta hash (a creator crashed in between) is skipped by list_rooms."""

ROOM_META = "{ns}:{{room:{room_id}}}:meta"
"""HASH ``capacity`` -> int, ``closed`` -> "0" | "1", ``created_at`` -> float unix seconds,
``kind`` -> "group" | "live" (absent = group), ``audience_capacity`` -> int (absent = the
store's default), ``slow_mode`` -> float seconds between two chat messages of one participant
(absent or 0 = off). Its existence is the room's existence."""

ROOM_AUDIENCE = "{ns}:{{room:{room_id}}}:audience"
"""SET of the participant ids sitting in a live room's audience (its viewers; rooms.live): a
subset of ROOM_PARTICIPANTS kept in step by every script that adds or removes one. Its SCARD
is the audience, HLEN(participants) - SCARD the stage. Always empty in a group room."""

ROOM_BANS = "{ns}:{{room:{room_id}}}:bans"
"""SET of participant ids a host banned: join and reassert refuse them for the room's life."""

ROOM_OWN_CARTS = "{ns}:{{room:{room_id}}}:own_carts"
"""HASH participant id -> JSON array of CartItem.to_dict(): a live room's viewers' own carts."""
ROOM_CART_ADDS = "{ns}:{{room:{room_id}}}:cart_adds"
"""HASH product id -> int: accepted cart_add requests (for the recap; quantity changes count)."""

ROOM_HANDS = "{ns}:{{room:{room_id}}}:hands"
"""SET of participant ids with a raised hand. May hold leavers (snapshots list only the
viewers in the room); join and stage moves remove the id."""

ROOM_LAST_CHAT = "{ns}:{{room:{room_id}}}:last_chat"
"""HASH participant id -> float unix seconds of their latest accepted chat message (slow
mode compares against it)."""

ROOM_PARTICIPANTS = "{ns}:{{room:{room_id}}}:participants"
"""HASH participant id -> Participant.to_json(), joined_at stamped by the store. Absent if empty."""

ROOM_SEQ = "{ns}:{{room:{room_id}}}:seq"
"""STRING integer: the seq of the room's latest event (absent = 0). INCRed once per event."""

ROOM_PRESENCE = "{ns}:{{room:{room_id}}}:presence"
"""HASH participant id -> presence owner (a node incarnation, ``<node id>/<random>``) holding
the participant's lease: the same entries as ROOM_PARTICIPANTS, written and removed by the same
scripts. When the owner's NODE_LEASE lapses, reap.lua removes its participants (node_lost)."""

ROOM_EVENTS = "{ns}:{{room:{room_id}}}:events"
"""Pub/sub CHANNEL: each message is one RoomEvent.to_json(), published in seq order."""

# --- nodes and presence leases (one hash tag, so node_*.lua touch one slot) ---------------------

NODES_INDEX = "{ns}:{{nodes}}:index"
"""SET of presence owners (node incarnations) that renewed a lease since they were last
reaped: the candidates a reaper checks. A superset: a live owner is skipped while its lease
key exists."""

NODE_LEASE = "{ns}:{{nodes}}:lease:{owner}"
"""STRING node id, with a TTL of the lease (PX): the owner is alive while it exists. Renewed
by renew_lease.lua every heartbeat; deleted on a clean shutdown."""

NODE_ROOMS = "{ns}:{{nodes}}:rooms:{owner}"
"""SET of room ids where the owner has (or had) participants: the rooms a reaper visits once
the owner's lease lapsed. Added to before every join / reassert; deleted by forget_node.lua."""

# --- node registry and room placement (same {nodes} hash tag; rooms/lua/node_beat.lua,
# pin_room.lua, unpin_room.lua) --------------------------------------------------------------------

NODE_REGISTRY = "{ns}:{{nodes}}:registry"
"""HASH presence owner -> node entry JSON ``{node_id, url, rooms, peers, cpu, draining,
beat_ms}`` (rooms.placement.NodeEntry): written by each node's heartbeat, ``beat_ms`` from
Redis's clock. An entry silent for longer than the node timeout is a dead node; one silent for
much longer is deleted by the next beat of any node."""

ROOM_PINS = "{ns}:{{nodes}}:pins"
"""HASH room id -> presence owner of the node that serves the room's media. Set by
pin_room.lua on a room's first join (or when its node died or drains), removed by
unpin_room.lua when the room's last participant there is gone."""

PINNED_COUNTS = "{ns}:{{nodes}}:pinned"
"""HASH presence owner -> number of rooms pinned to it, kept in step with ROOM_PINS by the
same scripts (the placement score counts rooms without scanning the pins)."""


# --- shopping (shapes in rooms.shopping_state; written only by rooms/lua/*.lua) -------------------

ROOM_CATALOG = "{ns}:{{room:{room_id}}}:catalog"
"""HASH ``revision`` -> int (seq of the catalog_loaded event, 0 = created with the room),
``currency`` -> ISO 4217 code or "", ``image_base`` -> URL path or "", ``checkout`` -> JSON object
of the catalog's ``id`` / ``shopify_shop`` / ``checkout_url_template`` or "". Absent = empty
catalog.
The room's group offer (rooms.offers) lives here too, so snapshots read it with the catalog:
``offer`` -> GroupOffer JSON, ``offer_backers`` -> int (as last published), ``offer_reached`` ->
"1" / "0"; absent without an offer."""

ROOM_PRODUCT_IDS = "{ns}:{{room:{room_id}}}:product_ids"
"""LIST of product ids in catalog (= carousel) order. Absent if the catalog is empty."""

ROOM_PRODUCTS = "{ns}:{{room:{room_id}}}:products"
"""HASH product id -> Product.model_dump_json() (the coshop catalog JSON of one product)."""

ROOM_VARIANTS = "{ns}:{{room:{room_id}}}:variants"
"""SET of shopping_state.cart_key(product id, variant id) for every variant of the catalog: a
vote or cart item naming a variant is checked with one SISMEMBER."""

ROOM_CAROUSEL = "{ns}:{{room:{room_id}}}:carousel"
"""HASH ``index`` -> int, ``version`` -> int, ``mode`` -> "host_led" | "everyone", ``holder`` ->
participant id (absent = nobody holds the remote). Absent = index 0, version 0, host-led."""

ROOM_VOTES = "{ns}:{{room:{room_id}}}:votes"
"""HASH shopping_state.vote_key(participant, product) -> Vote.to_dict() JSON."""

ROOM_TALLIES = "{ns}:{{room:{room_id}}}:tallies"
"""HASH product id -> Tally.to_dict() JSON of the current votes (products with votes only);
kept in step with ROOM_VOTES by the same scripts, so events carry tallies without a recount."""

ROOM_ROUND = "{ns}:{{room:{room_id}}}:round"
"""STRING RoundInfo.to_dict() JSON of the latest vote round. Absent = no round yet."""

ROOM_CART = "{ns}:{{room:{room_id}}}:cart"
"""HASH shopping_state.cart_key(product, variant) -> CartItem.to_dict() JSON."""

ROOM_CHAT = "{ns}:{{room:{room_id}}}:chat"
"""LIST of ChatMessage.to_dict() JSON, oldest first, at most CHAT_HISTORY_SIZE (LTRIMmed)."""

ROOM_REACTIONS = "{ns}:{{room:{room_id}}}:reactions"
"""HASH JSON ``[product id | null, emoji]`` -> int count (reactions are counted, not kept)."""

ROOM_SHOWN = "{ns}:{{room:{room_id}}}:shown"
"""HASH product id -> int: times the product became the carousel's current one."""

ROOM_STATS = "{ns}:{{room:{room_id}}}:stats"
"""HASH ``votes_cast`` -> int, ``chat_messages`` -> int, ``views`` -> int (a live room's
audience seats taken), ``peak_viewers`` -> int (its largest audience), ``checkouts_started`` -> int
(checkout links handed out): totals for the recap."""


def validate_namespace(namespace: str) -> str:
    """Return ``namespace`` if it matches ``NAMESPACE_PATTERN``; raise ValueError otherwise."""
    if not isinstance(namespace, str) or NAMESPACE_PATTERN.fullmatch(namespace) is None:
        raise ValueError(f"invalid Redis namespace {namespace!r}: expected 1-64 of [A-Za-z0-9_.:-]")
    return namespace


# --- ratings (rooms.ratings; per catalog, not per room) -------------------------------------------

RATINGS_BY = "{ns}:{{ratings:{catalog}}}:by:{participant_id}"
"""HASH product id -> Rating JSON (rooms.ratings.Rating.to_dict) of one person's ratings of one
catalog's products; ``{catalog}`` is a digest of rooms.ratings.ratings_key (so the hash tag
holds no brace), so a catalog's ratings share a cluster slot. One HSET gives or replaces a
rating: one per person per product. No expiry: ratings outlive rooms."""


def ratings_by_key(namespace: str, catalog_key: str, participant_id: str) -> str:
    """The ``RATINGS_BY`` key of ``participant_id``'s ratings of the catalog ``catalog_key``."""
    digest = hashlib.sha256(catalog_key.encode()).hexdigest()[:32]
    return RATINGS_BY.format(ns=namespace, catalog=digest, participant_id=participant_id)


def rooms_index_key(namespace: str) -> str:
    """The ``ROOMS_INDEX`` key of ``namespace``."""
    return ROOMS_INDEX.format(ns=namespace)


@dataclass(frozen=True, slots=True)
class NodeKeys:
    """The names of one presence owner's keys (see NODES_INDEX, NODE_LEASE, NODE_ROOMS)."""

    index: str
    lease: str
    rooms: str

    @classmethod
    def of(cls, namespace: str, owner: str) -> NodeKeys:
        """The names for ``owner`` in ``namespace`` (already validated)."""
        return cls(
            index=NODES_INDEX.format(ns=namespace),
            lease=NODE_LEASE.format(ns=namespace, owner=owner),
            rooms=NODE_ROOMS.format(ns=namespace, owner=owner),
        )


@dataclass(frozen=True, slots=True)
class PlacementKeys:
    """The names of the placement keys (see NODE_REGISTRY, ROOM_PINS, PINNED_COUNTS)."""

    registry: str
    pins: str
    pinned: str

    @classmethod
    def of(cls, namespace: str) -> PlacementKeys:
        """The names in ``namespace`` (already validated)."""
        return cls(
            registry=NODE_REGISTRY.format(ns=namespace),
            pins=ROOM_PINS.format(ns=namespace),
            pinned=PINNED_COUNTS.format(ns=namespace),
        )


@dataclass(frozen=True, slots=True)
class RoomKeys:
    """The names of one room's keys and channel (see the module constants for shapes)."""

    meta: str
    participants: str
    presence: str
    seq: str
    events: str
    catalog: str
    product_ids: str
    products: str
    variants: str
    carousel: str
    votes: str
    tallies: str
    round: str
    cart: str
    chat: str
    reactions: str
    shown: str
    stats: str
    audience: str
    bans: str
    hands: str
    last_chat: str
    cart_adds: str
    own_carts: str

    @classmethod
    def of(cls, namespace: str, room_id: str) -> RoomKeys:
        """The names for ``room_id`` in ``namespace`` (both already validated)."""

        def name(pattern: str) -> str:
            return pattern.format(ns=namespace, room_id=room_id)

        return cls(
            meta=name(ROOM_META),
            participants=name(ROOM_PARTICIPANTS),
            presence=name(ROOM_PRESENCE),
            seq=name(ROOM_SEQ),
            events=name(ROOM_EVENTS),
            catalog=name(ROOM_CATALOG),
            product_ids=name(ROOM_PRODUCT_IDS),
            products=name(ROOM_PRODUCTS),
            variants=name(ROOM_VARIANTS),
            carousel=name(ROOM_CAROUSEL),
            votes=name(ROOM_VOTES),
            tallies=name(ROOM_TALLIES),
            round=name(ROOM_ROUND),
            cart=name(ROOM_CART),
            chat=name(ROOM_CHAT),
            reactions=name(ROOM_REACTIONS),
            shown=name(ROOM_SHOWN),
            stats=name(ROOM_STATS),
            audience=name(ROOM_AUDIENCE),
            bans=name(ROOM_BANS),
            hands=name(ROOM_HANDS),
            cart_adds=name(ROOM_CART_ADDS),
            own_carts=name(ROOM_OWN_CARTS),
            last_chat=name(ROOM_LAST_CHAT),
        )

    @property
    def shop_state(self) -> list[str]:
        """The keys _shop_state.lua reads (join and snapshot pass them in this order)."""
        return [
            self.catalog,
            self.product_ids,
            self.products,
            self.carousel,
            self.round,
            self.votes,
            self.cart,
            self.chat,
        ]
