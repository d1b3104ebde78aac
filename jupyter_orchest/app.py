"""The Jupyter server extension: configuration and wiring."""

from pathlib import Path

from jupyter_server.extension.application import ExtensionApp

from .handlers import api_routes
from .services.pipelines import PipelineService


class OrchestApp(ExtensionApp):
    """Serves the pipeline API under `<base_url>/orchest/api/`."""

    name = "jupyter_orchest"

    def initialize_settings(self) -> None:
        assert self.serverapp is not None  # set before extensions initialize
        root_dir = Path(self.serverapp.root_dir).expanduser().resolve()
        self.settings["orchest_pipelines"] = PipelineService(root_dir)

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_routes())
