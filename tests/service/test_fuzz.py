"""Schemathesis against the service's own OpenAPI schema, on a real server: no answer is a 500, every answer's
status, content type and body match what the schema declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.service.conftest import make_keys
from tests.service.server import Server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    db = str(Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.db")
    keys = make_keys(db)
    srv = Server(db)
    srv.start()
    yield srv, keys
    srv.stop()


def test_no_500_and_no_schema_violation(live: tuple[Server, dict[str, str]]) -> None:
    srv, keys = live
    schema = schemathesis.openapi.from_url(srv.base + "/openapi.json")
    failures: list[str] = []
    ran = 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case: Any) -> None:
            response = case.call_and_validate(base_url=srv.base, headers={"X-API-Key": keys["admin"]},
                                   checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                           response_schema_conformance])
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except Exception as e:  # collected per operation, reported together
            failures.append(f"{op.method.upper()} {op.path}: {str(e)[:600]}")
        ran += 1
    assert ran >= 30
    assert sum(statuses.values()) >= 10 * ran and 200 in statuses and 422 in statuses, statuses
    assert failures == [], "\n".join(failures)
