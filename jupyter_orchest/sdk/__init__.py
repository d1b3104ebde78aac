"""The step SDK: what code running as a pipeline step imports as ``orchest``.

Compatible with Orchest's SDK (``output``, ``get_inputs``, ``get_step_param``, ...). Standard
library only at import time, so it imports in any environment a step runs in; pyarrow and
pandas are imported only to read or write their own objects.

The engine uses :mod:`.environment`: the variables it sets for a step and the helpers that
prepare a step's folders and parameters. :func:`read_manifest` lists a step's outputs.
"""

from .config import Config
from .environment import (
    clear_step_outputs,
    get_pipeline_uuid,
    get_run_uuid,
    get_step_uuid,
    interactive_outputs_dir,
    step_environment,
    write_parameters_file,
)
from .manifest import OutputRecord
from .outputs import read_manifest
from .parameters import get_params, get_pipeline_param, get_step_param
from .serialization import Serialization
from .transfer import get_inputs, output, output_to_disk, output_to_memory

__all__ = [
    "Config",
    "OutputRecord",
    "Serialization",
    "clear_step_outputs",
    "get_inputs",
    "get_params",
    "get_pipeline_param",
    "get_pipeline_uuid",
    "get_run_uuid",
    "get_step_param",
    "get_step_uuid",
    "interactive_outputs_dir",
    "output",
    "output_to_disk",
    "output_to_memory",
    "read_manifest",
    "step_environment",
    "write_parameters_file",
]
