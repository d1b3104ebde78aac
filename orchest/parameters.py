"""Parameters of the running step and its pipeline (Orchest's ``orchest.parameters``)."""

from jupyter_orchest.sdk.parameters import get_params, get_pipeline_param, get_step_param

__all__ = ["get_params", "get_pipeline_param", "get_step_param"]
