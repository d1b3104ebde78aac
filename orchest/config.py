"""Orchest's ``orchest.config``."""

from jupyter_orchest.sdk.config import Config

__all__ = ["Config"]
