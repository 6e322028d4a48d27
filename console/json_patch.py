"""RFC 6902 JSON Patch on the console's JSON values, through the maintained `jsonpatch` library.

The patch is applied in place (a deep copy of a 600 KB state costs tens of ms), so the caller hands
over a document it owns. `jsonpatch` applies operations one by one: when a later operation fails, the
earlier ones have already changed the document, so after a `PatchFailed` the caller must drop it and
go back to the last good state (kept as bytes).
"""

from __future__ import annotations

import jsonpatch
import jsonpointer

from console.frozen import frozen
from console.jsonvalue import JsonValue


@frozen
class PatchFailed:
    reason: str


def apply_patch(document: JsonValue, patch: JsonValue) -> JsonValue | PatchFailed:
    """`document` with `patch` applied (in place), or why it does not apply."""
    if not isinstance(patch, list):
        return PatchFailed(f"a JSON Patch is a list of operations, not {type(patch).__name__}")
    try:
        result: JsonValue = jsonpatch.apply_patch(document, patch, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        return PatchFailed(f"{type(exc).__name__}: {exc}")
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        # Malformed operations (no "op", a path that is not a string) surface as plain errors.
        return PatchFailed(f"malformed patch: {type(exc).__name__}: {exc}")
    return result
