"""The API against its own schema, with generated requests (schemathesis): never a 5xx, and every
answer (status, content type, headers, body) is one the schema documents.

Bounded for CI (PHANTOMS_FUZZ_EXAMPLES examples per operation, 10 by default); `make fuzz` runs
it with many more. Three callers: nobody, an integration token, and a token holding every role.
"""

import os

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services.tokens import issue_token
from phantoms.wsgi import application
from pipeline.models import Asset
from tests.factories import make_asset, make_channel, make_failed_asset, make_letter, make_team

EXAMPLES = int(os.environ.get("PHANTOMS_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))


@pytest.fixture
def world(db, settings):
    """A team with channels, assets in several states and dead letters; throttling off (it is tested
    on its own) so every generated request reaches its view."""
    settings.API_THROTTLE_RATES = {}
    # Requests go straight to the WSGI app, not through Django's test client, which would otherwise
    # stop the end of each request from closing the test's database connection (and its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield _world()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _world():
    team = make_team("fuzz")
    channel = make_channel("youtube", team=team)
    for state in (Asset.State.SCRIPTING, Asset.State.AWAITING_REVIEW, Asset.State.PUBLISHING):
        make_asset(state, channels=[channel], team=team)
    make_letter(make_failed_asset("voice", team=team), stage="voice")
    return team


# Read once, at collection: making the schema reads no rows.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def integration(world) -> dict:
    _, key = issue_token(name="fuzz integration", team=world, role="integration")
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def every_role(world) -> dict:
    token, key = issue_token(name="fuzz every role", team=world, role="operator", can_approve=True)
    token.principal.groups.add(*Group.objects.all())
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@HYPOTHESIS
def test_anonymous(case, world):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@HYPOTHESIS
def test_integration_token(case, integration):
    case.call_and_validate(headers=integration, checks=CHECKS)


@schema.parametrize()
@HYPOTHESIS
def test_token_with_every_role(case, every_role):
    case.call_and_validate(headers=every_role, checks=CHECKS)
