"""The SDK that steps import, under the name Orchest's SDK has, so Orchest steps run unchanged.

>>> import orchest
>>> orchest.get_inputs()
{"unnamed": [], "extracted-data": ...}
>>> orchest.output("Hello World!", name="welcome-msg")

It lives in :mod:`jupyter_orchest.sdk`; this package only gives it Orchest's module names.
"""

from jupyter_orchest import __version__
from orchest import error, parameters, services, transfer, utils
from orchest.config import Config
from orchest.parameters import get_pipeline_param, get_step_param
from orchest.services import get_service, get_services
from orchest.transfer import get_inputs, output

__all__ = [
    "Config",
    "__version__",
    "error",
    "get_inputs",
    "get_pipeline_param",
    "get_service",
    "get_services",
    "get_step_param",
    "output",
    "parameters",
    "services",
    "transfer",
    "utils",
]
