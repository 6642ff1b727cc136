"""The service's own OpenAPI document, turned against it: for each operation, a bounded number of
requests that schemathesis generates from the document, valid and not, sent over HTTP to the
running service. None may give a 5xx, and every answer must have the documented type and shape."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from authservice.api.asgi import describe_api
from tests.service.helpers import Api

# The document as the service serves it (test_service_http checks that it is the same); loaded
# here rather than from the running service, which only exists once the tests run.
schema = schemathesis.openapi.from_dict(describe_api())


@schema.parametrize()
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gives_a_server_error_or_an_undocumented_answer(
    api: Api, case: schemathesis.Case
) -> None:
    case.call_and_validate(
        base_url=api.base_url,
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
