"""Every route of the extension refuses requests without Jupyter's authentication."""

import re
from typing import Any

from tornado.web import RequestHandler

from jupyter_orchest.handlers import API_PREFIX

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def extension_routes(serverapp: Any) -> list[tuple[str, type[RequestHandler]]]:
    """Every (pattern, handler) pair the server routes to, under the extension's prefix."""
    routes = []
    pending = [serverapp.web_app.default_router, serverapp.web_app.wildcard_router]
    while pending:
        for rule in pending.pop().rules:
            if hasattr(rule.target, "rules"):  # a nested router, e.g. per host
                pending.append(rule.target)
            elif f"/{API_PREFIX}/" in rule.matcher.regex.pattern:
                routes.append((rule.matcher.regex.pattern, rule.target))
    return routes


SAMPLES = {
    "path": "some/pipeline.orchest",
    "run_id": "abc123",
    "step_uuid": "step-1",
    "job_id": "def456",
    "action": "cancel",
    "uuid": "env-1",
    "number": "1",
}


def sample_url(pattern: str) -> str:
    """A concrete URL that the route's pattern matches."""
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda group: SAMPLES[group[1]], pattern)
    return url.rstrip("$")


def implemented_methods(handler: type[RequestHandler]) -> list[str]:
    return [
        method
        for method in HTTP_METHODS
        if getattr(handler, method.lower()) is not getattr(RequestHandler, method.lower())
    ]


async def test_every_route_requires_authentication(
    jp_serverapp: Any, http_server_client: Any, jp_auth_header: dict[str, str]
) -> None:
    routes = extension_routes(jp_serverapp)
    assert len(routes) >= 2, "the extension's routes were not found"
    checked = 0
    for pattern, handler in routes:
        url = sample_url(pattern)
        assert re.fullmatch(pattern, url), (pattern, url)
        for method in implemented_methods(handler):
            body = "{}" if method in ("POST", "PUT", "PATCH") else None
            anonymous = await http_server_client.fetch(
                url, method=method, body=body, raise_error=False
            )
            assert anonymous.code == 403, f"{method} {url} answered {anonymous.code} anonymously"
            # The same request with a token gets past authentication, so the 403 above is
            # the authentication check and not some other refusal.
            signed_in = await http_server_client.fetch(
                url, method=method, body=body, headers=jp_auth_header, raise_error=False
            )
            assert signed_in.code != 403, f"{method} {url} refused an authenticated user"
            checked += 1
    assert checked >= 5
