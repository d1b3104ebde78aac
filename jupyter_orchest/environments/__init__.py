"""Environments: Orchest's per-step software environments, built as Docker images or local
virtual environments, with a Jupyter kernel in each."""
