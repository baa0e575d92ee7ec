"""The OpenAPI schema, the docs page, and a property-based run of the live API against it."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

#: Every operation of the API: (path, method).
OPERATIONS = {
    ("/api/teams/", "get"),
    ("/api/teams/{id}/", "get"),
    ("/api/sites/", "get"),
    ("/api/sites/{id}/", "get"),
    ("/api/stripe-accounts/", "get"),
    ("/api/stripe-accounts/{id}/", "get"),
    ("/api/stripe-accounts/{id}/", "put"),
    ("/api/stripe-accounts/{id}/", "patch"),
    ("/api/stripe-accounts/{id}/disconnect/", "post"),
    ("/api/stripe-accounts/{id}/backfill/", "post"),
    ("/api/stripe-accounts/{account_pk}/events/", "get"),
    ("/api/stripe-accounts/{account_pk}/events/{stripe_event_id}/", "get"),
    ("/api/stripe-accounts/{account_pk}/events/{stripe_event_id}/replay/", "post"),
    ("/api/subscribers/", "get"),
    ("/api/subscribers/{id}/", "get"),
    ("/api/subscribers/export/", "post"),
    ("/api/subscribers/erase/", "post"),
}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_openapi_3_and_valid(client, schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "bento-stripe API"
    yaml_body = client.get("/api/schema/")
    assert yaml_body.status_code == 200
    assert yaml.safe_load(yaml_body.content)["paths"] == schema["paths"]


def test_schema_describes_every_endpoint_and_nothing_else(schema):
    found = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert found == OPERATIONS


def test_every_operation_documents_its_errors_with_the_one_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"status", "code", "detail", "fields"}
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for status in ("400", "401", "403", "404"):
                content = op["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (path, status)
            if method in ("put", "patch", "post"):
                assert "415" in op["responses"], (path, method)
            assert any(s.startswith("2") for s in op["responses"]), (path, method)
    replay = schema["paths"]["/api/stripe-accounts/{account_pk}/events/{stripe_event_id}/replay/"]
    assert "409" in replay["post"]["responses"]


def test_schema_documents_token_and_session_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    assert (
        schemes["tokenAuth"]["in"] == "header" and schemes["tokenAuth"]["name"] == "Authorization"
    )
    assert "cookieAuth" in schemes


def test_lists_are_paginated_and_filtered_in_the_schema(schema):
    events = schema["paths"]["/api/stripe-accounts/{account_pk}/events/"]["get"]
    names = {p["name"] for p in events["parameters"]}
    assert {"page", "page_size", "status", "type", "delivery_status", "account_pk"} <= names
    ok = events["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("PaginatedStripeEventList")


def test_docs_page_is_served_from_local_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    # No asset from elsewhere: no absolute or protocol-relative address anywhere (a bare
    # "cdn" may occur inside the page's random CSRF token).
    assert "https://" not in page and "http://" not in page
    assert not re.search(r"""["'(]//""", page)
    assert "/api/schema/" in page


def test_the_management_command_finds_no_warning(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(out),
        "--custom-settings",
        "bento_stripe.api.schema_settings.SCHEMA_SETTINGS",
    )
    assert "/api/stripe-accounts/{account_pk}/events/" in out.read_text()


# --- Property-based: schemathesis against the live server, from the served schema ---

#: Generated cases per operation, generation mode and id source (keeps the run near a minute).
EXAMPLES = 12


def _known_ids(world) -> dict[str, dict]:
    """Path parameters naming real objects of the token user's team, per path prefix."""
    account = world["account"]
    return {
        "/api/teams/": {"id": account.team_id},
        "/api/sites/": {"id": account.site_id},
        "/api/stripe-accounts/{id}": {"id": account.pk},
        "/api/stripe-accounts/{account_pk}": {
            "account_pk": account.pk,
            "stripe_event_id": world["event"].stripe_event_id,
        },
        "/api/subscribers/": {"id": world["subscriber"].pk},
    }


def run_cases(strategy, sources: int, call, excluded) -> None:
    """Run ``call(case, excluded)`` on a bounded number of cases drawn from ``strategy``."""
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=EXAMPLES * sources,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=strategy)
    def check(case):
        call(case, excluded)

    check()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_live_api_never_5xx_and_never_contradicts_its_schema(live_server, world, request):
    schemathesis = pytest.importorskip("schemathesis")
    import requests
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    from .api_helpers import token_for

    served = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=10)
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(served.json())
    token = token_for(world["owner"])
    headers = {"Authorization": f"Token {token}"}
    known = _known_ids(world)
    # Closed at the end: a kept-alive connection keeps its server thread, and that thread's
    # database connection, past the test (PostgreSQL then cannot drop the test database).
    session = requests.Session()
    request.addfinalizer(session.close)

    def call(case, excluded):
        response = case.call_and_validate(
            base_url=live_server.url, headers=headers, session=session, excluded_checks=excluded
        )
        statuses[(case.method.upper(), case.path)].append(response.status_code)

    tried = []
    statuses: dict[tuple[str, str], list[int]] = defaultdict(list)
    for result in schema.get_all_operations():
        operation = result.ok()
        fixed = next(
            (ids for prefix, ids in known.items() if operation.path.startswith(prefix)), None
        )
        needed = {p.name for p in operation.path_parameters}
        # A schema-valid body may still name a site that is not the connection's team's
        # (or not at all): 400 is the right answer there, so writes skip "valid data is
        # accepted". Reads keep it: any schema-valid query must be answered.
        excluded = [positive_data_acceptance] if operation.method.upper() != "GET" else []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(generation_mode=mode)]
            if fixed and needed:
                ids = {k: v for k, v in fixed.items() if k in needed}
                strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=ids))

            run_cases(st.one_of(strategies), len(strategies), call, excluded)
            tried.append((operation.method.upper(), operation.path, mode.value))
    assert len(tried) == 2 * len(OPERATIONS)
    # The run reached real objects, not only 404s: every read answered 200 at least once.
    for (method, path), seen in sorted(statuses.items()):
        print(f"{method:5} {path:70} {len(seen):4} requests, statuses {sorted(set(seen))}")
        if method == "GET":
            assert 200 in seen, (path, sorted(set(seen)))
    assert sum(len(seen) for seen in statuses.values()) >= EXAMPLES * len(OPERATIONS)


def test_a_missing_api_app_is_a_system_check_error(settings):
    from bento_stripe.checks import check_api_apps

    assert check_api_apps() == []
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "knox"]
    (error,) = check_api_apps()
    assert error.id == "bento_stripe.E027" and "'knox'" in error.msg
