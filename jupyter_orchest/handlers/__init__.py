"""HTTP handlers: thin, authenticated adapters over the services."""

from typing import Any

from .pipelines import PipelineCollectionHandler, PipelineHandler

API_PREFIX = "orchest/api"


def api_routes() -> list[tuple[str, Any]]:
    """Every route the extension serves, relative to the server's base URL."""
    return [
        (rf"/{API_PREFIX}/pipelines", PipelineCollectionHandler),
        (rf"/{API_PREFIX}/pipelines/(?P<path>.+)", PipelineHandler),
    ]
