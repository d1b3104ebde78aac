"""Interactive sessions, as in Orchest: a pipeline's session owns the executor of its
interactive runs (with warm kernels in the environments its steps use) and its services,
and stopping it stops every process and container it started.

- `service`: the sessions of the server, one per pipeline file;
- `session`: one session's life, launching and stopping;
- `executor`: what a session's runs run with;
- `definitions`: the pipeline's `services`, read and checked;
- `processes`, `containers`: services as processes (no Docker) or containers (Docker);
- `running`: what both kinds share; `model`: what the API and the events show.
"""

from .model import SessionChanged, SessionState
from .service import SessionService

__all__ = ["SessionChanged", "SessionService", "SessionState"]
