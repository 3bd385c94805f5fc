"""Schemathesis as an API user who keeps each network's `owner_token`: the networks it
creates are its own, so the changes it sends on them carry their token (a made-up one
would only ever be refused with 403). Its own checks of that, a change without a token
and with a wrong one, still expect, and get, 403."""

import schemathesis

TOKENS: dict[str, str] = {}


@schemathesis.hook
def after_call(ctx, case, response):
    created = case.operation.method.upper() == "POST" and case.operation.path == "/api/networks"
    if created and response.status_code == 201:
        body = response.json()
        TOKENS[body["id"]] = body["owner_token"]


@schemathesis.auth(refresh_interval=None, retry_on=[])
class OwnerToken:
    """The token of the network in the path, if Schemathesis created it."""

    def get(self, case, ctx):
        return TOKENS.get(str((case.path_parameters or {}).get("id", "")))

    def set(self, case, data, ctx):
        if data:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """Every failure counts but one: after a DELETE has succeeded, Schemathesis probes it
    again without the token, and finds the network gone (404 where it expects 403). That a
    stranger's DELETE is refused is tests/test_owners.py's."""
    probe_of_a_delete = case.operation.method.upper() == "DELETE" and "404" in str(failure)
    return not (probe_of_a_delete and "authentication" in str(failure))
