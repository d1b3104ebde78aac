"""``import orchest`` must work in any step's environment, loading nothing heavy."""

import json
import subprocess
import sys

HEAVY = ["jsonschema", "jupyter_client", "jupyter_server", "numpy", "pandas", "pyarrow", "tornado"]


def test_import_orchest_loads_nothing_heavy() -> None:
    code = f"""
import json, sys
import orchest, orchest.error, orchest.parameters, orchest.transfer, orchest.utils
loaded = {{name.split(".")[0] for name in sys.modules}}
print(json.dumps(sorted(loaded & set({HEAVY!r}))))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_orchest_offers_orchests_names() -> None:
    import orchest

    for name in ["Config", "get_inputs", "get_pipeline_param", "get_step_param", "output"]:
        assert callable(getattr(orchest, name)), name
    for name in ["Serialization", "get_inputs", "output", "output_to_disk", "output_to_memory"]:
        assert hasattr(orchest.transfer, name), name
    for name in ["get_params", "get_pipeline_param", "get_step_param"]:
        assert hasattr(orchest.parameters, name), name
    assert [m.name for m in orchest.transfer.Serialization][:3] == [
        "ARROW_TABLE",
        "ARROW_BATCH",
        "PICKLE",
    ]
    assert issubclass(orchest.error.DiskOutputNotFoundError, orchest.error.OutputNotFoundError)
    assert issubclass(orchest.error.InputNameCollisionError, orchest.error.Error)
    orchest.Config.silence_multiple_data_transfer_calls_warning = True  # as Orchest steps do
