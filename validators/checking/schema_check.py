"""Validate each record against the JSON Schema files and phrase every error for a person.

``jsonschema`` reports paths such as ``messages/2/content``; we turn those into
"Example 12 (row 14), message 3, `content`: must be text (a string), not a number.
Write the text in that cell."  Codes are stable so tests and tools can rely on them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..model import Example, Finding, finding

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

SCHEMA_FILES = {"sft": "chat_sft_line.schema.json", "dpo": "dpo_line.schema.json"}
_TYPE_WORDS = {
    "string": "text (a string)", "array": "a list", "object": "an object", "boolean": "true or false",
    "integer": "a whole number", "number": "a number", "null": "null",
}


@cache
def schema(kind: str) -> dict[str, Any]:
    return json.loads(resources.files("validators").joinpath("schemas", SCHEMA_FILES[kind]).read_text("utf-8"))


@cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    import jsonschema  # here, not at the top: 40 ms that a large check spends in its forked child, not before the fork

    return jsonschema.Draft202012Validator(schema(kind))


# Keys whose string values the schema constrains (enums, patterns, consts); every other
# string only needs to be a string, so the skeleton replaces it by its emptiness.
_SIGNIFICANT = frozenset({"role", "type", "name", "detail", "url", "id", "tool_call_id"})


def skeleton(value: Any, key: str = "") -> Any:
    """A hashable stand-in for ``value`` that the schema judges exactly like the value.

    Records that share a skeleton get the same schema verdict, so jsonschema runs once per
    distinct shape instead of once per example (100k examples have a handful of shapes).
    """
    if isinstance(value, str):
        if key in _SIGNIFICANT:
            return ("s", value if key != "url" else value[:40])
        return ("s", "x" if value else "")
    if isinstance(value, dict):
        return ("d", tuple((k, skeleton(v, k)) for k, v in value.items()))
    if isinstance(value, list):
        return ("l", tuple(skeleton(v, key) for v in value))
    if isinstance(value, bool) or value is None:
        return ("c", value)
    if isinstance(value, (int, float)):
        return ("n", type(value).__name__, value)
    return ("o", repr(value))


_FLAT_KEYS = frozenset({"role", "content", "weight", "name"})
_SCALARS = (str, int, float, bool, type(None))


def shape_key(record: Any) -> Any:
    """:func:`skeleton`, with a fast path for the common plain-text chat record.

    A record that is only ``{"messages": [...]}`` whose messages hold scalar ``role``,
    ``content``, ``weight`` and ``name`` values is keyed directly; anything else (tool
    calls, content parts, extra keys) takes the general skeleton.
    """
    msgs = record.get("messages") if type(record) is dict and len(record) == 1 else None
    if type(msgs) is not list:
        return skeleton(record)
    parts: list[tuple[Any, ...]] = []
    add = parts.append
    for m in msgs:
        if type(m) is dict and len(m) == 2:  # {"role": str, "content": str} in either order: its role and whether it is empty decide
            role, content = m.get("role"), m.get("content")
            if type(role) is str and type(content) is str:
                add((role, content == ""))
                continue
        if type(m) is not dict or not _FLAT_KEYS.issuperset(m):
            return skeleton(record)
        content, role, weight, name = m.get("content"), m.get("role"), m.get("weight"), m.get("name")
        if not (type(content) in _SCALARS and type(role) in _SCALARS and type(weight) in _SCALARS and type(name) in _SCALARS):
            return skeleton(record)
        empty = content == "" if type(content) is str else (type(content).__name__, content)
        add((tuple(m), type(role).__name__, role, empty, type(weight).__name__, weight, name))
    return ("flat", tuple(parts))


def check_schema(examples: Iterable[Example]) -> list[Finding]:
    """Schema findings for every example that has a record."""
    out: list[Finding] = []
    verdicts: dict[tuple[str, Any], bool] = {}
    items = _ItemCache()
    for ex in examples:
        if ex.record is None or ex.dropped:
            continue
        rec = ex.record
        msgs = rec.get("messages") if ex.kind == "sft" and type(rec) is dict and len(rec) == 1 else None
        if (type(msgs) is not list or len(msgs) > LONG_LIST) and _long_lists(ex):  # only a short "messages": no long list
            errors = _split_errors(ex, verdicts, items)
        else:
            v = validator(ex.kind)
            shape = (ex.kind, shape_key(ex.record))
            ok = verdicts.get(shape)
            if ok is None:
                ok = verdicts[shape] = v.is_valid(ex.record)
            if ok:
                continue
            errors = list(v.iter_errors(ex.record))
        out += _listed(ex, sorted(errors, key=lambda e: list(map(str, e.absolute_path))))
    return out


MAX_LISTED = 500  # schema findings listed per example; the rest are counted in one more


def _listed(ex: Example, errors: list[Any]) -> list[Finding]:
    """One finding per distinct problem, in path order; an example with thousands of bad
    messages gets the first :data:`MAX_LISTED` and a count of the rest, not a 100,000-line report."""
    out: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    for n, err in enumerate(errors):
        if len(out) >= MAX_LISTED:
            out.append(finding("error", "more_schema_errors",
                               f"has {len(errors) - n:,} more problems of the same kinds further on (the first {MAX_LISTED} are listed). Fix those and check again.", ex))
            break
        f = translate(err, ex)
        sig = (f.code, f.message_index, f.key)
        if sig not in seen:
            seen.add(sig)
            out.append(f)
    return out


# ---------------------------------------------------------------- long lists, item by item
#
# jsonschema costs about 0.5 ms per message, and a record's shape is new whenever its
# message count is: one example of 100,000 messages took 54 s.  The schemas constrain
# these arrays only through ``items`` (and ``minItems``/``maxItems``), so a record is valid
# exactly when the record with each long list cut to placeholders is valid and every item
# is valid on its own.  Items are judged once per distinct shape, so the cost is linear in
# the record with a small constant, valid or not.

LONG_LIST = 32
# (path to the array, $defs entry of its items, a valid placeholder item) per record kind
_ARRAYS: dict[str, tuple[tuple[tuple[str, ...], str, dict[str, Any]], ...]] = {
    "sft": (
        (("messages",), "message", {"role": "user", "content": "x"}),
        (("tools",), "tool", {"type": "function", "function": {"name": "f"}}),
        (("functions",), "function", {"name": "f"}),
    ),
    "dpo": ((("input", "messages"), "input_message", {"role": "user", "content": "x"}),),
}


@dataclass
class _Err:
    """The parts of a jsonschema error that :func:`translate` reads, re-rooted at the record."""

    absolute_path: list[Any]
    validator: str
    validator_value: Any
    instance: Any
    message: str
    schema: Any


@cache
def item_validator(kind: str, definition: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": schema(kind)["$defs"]})


class _ItemCache:
    """Errors of one item shape (relative path, keyword, value, message, schema), computed once."""

    def __init__(self) -> None:
        self.errors: dict[tuple[str, str, Any], list[tuple[tuple[Any, ...], str, Any, str, Any]]] = {}

    def errors_of(self, kind: str, definition: str, item: Any) -> list[tuple[tuple[Any, ...], str, Any, str, Any]]:
        key = (kind, definition, _item_key(item))
        found = self.errors.get(key)
        if found is None:
            v = item_validator(kind, definition)
            found = [] if v.is_valid(item) else [
                (tuple(e.absolute_path), e.validator, e.validator_value, e.message, e.schema) for e in v.iter_errors(item)
            ]
            self.errors[key] = found
        return found


_ENUM_KEYS = frozenset({"role", "type", "detail"})  # string values the schemas compare to enums/consts
_PATTERNS = {"name": re.compile(r"^[a-zA-Z0-9_-]{1,64}$"), "url": re.compile(r"^(https://|data:image/(png|jpeg|jpg|gif|webp);base64,)")}


@cache
def _schema_words() -> tuple[frozenset[str], frozenset[str]]:
    """(every property name, every string enum/const value) of both schemas."""
    names: set[str] = set()
    values: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}) if isinstance(node.get("properties"), dict) else ())
            names.update(k for k in node.get("required", ()) if isinstance(k, str))
            values.update(v for v in node.get("enum", ()) if isinstance(v, str))
            if isinstance(node.get("const"), str):
                values.add(node["const"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for kind in SCHEMA_FILES:
        walk(schema(kind))
    return frozenset(names), frozenset(values)


def _item_key(item: Any, key: str = "") -> Any:
    """A key under which every item the schema judges alike falls together, so that 100,000
    messages with distinct names, roles, numbers or extra keys still take a handful of
    schema runs: a string is reduced to what its rule tests (an allowed enum value, a
    pattern match, emptiness), a number to its type (and 0/1 for ``weight``), an unknown
    key to ``?``.  Errors are re-read from each item itself (:func:`_split_errors`)."""
    if isinstance(item, str):
        if key in _ENUM_KEYS:
            return ("s", item if item in _schema_words()[1] else "?")
        if key in _PATTERNS:
            return ("s", _PATTERNS[key].search(item) is not None)
        return ("s", bool(item))
    if isinstance(item, dict):
        known = _schema_words()[0]
        return ("d", tuple((k if k in known else "?", _item_key(v, k if k in known else "?")) for k, v in item.items()))
    if isinstance(item, list):
        return ("l", tuple(_item_key(v, key) for v in item))
    if isinstance(item, bool) or item is None:
        return ("c", item)
    if isinstance(item, (int, float)):
        return ("n", type(item).__name__, item in (0, 1) if key == "weight" else None)
    return ("o", type(item).__name__)


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _long_lists(ex: Example) -> bool:
    rec = ex.record
    for path, _definition, _placeholder in _ARRAYS.get(ex.kind, ()):
        try:
            value = _get(rec, path)
        except (KeyError, TypeError, IndexError):
            continue
        if type(value) is list and len(value) > LONG_LIST:
            return True
    return False


def _split_errors(ex: Example, verdicts: dict[tuple[str, Any], bool], items: _ItemCache) -> list[Any]:
    """All schema errors of a record with long lists: the cut record's, then each item's."""
    rec = ex.record
    cut = _shallow_copy(rec)
    errors: list[Any] = []
    replaced: set[tuple[str, ...]] = set()
    for path, definition, placeholder in _ARRAYS[ex.kind]:
        try:
            value = _get(rec, path)
        except (KeyError, TypeError, IndexError):
            continue
        if type(value) is not list or not value:
            continue
        parent = _get(cut, path[:-1])
        parent[path[-1]] = [placeholder] * min(len(value), 200)  # keeps minItems/maxItems verdicts
        replaced.add(path)
        for i, item in enumerate(value):
            for rel, kw, kw_value, message, sub in items.errors_of(ex.kind, definition, item):
                errors.append(_Err([*path, i, *rel], kw, kw_value, _get(item, rel), message, sub))
    v = validator(ex.kind)
    shape = (ex.kind, skeleton(cut))
    ok = verdicts.get(shape)
    if ok is None:
        ok = verdicts[shape] = v.is_valid(cut)
    if not ok:
        for e in v.iter_errors(cut):
            where = tuple(e.absolute_path)
            real = _get(rec, where) if where in replaced else e.instance  # not the placeholders
            errors.append(_Err(list(where), e.validator, e.validator_value, real, e.message, e.schema))
    return errors


def _shallow_copy(rec: Any) -> Any:
    """The record with its top-level and ``input`` objects copied (the lists are replaced there)."""
    out = dict(rec)
    if isinstance(out.get("input"), dict):
        out["input"] = dict(out["input"])
    return out


def locate(path: list[Any], kind: str) -> tuple[int | None, str | None]:
    """(1-based message index, key) from a schema error path."""
    if kind == "dpo":
        if len(path) >= 3 and path[0] == "input" and path[1] == "messages" and isinstance(path[2], int):
            return path[2] + 1, ".".join(map(str, path[3:])) or None
        if path and path[0] in ("preferred_output", "non_preferred_output"):
            return None, ".".join(str(p) if not isinstance(p, int) else f"[{p + 1}]" for p in path).replace(".[", "[")
        return None, ".".join(map(str, path)) or None
    if len(path) >= 2 and path[0] == "messages" and isinstance(path[1], int):
        rest = [str(p) if not isinstance(p, int) else f"[{p + 1}]" for p in path[2:]]
        return path[1] + 1, ".".join(rest).replace(".[", "[") or None
    return None, ".".join(str(p) for p in path) or None


def translate(err: ValidationError | _Err, ex: Example) -> Finding:
    """One jsonschema error → one plain finding."""
    path = list(err.absolute_path)
    msg_index, key = locate(path, ex.kind)
    kw = err.validator
    inst = err.instance
    if kw == "required":
        missing = str(err.message).split("'")[1] if "'" in err.message else "a key"
        at_key = f"{key}.{missing}" if key else missing
        if missing == "content" and msg_index:
            text = "has no `content`. Write the message text or drop the message."
        elif missing == "messages":
            text = "has no `messages` list. Each line needs {\"messages\": [...]}."
        elif missing == "tool_call_id":
            text = "is a tool message without `tool_call_id`. Add the id of the tool call it answers."
        else:
            text = f"is missing `{missing}`. Add it."
        return finding("error", f"missing_{missing}", text, ex, msg_index, at_key)
    if kw == "additionalProperties":
        extras = _extra_keys(err)
        if "weight" in extras and msg_index:
            return finding("error", "weight_not_assistant", "`weight` is only allowed on assistant messages. Remove it.", ex, msg_index, "weight")
        names = ", ".join(f"`{e}`" for e in extras)
        where = "the example" if not path else "this object"
        return finding("error", "extra_key", f"{where} has a key the API rejects: {names}. Remove it or map it to a role.", ex, msg_index, key or (extras[0] if extras else None))
    if kw == "enum" and path and path[-1] == "role":
        return finding("error", "invalid_role", f"role {inst!r} is not allowed. Use one of: {', '.join(map(str, err.validator_value))}.", ex, msg_index, "role")
    if kw == "const" and path and path[-1] == "role":
        return finding("error", "invalid_role", f"role {inst!r} is not allowed here; it must be {err.validator_value!r}.", ex, msg_index, key)
    if kw == "enum" and key == "weight":
        return finding("error", "invalid_weight", f"`weight` is {inst!r}; it must be 0 (do not train on this reply) or 1.", ex, msg_index, key)
    if kw == "type" or (kw in ("oneOf", "anyOf") and not isinstance(inst, (list, dict))):
        want = err.validator_value if kw == "type" else "string"
        wanted = _TYPE_WORDS.get(want, str(want)) if isinstance(want, str) else " or ".join(_TYPE_WORDS.get(w, w) for w in want)
        got = _describe(inst)
        return finding("error", "wrong_type", f"must be {wanted}, not {got}. Write it as {wanted}.", ex, msg_index, key)
    if kw == "minItems" and isinstance(inst, list) and not inst:
        return finding("error", "empty_list", "is an empty list. Add at least one item or remove the key.", ex, msg_index, key)
    if kw == "maxItems" and key and "output" in key:
        return finding("error", "too_many_outputs", "must hold exactly one assistant message.", ex, msg_index, key)
    if kw == "maxItems" and isinstance(inst, list):
        return finding("error", "schema_maxItems", f"holds {len(inst):,} items; at most {err.validator_value} are allowed. Remove some.", ex, msg_index, key)
    if kw == "pattern" and key and key.endswith("name"):
        return finding("error", "invalid_name", f"name {inst!r} may use only a-z, A-Z, 0-9, _ and -, at most 64 characters.", ex, msg_index, key)
    if kw == "pattern" and key and key.endswith("url"):
        return finding("error", "invalid_image_url", "image URL must start with https:// or be a base64 data:image URL.", ex, msg_index, key)
    if kw in ("oneOf", "anyOf"):
        return finding("error", "invalid_content", "is not valid content: use text, or a list of {\"type\": \"text\", \"text\": ...} parts (image parts only in user messages).", ex, msg_index, key)
    return finding("error", f"schema_{kw}", f"{err.message}.", ex, msg_index, key)


def _extra_keys(err: ValidationError | _Err) -> list[str]:
    allowed = set(err.schema.get("properties", {}))
    return [k for k in err.instance if k not in allowed] if isinstance(err.instance, dict) else []


def _describe(value: Any) -> str:
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value)[:40]
