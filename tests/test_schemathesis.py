"""The whole HTTP API fuzzed from its own OpenAPI schema (schemathesis).

Bounded (a few dozen examples per operation), authenticated as staff, against a
live server: no answer may be a 5xx, and every answer must match the schema
(status, content type, body), and schema-violating requests must be refused.
Requests go to the live server on 127.0.0.1 only.
"""

from __future__ import annotations

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.conftest import make_user

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(SCHEMA)


@pytest.fixture
def staff_token(db):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=make_user("fuzzer", staff=True)).key


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, live_server, staff_token):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Token {staff_token}"},
        # The schema cannot say everything the validators check (a webhook needs
        # a URL, PagerDuty a routing key): a schema-valid request may still get a
        # 400 naming the field. Everything else is checked, invalid requests
        # being rejected included.
        excluded_checks=[positive_data_acceptance],
    )
