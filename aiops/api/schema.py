"""OpenAPI post-processing: the error answers every operation can give.

drf-spectacular documents the success response; clients (and schemathesis, which
checks every answer against the schema) also need the errors: 400 with the
offending fields, 401/403 for authentication and permissions, 404, 405 and 429.
"""

from __future__ import annotations

ERROR = {
    "type": "object",
    "description": "An error: 'detail', or a message list per field that was wrong.",
    "additionalProperties": True,
    "properties": {"detail": {"type": "string"}},
}
STATUSES = {
    "400": "Invalid parameters or body; the body names each field and what it accepts.",
    "401": "Not authenticated.",
    "403": "Authenticated, but not allowed (writes need a staff user).",
    "404": "Not found.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Conflict with the resource's state.",
    "413": "Request body too large.",
    "415": "Unsupported media type.",
    "429": "Throttled; retry after the number of seconds in Retry-After.",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, description in STATUSES.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}
                            }
                        },
                    },
                )
    return result
