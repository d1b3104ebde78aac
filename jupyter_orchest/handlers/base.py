"""What every handler of the extension shares: authentication and error replies."""

import functools
from collections.abc import Awaitable, Callable
from typing import Any, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..pipeline import PipelineValidationError
from ..services.errors import BadRequest, OrchestError
from ..store import DatabaseUnavailable

Method = Callable[..., Awaitable[None]]
UNAVAILABLE = "orchest_unavailable"
"""The setting that holds why the extension cannot serve (its database cannot be used)."""


class OrchestAPIHandler(ExtensionHandlerMixin, APIHandler):
    """Base of the extension's JSON API handlers."""

    # Lets a server's custom Authorizer grant or deny this extension as a whole.
    auth_resource = "orchest"

    def json_object_body(self) -> dict[str, Any]:
        body = self.get_json_body()
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        return body

    def reply_error(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.finish(body)


def api_method(method: Method) -> Method:
    """Require an authenticated, authorized user, and turn user errors into JSON replies;
    when the database cannot be used, answer 503 with a message saying why.

    Every handler method of the extension is wrapped in this, so none can forget it.
    """

    @functools.wraps(method)
    async def reply_user_errors(self: "OrchestAPIHandler", *args: Any, **kwargs: Any) -> None:
        unavailable = self.settings.get(UNAVAILABLE)
        if unavailable is not None:
            self.reply_error(503, {"message": unavailable})
            return
        try:
            await method(self, *args, **kwargs)
        except PipelineValidationError as error:
            self.reply_error(
                400,
                {
                    "message": str(error),
                    "issues": [issue.to_json() for issue in error.issues],
                },
            )
        except OrchestError as error:
            self.reply_error(error.status, error.to_json())
        except DatabaseUnavailable as error:
            self.reply_error(503, {"message": error.message})

    return cast(Method, web.authenticated(authorized(reply_user_errors)))
