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

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "coshop HTTP API",
        "version": "1",
        "description": "Rooms and join tokens. Realtime traffic uses the WebSocket protocol "
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
                    }
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
            "Health": {
                "type": "object",
                "required": ["status", "node_id", "store", "rooms", "peers", "connections"],
                "properties": {
                    "status": {"const": "ok"},
                    "node_id": {"type": "string"},
                    "store": {"enum": ["memory", "redis"]},
                    "rooms": {"type": "integer", "description": "Rooms with a socket here."},
                    "peers": {"type": "integer", "description": "Joined sockets here."},
                    "connections": {"type": "integer", "description": "Open sockets here."},
                },
            },
        },
    },
}
