"""``bulk``: the collector off during bulk work, on again after, and a large bulk's survivors frozen; documents
written piece by piece (``LazyList``)."""

from __future__ import annotations

import contextlib
import gc
import io
import json
from collections.abc import Iterator
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from regsho.adapters import output
from regsho.adapters.output import FREEZE_AFTER, LazyList, bulk, write_json


def test_collector_off_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with bulk():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_small_bulk_leaves_its_objects_to_the_collector() -> None:
    gc.collect()
    before = gc.get_freeze_count()
    with bulk():
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == before
    assert len(kept) == 1000


def test_large_bulk_freezes_its_survivors_and_they_are_still_freed() -> None:
    gc.collect()
    before = gc.get_freeze_count()
    try:
        with bulk():
            kept = [[i] for i in range(FREEZE_AFTER + 1000)]
        assert gc.get_freeze_count() >= before + FREEZE_AFTER
        assert gc.isenabled()
        del kept  # reference counting frees frozen objects too
    finally:
        gc.unfreeze()


def test_collector_left_off_if_it_was_off() -> None:
    gc.disable()
    try:
        with bulk():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- a document written piece by piece ----------------------------------------------------------------------

#: floats that need no exponent: one that does is written in orjson's form (``1e-6`` for ``1e-06``), the same number
_floats = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f == 0 or 1e-4 <= abs(f) < 1e16)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _floats | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(head=st.dictionaries(st.text(max_size=5), _json, max_size=3), lists=st.lists(st.lists(_json, max_size=9),
                                                                                     max_size=3),
       chunk=st.integers(1, 4), text_stream=st.booleans())
def test_lazy_lists_are_written_as_the_standard_library_writes_the_lists(
        head: dict[str, object], lists: list[list[object]], chunk: int, text_stream: bool) -> None:
    doc: dict[str, object] = dict(head)
    lazy: dict[str, object] = dict(head)
    for i, items in enumerate(lists):
        doc[f"list{i}"] = items
        lazy[f"list{i}"] = LazyList(iter(items))
    with _chunk(chunk):
        if text_stream:
            out: io.StringIO | io.TextIOWrapper = io.StringIO()
            write_json(lazy, out)
            got = out.getvalue()
        else:
            raw = io.BytesIO()
            out = io.TextIOWrapper(raw, encoding="utf-8")
            write_json(lazy, out)
            out.flush()
            got = raw.getvalue().decode("ascii")
    assert got == json.dumps(doc, indent=2) + "\n"


def test_a_replay_written_lazily_is_its_json_byte_for_byte() -> None:
    from regsho.adapters.scenario import load
    from regsho.app.replay import replay

    root = Path(__file__).resolve().parents[2] / "src" / "regsho" / "examples"
    for f in sorted(root.glob("*.yaml")):
        r = replay(load(f))
        with _chunk(3):
            buf = io.StringIO()
            write_json(r.lazy_json(), buf)
        assert buf.getvalue() == json.dumps(r.to_json(), indent=2) + "\n"


@contextlib.contextmanager
def _chunk(n: int) -> Iterator[None]:
    old = output.CHUNK
    output.CHUNK = n  # type: ignore[misc]
    try:
        yield
    finally:
        output.CHUNK = old  # type: ignore[misc]


def test_a_float_with_an_exponent_is_the_same_number_in_orjson_form() -> None:
    for doc in ({"f": 6.8e-06, "g": 1e16}, {"f": 6.8e-06, "l": LazyList([1e-05, 2.5e20])}):
        buf = io.StringIO()
        write_json(doc, buf)
        plain = {k: list(v.items) if isinstance(v, LazyList) else v for k, v in doc.items()}
        assert json.loads(buf.getvalue()) == plain
    buf = io.StringIO()
    write_json({"f": 6.8e-06}, buf)
    assert buf.getvalue() == '{\n  "f": 6.8e-6\n}\n'
