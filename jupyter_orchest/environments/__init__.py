"""Environments: Orchest's per-step software environments, built as Docker images or local
virtual environments, with a Jupyter kernel in each.

- `model`: what environments, builds and backends say to each other;
- `definition`: environment files in Orchest's layout, the default environment, validation;
- `builds`: builds recorded, logged and joined, and the build a step runs in;
- `executor`: the executor that runs each step with its environment's build;
- `backends`: choosing the backend (`auto`, `docker`, `local`, `none`);
- `local`, `venv`: the local backend (a virtual environment per build) and its executor;
- `docker`: the Docker backend;
- `kernelspecs`: a kernel in JupyterLab for every built environment;
- `sdk_bundle`: the SDK as a folder for Pythons without this package;
- `cli`: `jupyter orchest env ...`.
"""
