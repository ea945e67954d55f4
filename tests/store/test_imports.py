"""Idempotent imports, import records, and corrections and cancellations that keep the original."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tests.store.tamper import DAY1, DAY2, all_rows, write

from regsho.adapters.scenario import ScenarioError
from regsho.adapters.scenario_dump import dump_scenario
from regsho.store import AlreadyImported, Store, StoreError


def test_a_second_import_of_the_same_file_changes_nothing(store: Store, tmp_path: Path) -> None:
    f = write(tmp_path, "day1.yaml", DAY1)
    store.import_file(f, by="alice")
    before = all_rows(store)
    with pytest.raises(AlreadyImported, match=r"day1.yaml: already imported .* into book FIRM as record 1 .* by "
                                              r"alice; nothing written"):
        store.import_file(f)
    with pytest.raises(AlreadyImported):
        store.import_file(f, "ANOTHER_BOOK")
    assert all_rows(store) == before
    assert store.verify().ok


def test_each_import_is_recorded_with_its_hash_name_who_and_when(store: Store, tmp_path: Path) -> None:
    f = write(tmp_path, "day1.yaml", DAY1)
    store.import_file(f, by="alice")
    first = all_rows(store)[0]
    assert (first.kind, first.type, first.source) == ("import", "file", str(f))
    body = json.loads(first.body)
    assert body == {"sha256": hashlib.sha256(f.read_bytes()).hexdigest(), "name": str(f), "by": "alice",
                    "events": 3, "decisions": 1, "skipped": 0}
    assert first.recorded_at.startswith("20")


def test_by_defaults_to_the_os_user(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "desk-operator")
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    assert json.loads(all_rows(store)[0].body)["by"] == "desk-operator"


def test_events_already_in_the_book_are_recorded_once(store: Store, tmp_path: Path) -> None:
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    store.import_file(write(tmp_path, "day2.yaml", DAY2))
    before = all_rows(store)
    # The book exported and imported again (other bytes, same events): nothing new, nothing written.
    exported = json.dumps(dump_scenario(store.load_book("FIRM")))
    s = store.import_file(write(tmp_path, "export.json", exported))
    assert (s.events, s.skipped, s.first_seq) == (0, 5, None)
    assert all_rows(store) == before
    # A file that overlaps the book: the day-two events again (written differently) and one new one.
    overlap = DAY2.replace('"2024-06-04T09:45"', '"2024-06-04T09:45:00-04:00"') + (
        '  - {at: "2024-06-04T10:00", type: fill, order: O3, qty: 100}\n')
    s = store.import_file(write(tmp_path, "overlap.yaml", overlap))
    assert (s.events, s.skipped) == (1, 2)
    assert [e.event.at.hour for e in store.load_book("FIRM").events][-1] == 10
    assert store.verify().ok


def test_events_without_ids_are_matched_by_content_one_for_one(store: Store, tmp_path: Path) -> None:
    fill = '  - {at: "2024-06-03T09:47", type: fill, order: O1, qty: 100}\n'
    base = DAY1.replace("qty: 600}\n  - {at: \"2024-06-03T09:46\"", "qty: 600}\n  - {at: \"2024-06-03T09:46\"")
    one = base.replace("type: fill, order: O1, qty: 600", "type: fill, order: O1, qty: 100") + fill
    store.import_file(write(tmp_path, "one.yaml", one))
    # Two identical fills in the file and three in the new one: the third is new, the first two already recorded.
    again = one.replace("day one", "day one, re-sent") + fill
    s = store.import_file(write(tmp_path, "again.yaml", again))
    assert (s.events, s.skipped) == (1, 4)
    fills = [se.event for se in store.load_book("FIRM").events if type(se.event).__name__ == "Fill"]
    assert len(fills) == 3


def test_an_id_reused_with_other_content_is_bad_input(store: Store, tmp_path: Path) -> None:
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    changed = DAY1.replace("2024-06-03", "2024-06-04").replace("qty: 1000}", "qty: 2000}").replace("day one", "x")
    with pytest.raises(ScenarioError, match="locate id 'L1' is already used"):
        store.import_file(write(tmp_path, "changed.yaml", changed))


def _event_seq(store: Store, type_: str, n: int = 0) -> int:
    return [r.seq for r in all_rows(store) if r.kind == "event" and r.type == type_][n]


def test_a_correction_replaces_the_event_and_keeps_the_original(store: Store, tmp_path: Path) -> None:
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    fill = _event_seq(store, "fill")
    s = store.correct("FIRM", fill, {"at": "2024-06-03T09:46", "type": "fill", "order": "O1", "qty": 500},
                      why="keyed 600 for 500", by="alice")
    assert (s.target, s.action) == (fill, "correct")
    book = store.load_book("FIRM")
    assert [se.event.qty for se in book.events if type(se.event).__name__ == "Fill"] == [500]  # type: ignore[attr-defined]
    history = store.history("FIRM")
    original = next(r for r in history if r["seq"] == fill)
    assert original["body"]["qty"] == 600 and original["status"] == "corrected"
    amend = next(r for r in history if r["seq"] == s.seq)
    assert amend["kind"] == "amend" and amend["type"] == "correct"
    assert amend["body"]["target"] == {"seq": fill, "hash": next(r.hash for r in all_rows(store) if r.seq == fill)}
    assert (amend["body"]["by"], amend["body"]["why"], amend["body"]["event"]["qty"]) == ("alice",
                                                                                          "keyed 600 for 500", 500)
    assert store.verify().ok


def test_a_cancellation_leaves_the_event_out_of_the_replay(store: Store, tmp_path: Path) -> None:
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    fill = _event_seq(store, "fill")
    store.void("FIRM", fill, why="the fill was busted", by="bob")
    assert [type(se.event).__name__ for se in store.load_book("FIRM").events] == ["LocateGrant", "Order"]
    assert store.replay_book("FIRM").decision("O1") is not None
    status = {r["seq"]: r.get("status") for r in store.history("FIRM")}
    assert status[fill] == "voided"
    with pytest.raises(StoreError, match=f"record {fill} was already cancelled"):
        store.void("FIRM", fill, why="again")
    with pytest.raises(StoreError, match="a header record, not an event"):
        store.void("FIRM", 2, why="x")
    with pytest.raises(StoreError, match="say why"):
        store.void("FIRM", fill - 1, why=" ")


def test_a_correction_is_validated_with_the_book_before_it_is_written(store: Store, tmp_path: Path) -> None:
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    before = all_rows(store)
    order = _event_seq(store, "order")
    with pytest.raises(ScenarioError, match="must be a positive quantity"):
        store.correct("FIRM", order, {"at": "2024-06-03T09:45", "type": "order", "id": "O1", "account": "A1",
                                      "symbol": "XYZ", "side": "sell_short", "qty": -1}, why="x")
    # Cancelling the locate leaves the order naming an unknown locate.
    with pytest.raises(ScenarioError, match="unknown locate id 'L1'"):
        store.void("FIRM", _event_seq(store, "locate"), why="x")
    assert all_rows(store) == before


def test_a_corrected_book_still_grows_and_replays(store: Store, tmp_path: Path) -> None:
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    store.void("FIRM", _event_seq(store, "fill"), why="busted")
    s = store.import_file(write(tmp_path, "day2.yaml", DAY2))
    assert s.events == 2
    assert store.replay_book("FIRM").decision("O3") is not None
    # Re-importing day one's events records nothing, the cancelled fill included.
    s = store.import_file(write(tmp_path, "day1b.yaml", DAY1.replace("day one", "day one again")))
    assert s.events == 0 and s.skipped == 3
