"""Body validation: a JSON Schema, given as a dict or taken from a pydantic v2 model class.

The collection stores the JSON Schema, so every process validates a write the same way, whether
or not it has the model class (a CLI call, an agent in another language's process). A process that
declared the collection with a model also gets model instances back (``Document.model``).

``unknown="reject"`` is the schema made strict: every object schema that names its
``properties`` and says nothing of others gets ``additionalProperties: false``. With the default
``"keep"``, keys the schema does not name are stored and come back unchanged.

``jsonschema`` (the reference implementation, kept by the JSON Schema organisation) is imported
only when a collection has a schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from roost import _validate as v
from roost import errors
from roost.documents import paths

SCHEMA_MAX_BYTES = 256 * 1024


def from_declaration(schema: object) -> tuple[dict[str, Any] | None, Any]:
    """The JSON Schema to store, and the model class (or None) this process will return."""
    if schema is None:
        return None, None
    if isinstance(schema, type) and hasattr(schema, "model_json_schema") and hasattr(schema, "model_validate"):
        return dict(schema.model_json_schema()), schema
    if not isinstance(schema, Mapping):
        raise errors.InvalidArgument("schema must be a JSON Schema (a dict) or a pydantic v2 model class, not "
                                     f"{type(schema).__name__}")
    text = v.to_json(dict(schema), "schema", SCHEMA_MAX_BYTES)
    checked: dict[str, Any] = v.parse_json(text, "schema")
    _validator(text, False)  # refuses a schema that is not one
    return checked, None


def strict(schema: Any) -> Any:
    """The schema with ``additionalProperties: false`` wherever it lists properties and is silent
    about others (for ``unknown="reject"``)."""
    if isinstance(schema, dict):
        out = {k: strict(x) for k, x in schema.items()}
        if "properties" in out and "additionalProperties" not in out and "patternProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(x) for x in schema]
    return schema


@lru_cache(maxsize=64)
def _validator(text: str, reject_unknown: bool) -> Any:
    import json

    import jsonschema

    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise errors.InvalidArgument(f"schema is not a valid JSON Schema: {exc.message}") from None
    return cls(strict(schema) if reject_unknown else schema)


def validate(schema_text: str | None, reject_unknown: bool, body: Any, what: str) -> None:
    """Refuse a body that does not fit the collection's schema, naming the path; without a schema,
    ``reject_unknown`` has nothing to compare with and every body fits."""
    if schema_text is None:
        return
    from jsonschema.exceptions import best_match

    error = best_match(_validator(schema_text, reject_unknown).iter_errors(body))
    if error is None:
        return
    where = paths.show(list(error.absolute_path))
    message = error.message
    if error.validator == "additionalProperties" and not error.schema.get("additionalProperties", True):
        message = f"{message} (the collection keeps no fields its schema does not name: unknown='reject')"
    raise errors.SchemaViolation(f"{what}: {where}: {message}")
