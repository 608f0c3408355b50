"""The OpenAPI 3.1 description of the HTTP API (served at /api/openapi.json).

Only the path/operation table is written here; every body schema is generated from the pydantic
models of signaling/http_models.py and signaling/protocol.py that the handlers really use.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from signaling import http_models as models
from signaling.protocol import ROOM_ID_PATTERN, CatalogInfo

REF_TEMPLATE = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": _ref(model)}}}


def schemas() -> dict[str, Any]:
    """Components generated from the models: request bodies as validated, responses as
    dumped."""
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((m, "validation") for m in models.REQUESTS),
        *((m, "serialization") for m in models.RESPONSES),
    ]
    _, top = models_json_schema(pairs, ref_template=REF_TEMPLATE)
    generated: dict[str, Any] = top["$defs"]
    return generated


_ERROR = _ref(models.ApiError)
_FORBIDDEN = {"403": _json(_ref(models.ApiError), "Not allowed (`forbidden`): e.g. a host.")}
_PARTICIPANT_PARAM = {
    "name": "participant_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ROOM_ID_PATTERN},
}
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
_GONE = {"410": _json(_ERROR, "The room is closed (code `room_closed`).")}
_UNKNOWN_PRODUCT = {
    "404": _json(_ERROR, "No such room (`not_found`) or product (`unknown_product`).")
}

def _moderated(status: str, description: str) -> dict[str, Any]:
    return {status: _json(_ref(models.Moderated), description), **_ERRORS, **_NOT_FOUND,
            **_FORBIDDEN, **_GONE}


_MODERATION: dict[str, Any] = {
    "/api/rooms/{room_id}/participants/{participant_id}/mute": {
        "parameters": [_ROOM_PARAM, _PARTICIPANT_PARAM],
        "post": {
            "summary": "Mute a participant's microphone or camera",
            "description": "Everyone gets `participant_muted`; the participant's client turns "
            "it off and its `media_state` follows.",
            "operationId": "muteParticipant",
            "requestBody": _body(models.MuteRequest),
            "responses": _moderated("200", "Muted; `seq` numbers the event."),
        },
    },
    "/api/rooms/{room_id}/participants/{participant_id}": {
        "parameters": [_ROOM_PARAM, _PARTICIPANT_PARAM],
        "delete": {
            "summary": "Remove a participant",
            "description": "Its socket gets `left` (reason `removed`); it may join again.",
            "operationId": "removeParticipant",
            "responses": _moderated("200", "Removed; `seq` numbers `participant_left`."),
        },
    },
    "/api/rooms/{room_id}/participants/{participant_id}/role": {
        "parameters": [_ROOM_PARAM, _PARTICIPANT_PARAM],
        "put": {
            "summary": "Move a live room's participant between audience and stage",
            "description": "`guest`: a viewer comes up to the stage (409 `room_full` when it "
            "is full); `viewer`: a guest goes back to the audience. Everyone gets "
            "`role_changed`.",
            "operationId": "setRole",
            "requestBody": _body(models.RoleRequest),
            "responses": {
                **_moderated("200", "Moved; `seq` numbers `role_changed`."),
                "409": _json(_ERROR, "The stage is full (`room_full`)."),
            },
        },
    },
    "/api/rooms/{room_id}/bans": {
        "parameters": [_ROOM_PARAM],
        "post": {
            "summary": "Ban an identity from the room",
            "description": "Taken out if in (`left`, reason `banned`); its joins are refused "
            "with `banned` (403) for the room's life.",
            "operationId": "ban",
            "requestBody": _body(models.BanRequest),
            "responses": _moderated("201", "Banned; `seq` numbers `participant_banned`."),
        },
    },
    "/api/rooms/{room_id}/slow-mode": {
        "parameters": [_ROOM_PARAM],
        "put": {
            "summary": "Set the chat's slow mode",
            "description": "One message per `seconds` per participant (hosts never wait); a "
            "faster one is refused with `slow_mode` (429).",
            "operationId": "setSlowMode",
            "requestBody": _body(models.SlowModeRequest),
            "responses": _moderated("200", "Set; `seq` numbers `slow_mode_changed`."),
        },
    },
    "/api/rooms/{room_id}/chat/{seq}": {
        "parameters": [
            _ROOM_PARAM,
            {"name": "seq", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1}},
        ],
        "delete": {
            "summary": "Hide a chat message",
            "description": "Taken out of the history; everyone gets `chat_hidden`. 404 "
            "`not_found` when the history (the last 100) does not hold it.",
            "operationId": "hideChat",
            "responses": _moderated("200", "Hidden; `seq` numbers `chat_hidden`."),
        },
    },
}


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
                        _ref(models.RoomList), "Every room the store knows, closed ones included."
                    ),
                    **_ERRORS,
                },
            },
            "post": {
                "summary": "Create a room (idempotent for an existing id)",
                "operationId": "createRoom",
                "requestBody": _body(models.CreateRoom, required=False),
                "responses": {
                    "201": _json(
                        _ref(models.Room), "The room (the existing one if the id is taken)."
                    ),
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
                    "200": _json(_ref(models.RoomDetail), "The room now."),
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
                        _ref(models.ClosedRoom), "Closed; `seq` numbers the room_closed event."
                    ),
                    **_ERRORS,
                    **_NOT_FOUND,
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/status": {
            "parameters": [_ROOM_PARAM],
            "get": {
                "summary": "Whether a room exists",
                "description": "200 for every well-formed id, with `exists` false when no room "
                "has it (the web client asks this before joining from a link).",
                "operationId": "getRoomStatus",
                "responses": {
                    "200": _json(_ref(models.RoomStatus), "The room's status."),
                    **_ERRORS,
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
                "requestBody": _body(models.TokenRequest),
                "responses": {
                    "201": _json(_ref(models.Token), "A signed token (JWT)."),
                    **_ERRORS,
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/catalog": {
            "parameters": [_ROOM_PARAM],
            "get": {
                "summary": "Get the room's catalog",
                "operationId": "getCatalog",
                "responses": {
                    "200": _json(_ref(CatalogInfo), "Products in carousel order."),
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
                    "200": _json(_ref(models.CatalogLoaded), "Loaded."),
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
                "requestBody": _body(models.MoveCarousel),
                "responses": {
                    "200": _json(_ref(models.CarouselMoved), "Moved."),
                    **_ERRORS,
                    **_UNKNOWN_PRODUCT,
                    "409": _json(_ERROR, "`stale_version`; the body has `carousel`."),
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
                "requestBody": _body(models.OpenRound),
                "responses": {
                    "201": _json(_ref(models.RoundChange), "Opened."),
                    **_ERRORS,
                    **_UNKNOWN_PRODUCT,
                    **_GONE,
                },
            },
            "delete": {
                "summary": "Close the open vote round",
                "operationId": "closeVoteRound",
                "responses": {
                    "200": _json(_ref(models.RoundChange), "Closed."),
                    **_ERRORS,
                    **_NOT_FOUND,
                    "409": _json(_ERROR, "No round is open (`vote_closed`)."),
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
                    "200": _json(_ref(models.Tallies), "Results as of `seq`."),
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
                    "200": _json(_ref(models.Recap), "The recap."),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            },
        },
        "/api/rooms/{room_id}/checkout": {
            "parameters": [_ROOM_PARAM],
            "post": {
                "summary": "Get a checkout link",
                "description": "For the cart lines one participant added, or the whole cart: a "
                "Shopify cart permalink for a catalog with `shopify_shop`, else the catalog's "
                "`checkout_url_template` filled in. Publishes `checkout_started` (counted in "
                "the recap).",
                "operationId": "checkout",
                "requestBody": _body(models.CheckoutRequest, required=False),
                "responses": {
                    "200": _json(_ref(models.CheckoutLink), "The link."),
                    **_ERRORS,
                    **_NOT_FOUND,
                    "409": _json(_ERROR, "No link can be made (`no_checkout`): the catalog "
                                 "names no shop, or there are no such cart lines."),
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/offer": {
            "parameters": [_ROOM_PARAM],
            "put": {
                "summary": "Set the room's group offer",
                "description": "\"When `threshold` people have `product_id` in the cart, "
                "`percent` % off with `code`\", for `duration` seconds, replacing the room's "
                "offer. Everyone gets `offer_progress` (and `offer_reached` when it is, now or "
                "as the cart changes); while reached, checkout links holding the product carry "
                "the code.",
                "operationId": "setOffer",
                "requestBody": _body(models.OfferRequest),
                "responses": {
                    "200": _json(_ref(models.OfferSet), "Set."),
                    **_ERRORS,
                    **_UNKNOWN_PRODUCT,
                    **_GONE,
                },
            },
        },
        "/api/rooms/{room_id}/ratings": {
            "parameters": [_ROOM_PARAM],
            "post": {
                "summary": "Rate a product of the room's cart",
                "description": "1-5 stars for a product the room's cart held (`forbidden` "
                "otherwise), kept with the room's catalog (one per person per product: a "
                "re-rate replaces) and shown as \"friends rated\" to the people the rater "
                "shops with in later rooms of that catalog. Works after the room closed. "
                "Authorized either as the API (the bearer secret; name `participant_id`) or "
                "by the participant itself: `Authorization: Bearer <credential>` with the "
                "`resume` credential of its `joined` (or its join token) for this room.",
                "operationId": "rateProduct",
                "security": [{"bearer": []}, {"participant": []}],
                "requestBody": _body(models.RatingRequest),
                "responses": {
                    "200": _json(_ref(models.Rated), "Kept."),
                    **_ERRORS,
                    **_FORBIDDEN,
                    **_NOT_FOUND,
                },
            },
        },
        **_MODERATION,
        "/api/rooms/{room_id}/recording": {
            "parameters": [_ROOM_PARAM],
            "post": {
                "summary": "Start recording the room",
                "description": "Records every publisher of the room on this node, present and "
                "joining later, to WebM (VP8 + Opus, the forwarded packets muxed as they are) "
                "under COSHOP_RECORDING_DIR/<room>/<id>/: one file per publisher, each from a "
                "keyframe, plus manifest.json. Stops by DELETE or when the room's media empties. "
                "Besides the key, a join token of the room granting canModerate (a host's) "
                "authorises this route, GET and DELETE.",
                "operationId": "startRecording",
                "responses": {
                    "201": _json(_ref(models.RecordingStatus), "Recording."),
                    "404": _json(_ERROR, "No such room, or nobody is in it on this node."),
                    "409": _json(_ERROR, "Already recording (`recording`)."),
                    **_ERRORS,
                },
            },
            "get": {
                "summary": "The room's running recording",
                "operationId": "getRecording",
                "responses": {
                    "200": _json(_ref(models.RecordingStatus), "Recording."),
                    "404": _json(_ERROR, "No such room, or nobody is in it on this node."),
                    "409": _json(_ERROR, "Not recording (`recording`)."),
                    **_ERRORS,
                },
            },
            "delete": {
                "summary": "Stop recording the room",
                "description": "Closes every file and writes manifest.json; answers with it.",
                "operationId": "stopRecording",
                "responses": {
                    "200": _json(_ref(models.RecordingManifest), "Stopped: the manifest."),
                    "404": _json(_ERROR, "No such room, or nobody is in it on this node."),
                    "409": _json(_ERROR, "Not recording (`recording`)."),
                    **_ERRORS,
                },
            },
        },
        "/api/webhooks/deliveries": {
            "get": {
                "summary": "Read this node's webhook delivery log",
                "description": "The latest deliveries this node made (each event is delivered "
                "by one node: the one that claimed it), newest first: status, attempts, last "
                "HTTP status and error.",
                "operationId": "getWebhookDeliveries",
                "parameters": [{
                    "name": "limit", "in": "query", "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                }],
                "responses": {
                    "200": _json(_ref(models.WebhookDeliveries), "The log."),
                    **_ERRORS,
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1 JSON."}},
            }
        },
        "/api/node/drain": {
            "post": {
                "summary": "Drain this node",
                "description": "Like SIGTERM: the node takes no new rooms, sends its rooms' "
                "participants to other nodes (a `redirect` each; they come back as themselves) "
                "and exits once they are gone or after COSHOP_DRAIN_TIMEOUT. /healthz answers "
                "503 meanwhile.",
                "operationId": "drainNode",
                "responses": {
                    "202": _json(_ref(models.Drain), "Draining has begun."),
                    **_ERRORS,
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness and a summary of this node",
                "operationId": "health",
                "security": [],
                "responses": {
                    "200": _json(_ref(models.Health), "The node is up."),
                    "503": _json(_ref(models.Health), "The node is draining."),
                },
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
            },
            "participant": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A participant's resume credential (from `joined`) or join "
                "token for the room: the routes that say so accept it instead of the secret.",
            },
        },
        "responses": {
            "BadRequest": _json(_ERROR, "Invalid body or parameter (`bad_message`)."),
            "Unauthorized": _json(_ERROR, "Missing or wrong bearer key (`unauthorized`)."),
            "NotFound": _json(_ERROR, "No such room (`not_found`)."),
        },
        "schemas": schemas(),
    },
}
