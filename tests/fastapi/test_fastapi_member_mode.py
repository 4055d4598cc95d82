"""The FastAPI error mapping of member mode's configuration errors: our setup, not the
caller's request, so a 502 with a fixed text, and the full hint in the server's log."""

from __future__ import annotations

import json
import logging

import pytest

import stytch_scim_async as scim
from stytch_scim_async.fastapi import error_response


@pytest.mark.parametrize(
    ("cls", "status", "error_type"),
    [
        (scim.SDKOriginNotAllowedError, 400, "bad_domain_for_stytch_sdk"),
        (scim.CustomDomainRequiredError, 401, "cname_required_for_http_only_cookies"),
    ],
)
def test_member_mode_configuration_errors_are_ours_to_fix(
    cls: type[scim.APIStatusError],
    status: int,
    error_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = cls(
        status_code=status,
        request_id="request-id-test-1",
        error_type=error_type,
        error_message="Stytch's own words",
    )
    with caplog.at_level(logging.ERROR, logger="stytch_scim_async"):
        response = error_response(error)
    body = json.loads(bytes(response.body))
    assert response.status_code == 502
    assert body["error"] == "upstream_misconfigured"
    assert "Stytch's own words" not in body["message"]
    assert body["request_id"] == "request-id-test-1"
    assert str(error) in caplog.text  # the operators get what to configure
