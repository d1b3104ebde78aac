"""The pipeline's services, as its steps reach them (Orchest's ``orchest.services``)."""

from jupyter_orchest.sdk.services import get_service, get_services

__all__ = ["get_service", "get_services"]
