"""The JSON API fuzzed against its own OpenAPI schema (schemathesis), every check on.

Runs in-process over the ASGI app on the tiny synthetic atlas (tests/web_fixture.py), with a
bounded number of examples per operation so the whole file takes a minute or two. Any
server error, undocumented status code or content type, response that breaks its schema,
or accepted invalid input fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402

from townhall.web.app import create_app  # noqa: E402
from web_fixture import make_tiny_atlas  # noqa: E402

#: Examples per API operation: enough to reach every parameter's edge cases, bounded in time.
EXAMPLES = 25


def _app():
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="townhall-schema-"))
    return create_app(make_tiny_atlas(folder / "atlas.duckdb"))


APP = _app()
#: Every check on. One setting: a schema-valid string that names no place or level (`/api/place/0/0`)
#: is answered 400 or 404 with a message, which is the contract (documented on every route), so
#: positive_data_acceptance counts 400 among the answers it accepts, beside its defaults.
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]}}})
#: The wings' routes read tables the tiny atlas does not have (elections, facilities, finance):
#: they are left out here, and every route is fuzzed again on the session's real atlas below.
WINGS = r"^/api/(infrastructure|funding|elections|evidence|measures|maps)"
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG).exclude(path_regex=WINGS)
load_all_checks()
#: Every check schemathesis has (the stateful ones simply find no links to follow here).
ALL_CHECKS = list(CHECKS.get_all())


def test_every_check_is_on() -> None:
    names = {c.__name__ for c in ALL_CHECKS}
    assert {"not_a_server_error", "status_code_conformance", "content_type_conformance",
            "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
            "positive_data_acceptance", "unsupported_method", "missing_required_header"} <= names


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case) -> None:
    case.call_and_validate(checks=ALL_CHECKS)


#: Examples per operation on the real atlas (each answer reads more than on the tiny one).
REAL_EXAMPLES = 8


@pytest.fixture(scope="module")
def real_schema(atlas_path: Path):
    from townhall.web.measures import warm

    app = create_app(atlas_path)
    # What a server works out in its warm-up (the analyses behind the front page, the left-behind
    # index of every small area, the evidence report: a minute or two, once per atlas) is made
    # first, as on a running server: the fuzzer's requests time out at 10 s.
    warm(app)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


real = schemathesis.pytest.from_fixture("real_schema")


@real.parametrize()
@settings(max_examples=REAL_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_route_keeps_its_contract_on_the_real_atlas(case) -> None:
    case.call_and_validate(checks=ALL_CHECKS)


def test_schema_documents_errors_and_csv() -> None:
    doc = APP.openapi()
    values = doc["paths"]["/api/values/{indicator}"]["get"]["responses"]
    assert {"200", "300", "400", "404", "503"} <= set(values)
    assert "text/csv" in values["200"]["content"] and "application/json" in values["200"]["content"]
    gaps = doc["paths"]["/api/town/{code}/gaps"]["get"]["responses"]
    assert {"400", "404"} <= set(gaps) and "text/csv" in gaps["200"]["content"]
