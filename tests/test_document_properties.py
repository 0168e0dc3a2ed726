"""Property tests of the documents area on memory://: whatever the body, path or patch, a write
either succeeds and reads back exactly what was applied (checked against a model of the patch
semantics), or raises a RoostError and changes nothing; a path's text parses back to itself;
index keys sort as the values they encode."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import roost
from roost import errors
from roost.documents import keys, paths

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_counter = itertools.count()

scalars = (st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
names = st.from_regex(r"[a-z_][a-z0-9_-]{0,6}", fullmatch=True)
bodies = st.dictionaries(names, json_values, max_size=6)


@pytest.fixture(scope="module")
def store():
    with roost.connect(f"memory://props{next(_counter)}", project="props") as s:
        s.documents.collection("c", history=3, indexed=["a", "b"])
        yield s


@SETTINGS
@given(body=bodies, key=names, value=json_values, extra=names)
def test_set_then_get_is_exactly_the_model(store, body, key, value, extra):
    d = store.documents
    doc_key = f"k{next(_counter)}"
    d.put("c", doc_key, body)
    expected = copy.deepcopy(body)
    ops: list[dict[str, Any]] = [{"op": "set", "path": key, "value": value}]
    expected[key] = value
    if isinstance(expected.get(extra), dict) or extra not in expected:
        ops.append({"op": "set", "path": f"{extra}.inner", "value": 1})
        expected.setdefault(extra, {})["inner"] = 1
    try:
        doc = d.patch("c", doc_key, ops)
    except errors.RoostError as exc:
        assert isinstance(exc, errors.InvalidArgument), exc
        assert d.get("c", doc_key).body == body  # refused: nothing changed
        return
    assert doc.body == expected
    assert json.dumps(d.get("c", doc_key).body) == json.dumps(expected)  # order and types too


@SETTINGS
@given(ops=st.lists(st.fixed_dictionaries({"op": st.sampled_from(["set", "merge", "remove", "append", "increment",
                                                                   "explode"]),
                                           "path": st.text(max_size=12) | names},
                                          optional={"value": json_values, "by": json_values,
                                                    "max_len": st.integers(-2, 5)}), max_size=4))
def test_any_patch_succeeds_or_changes_nothing(store, ops):
    d = store.documents
    doc_key = f"k{next(_counter)}"
    body = {"a": 1, "b": [1, 2], "o": {"x": "y"}}
    d.put("c", doc_key, body)
    try:
        d.patch("c", doc_key, ops)
    except errors.RoostError:
        assert d.get("c", doc_key).body == body and d.get("c", doc_key).version == 1


segment = st.one_of(names.map(lambda n: f".{n}"), st.integers(-5, 5).map(lambda i: f"[{i}]"),
                    st.tuples(names, st.text(max_size=6)).map(lambda t: f"[{t[0]}={json.dumps(t[1])}]"),
                    st.text(min_size=1, max_size=6).map(lambda k: f"[{json.dumps(k)}]"))


@SETTINGS
@given(first=names, rest=st.lists(segment, max_size=5))
def test_a_path_parses_and_shows_back_the_same(first, rest):
    text = first + "".join(rest)
    parsed = paths.parse(text)
    again = paths.parse(paths.show(parsed.segments))
    assert again.segments == parsed.segments


@SETTINGS
@given(text=st.text(max_size=30))
def test_any_text_is_a_path_or_a_clear_error(text):
    try:
        parsed = paths.parse(text)
    except errors.InvalidArgument as exc:
        assert "path" in str(exc)
        return
    assert paths.parse(paths.show(parsed.segments)).segments == parsed.segments


@SETTINGS
@given(a=scalars, b=scalars)
@example(a=-0.0, b=0.0)
@example(a=2**53, b=2**53 + 1.0)
@example(a=True, b=1)
def test_index_keys_sort_as_their_values(a, b):
    ka, kb = keys.encode(a), keys.encode(b)
    assert ka is not None and kb is not None

    def rank(x: Any) -> tuple[int, Any]:
        if x is None:
            return (0, 0)
        if isinstance(x, bool):
            return (1, x)
        if isinstance(x, int | float):
            return (2, float(x))
        return (3, x)

    ra, rb = rank(a), rank(b)
    if ra[0] == 3:  # strings: by code point, on the indexed prefix
        ra, rb = (3, a[: keys.STRING_KEY_MAX]), (rb[0], b[: keys.STRING_KEY_MAX] if isinstance(b, str) else rb[1])
    assert (ka < kb) == (ra < rb) and (ka == kb) == (ra == rb)
