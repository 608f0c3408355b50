"""The hand-written OpenAPI 3.1 description of the HTTP API (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

from signaling.protocol import ROOM_ID_PATTERN, ErrorCode


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
}
_ROOM_PARAM = {
    "name": "room_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ROOM_ID_PATTERN},
}
_NOT_FOUND = {"404": {"$ref": "#/components/responses/NotFound"}}
_GONE = {"410": _json(_ref("Error"), "The room is closed (code `room_closed`).")}
_UNKNOWN_PRODUCT = {
    "404": _json(_ref("Error"), "No such room (`not_found`) or product (`unknown_product`).")
}
_SEQ = {"type": "integer", "description": "Seq of the room event announcing the change."}
_TALLY: dict[str, Any] = {
    "type": "object",
    "required": ["yes", "no", "score_count", "score_total"],
    "properties": {
        "yes": {"type": "integer"},
        "no": {"type": "integer"},
        "score_count": {"type": "integer"},
        "score_total": {"type": "integer"},
        "by_variant": {
            "type": "object",
            "additionalProperties": {"$ref": "#/components/schemas/Tally"},
            "description": "Votes that named a variant, counted again per variant.",
        },
    },
}
_SHORTLIST: dict[str, Any] = {
    "type": "array",
    "description": "Liked products, best first (docs/PROTOCOL.md, Shopping).",
    "items": {
        "type": "object",
        "required": ["rank", "product_id", "variant_id", "tally"],
        "properties": {
            "rank": {"type": "integer"},
            "product_id": {"type": "string"},
            "variant_id": {"type": ["string", "null"]},
            "tally": _ref("Tally"),
        },
    },
}
_TALLIES = {"type": "object", "additionalProperties": _ref("Tally")}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "coshop HTTP API",
        "version": "1",
        "description": "Rooms, join tokens, catalogs, the carousel and vote results. Realtime "
        "traffic uses the WebSocket protocol "
        "(docs/PROTOCOL.md) at /ws or /rooms/{room_id}/ws. With a secret set (production mode) "
        "every /api route but this document needs `Authorization: Bearer <secret>`.",
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/rooms": {
            "get": {
                "summary": "List rooms",
                "operationId": "listRooms",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["rooms"],
                            "properties": {"rooms": {"type": "array", "items": _ref("Room")}},
                        },
                        "Every room the store knows, closed ones included.",
                    ),
                    **_ERRORS,
                },
            },
            "post": {
                "summary": "Create a room (idempotent for an existing id)",
                "operationId": "createRoom",
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("CreateRoom")}},
                },
                "responses": {
                    "201": _json(_ref("Room"), "The room (the existing one if the id is taken)."),
                    **_ERRORS,
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}": {
            "parameters": [_ROOM_PARAM],
            "get": {
                "summary": "Get a room and its participants",
                "operationId": "getRoom",
                "responses": {
                    "200": _json(_ref("RoomDetail"), "The room now."),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            },
            "delete": {
                "summary": "Close a room",
                "description": "Everyone in the room receives `room_closed` then `left` and "
                "leaves the media session; the id cannot be joined again.",
                "operationId": "closeRoom",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["id", "closed", "seq"],
                            "properties": {
                                "id": {"type": "string"},
                                "closed": {"const": True},
                                "seq": {"type": "integer"},
                            },
                        },
                        "Closed; `seq` numbers the room_closed event.",
                    ),
                    **_ERRORS,
                    **_NOT_FOUND,
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/tokens": {
            "parameters": [_ROOM_PARAM],
            "post": {
                "summary": "Mint a join token",
                "description": "The token goes in the `join` message's `token` field. It fixes "
                "the participant's id (`identity`), name and role.",
                "operationId": "mintToken",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("TokenRequest")}},
                },
                "responses": {"201": _json(_ref("Token"), "A signed token."), **_ERRORS, **_GONE},
            },
        },
        "/api/rooms/{room_id}/catalog": {
            "parameters": [_ROOM_PARAM],
            "get": {
                "summary": "Get the room's catalog",
                "operationId": "getCatalog",
                "responses": {
                    "200": _json(_ref("Catalog"), "Products in carousel order."),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            },
            "put": {
                "summary": "Load a catalog into the room",
                "description": "Body: a coshop catalog JSON document (see rooms/catalog; "
                "`coshop catalog import` converts Shopify and Merchant Center feeds), or no "
                "body with `?sample=1` for the bundled sample. Everyone in the room gets a "
                "fresh `snapshot`. The carousel keeps its product if still offered; votes and "
                "cart items of products no longer offered are dropped.",
                "operationId": "loadCatalog",
                "parameters": [
                    {
                        "name": "sample",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["1", "true"]},
                        "description": "Load the bundled sample catalog instead of a body.",
                    }
                ],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": _json(_ref("CatalogLoaded"), "Loaded."),
                    **_ERRORS,
                    **_NOT_FOUND,
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/carousel": {
            "parameters": [_ROOM_PARAM],
            "post": {
                "summary": "Move the carousel",
                "description": "Everyone in the room gets `carousel_changed`. With `version`, "
                "the move only happens from that version (else 409 `stale_version`, with the "
                "current `carousel`).",
                "operationId": "moveCarousel",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("MoveCarousel")}},
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["carousel", "seq"],
                            "properties": {"carousel": _ref("Carousel"), "seq": _SEQ},
                        },
                        "Moved.",
                    ),
                    **_ERRORS,
                    **_UNKNOWN_PRODUCT,
                    "409": _json(_ref("Error"), "`stale_version`; the body has `carousel`."),
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/vote-round": {
            "parameters": [_ROOM_PARAM],
            "post": {
                "summary": "Open a vote round",
                "description": "Replaces a round still open. Everyone gets "
                "`vote_round_opened`; `vote_round_closed` follows at the deadline.",
                "operationId": "openVoteRound",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("OpenRound")}},
                },
                "responses": {
                    "201": _json(_ref("RoundChange"), "Opened."),
                    **_ERRORS,
                    **_UNKNOWN_PRODUCT,
                    **_GONE,
                },
            },
            "delete": {
                "summary": "Close the open vote round",
                "operationId": "closeVoteRound",
                "responses": {
                    "200": _json(_ref("RoundChange"), "Closed."),
                    **_ERRORS,
                    **_NOT_FOUND,
                    "409": _json(_ref("Error"), "No round is open (`vote_closed`)."),
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/tallies": {
            "parameters": [_ROOM_PARAM],
            "get": {
                "summary": "Read the live vote results",
                "operationId": "getTallies",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["seq", "tallies", "shortlist", "round", "votes"],
                            "properties": {
                                "seq": _SEQ,
                                "tallies": _TALLIES,
                                "shortlist": _SHORTLIST,
                                "round": {"oneOf": [_ref("Round"), {"type": "null"}]},
                                "votes": {"type": "array", "items": _ref("Vote")},
                            },
                        },
                        "Results as of `seq`.",
                    ),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            },
        },
        "/api/rooms/{room_id}/recap": {
            "parameters": [_ROOM_PARAM],
            "get": {
                "summary": "Read the session recap",
                "description": "Products shown, votes per product, shortlist, cart and "
                "reactions; closed rooms too.",
                "operationId": "getRecap",
                "responses": {
                    "200": _json(_ref("Recap"), "The recap."),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            },
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1 JSON."}},
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness and a summary of this node",
                "operationId": "health",
                "security": [],
                "responses": {"200": _json(_ref("Health"), "The node is up.")},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics of this node",
                "operationId": "metrics",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Text exposition format 0.0.4.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "The node's COSHOP_SECRET (production mode only).",
            }
        },
        "responses": {
            "BadRequest": _json(_ref("Error"), "Invalid body or parameter (`bad_message`)."),
            "Unauthorized": _json(_ref("Error"), "Missing or wrong bearer key (`unauthorized`)."),
            "NotFound": _json(_ref("Error"), "No such room (`not_found`)."),
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"enum": [str(c) for c in ErrorCode]},
                            "message": {"type": "string"},
                        },
                    },
                    "retry_after": {
                        "type": "number",
                        "description": "With `rate_limited` (429) and `unavailable` (503, also "
                        "in the Retry-After header): seconds to wait before trying again.",
                    },
                },
            },
            "CreateRoom": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": ROOM_ID_PATTERN,
                           "description": "Random when omitted."},
                    "capacity": {"type": "integer", "minimum": 1, "maximum": 100,
                                 "description": "The node's default (10) when omitted."},
                },
            },
            "Room": {
                "type": "object",
                "required": ["id", "capacity", "closed", "created_at", "participant_count"],
                "properties": {
                    "id": {"type": "string"},
                    "capacity": {"type": "integer"},
                    "closed": {"type": "boolean"},
                    "created_at": {"type": "number", "description": "Unix seconds."},
                    "participant_count": {"type": "integer"},
                },
            },
            "Participant": {
                "type": "object",
                "required": ["id", "name", "role", "joined_at"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "role": {"enum": ["viewer", "guest", "host", "admin"]},
                    "joined_at": {"type": "number", "description": "Unix seconds."},
                },
            },
            "RoomDetail": {
                "allOf": [
                    _ref("Room"),
                    {
                        "type": "object",
                        "required": ["seq", "participants"],
                        "properties": {
                            "seq": {"type": ["integer", "null"],
                                    "description": "The room's latest event number."},
                            "participants": {"type": "array", "items": _ref("Participant")},
                        },
                    },
                ]
            },
            "TokenRequest": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "identity": {"type": "string", "pattern": ROOM_ID_PATTERN,
                                 "description": "Participant id; random when omitted."},
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "role": {"enum": ["viewer", "guest", "host", "admin"], "default": "guest"},
                    "ttl": {"type": "number", "exclusiveMinimum": 0, "maximum": 604800,
                            "description": "Seconds; the node's COSHOP_TOKEN_TTL when omitted."},
                },
            },
            "Token": {
                "type": "object",
                "required": ["token", "room", "identity", "name", "role", "expires_at", "ws_url"],
                "properties": {
                    "token": {"type": "string"},
                    "room": {"type": "string"},
                    "identity": {"type": "string"},
                    "name": {"type": "string"},
                    "role": {"type": "string"},
                    "expires_at": {"type": "number", "description": "Unix seconds."},
                    "ws_url": {"type": "string", "description": "Where to open the socket."},
                },
            },
            "Tally": _TALLY,
            "Carousel": {
                "type": "object",
                "required": ["index", "current", "version", "mode", "holder"],
                "properties": {
                    "index": {"type": "integer"},
                    "current": {"type": ["string", "null"]},
                    "version": {"type": "integer"},
                    "mode": {"enum": ["host_led", "everyone"]},
                    "holder": {"type": ["string", "null"]},
                },
            },
            "Catalog": {
                "type": "object",
                "required": ["revision", "currency", "products"],
                "properties": {
                    "revision": {"type": "integer"},
                    "currency": {"type": ["string", "null"]},
                    "products": {"type": "array", "items": {"type": "object"}},
                },
            },
            "CatalogLoaded": {
                "type": "object",
                "required": ["catalog", "carousel", "seq"],
                "properties": {
                    "catalog": {
                        "type": "object",
                        "required": ["revision", "currency", "product_count"],
                        "properties": {
                            "revision": {"type": "integer"},
                            "currency": {"type": ["string", "null"]},
                            "product_count": {"type": "integer"},
                        },
                    },
                    "carousel": _ref("Carousel"),
                    "seq": _SEQ,
                },
            },
            "MoveCarousel": {
                "type": "object",
                "required": ["action"],
                "additionalProperties": False,
                "properties": {
                    "action": {"enum": ["next", "prev", "goto"]},
                    "product_id": {"type": "string", "description": "With `goto` only."},
                    "version": {"type": "integer", "minimum": 0,
                                "description": "Move only from this version."},
                },
            },
            "OpenRound": {
                "type": "object",
                "required": ["duration"],
                "additionalProperties": False,
                "properties": {
                    "duration": {"type": "number", "minimum": 5, "maximum": 3600,
                                 "description": "Seconds."},
                    "product_ids": {"type": "array", "items": {"type": "string"},
                                    "minItems": 1, "description": "Default: every product."},
                },
            },
            "Round": {
                "type": "object",
                "required": ["id", "state", "opens_at", "closes_at", "product_ids"],
                "properties": {
                    "id": {"type": "integer", "description": "Seq of its opening."},
                    "state": {"enum": ["scheduled", "open", "closed"]},
                    "opens_at": {"type": "number"},
                    "closes_at": {"type": "number"},
                    "product_ids": {"type": ["array", "null"], "items": {"type": "string"}},
                },
            },
            "RoundChange": {
                "type": "object",
                "required": ["round", "seq"],
                "properties": {"round": _ref("Round"), "seq": _SEQ},
            },
            "Vote": {
                "type": "object",
                "required": ["participant_id", "product_id", "variant_id", "value"],
                "properties": {
                    "participant_id": {"type": "string"},
                    "product_id": {"type": "string"},
                    "variant_id": {"type": ["string", "null"]},
                    "value": {"oneOf": [{"enum": ["yes", "no"]},
                                        {"type": "integer", "minimum": 1, "maximum": 5}]},
                },
            },
            "CartItem": {
                "type": "object",
                "required": ["product_id", "variant_id", "quantity", "added_by",
                             "added_by_name", "added_at"],
                "properties": {
                    "product_id": {"type": "string"},
                    "variant_id": {"type": ["string", "null"]},
                    "quantity": {"type": "integer"},
                    "added_by": {"type": ["string", "null"]},
                    "added_by_name": {"type": ["string", "null"]},
                    "added_at": {"type": "number"},
                },
            },
            "Recap": {
                "type": "object",
                "required": ["room", "products_shown", "tallies", "shortlist", "cart",
                             "reactions", "votes_cast", "chat_messages"],
                "properties": {
                    "room": {"type": "string"},
                    "products_shown": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["product_id", "title", "times"],
                            "properties": {
                                "product_id": {"type": "string"},
                                "title": {"type": ["string", "null"]},
                                "times": {"type": "integer",
                                          "description": "Times it became current."},
                            },
                        },
                    },
                    "tallies": _TALLIES,
                    "shortlist": _SHORTLIST,
                    "cart": {"type": "array", "items": _ref("CartItem")},
                    "reactions": {
                        "type": "object",
                        "required": ["total", "by_emoji", "by_product"],
                        "properties": {
                            "total": {"type": "integer"},
                            "by_emoji": {"type": "object",
                                         "additionalProperties": {"type": "integer"}},
                            "by_product": {"type": "object", "additionalProperties": {
                                "type": "object", "additionalProperties": {"type": "integer"}}},
                        },
                    },
                    "votes_cast": {"type": "integer"},
                    "chat_messages": {"type": "integer"},
                },
            },
            "Health": {
                "type": "object",
                "required": ["status", "node_id", "store", "store_state", "rooms", "peers",
                             "connections"],
                "properties": {
                    "status": {"const": "ok"},
                    "node_id": {"type": "string"},
                    "store": {"enum": ["memory", "redis"]},
                    "store_state": {
                        "enum": ["starting", "up", "down", "closed"],
                        "description": "`down`: Redis unreachable; operations answer "
                        "`unavailable` (503) until it is back.",
                    },
                    "rooms": {"type": "integer", "description": "Rooms with a socket here."},
                    "peers": {"type": "integer", "description": "Joined sockets here."},
                    "connections": {"type": "integer", "description": "Open sockets here."},
                },
            },
        },
    },
}
