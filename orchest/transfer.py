"""Passing data between steps (Orchest's ``orchest.transfer``)."""

from jupyter_orchest.sdk.serialization import Serialization
from jupyter_orchest.sdk.transfer import get_inputs, output, output_to_disk, output_to_memory

__all__ = ["Serialization", "get_inputs", "output", "output_to_disk", "output_to_memory"]
