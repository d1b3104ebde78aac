"""Every route of the extension refuses requests without Jupyter's authentication."""

import re
from typing import Any

from support import extension_routes, implemented_methods, sample_url


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
