"""zoom: Zoom users, licensed seats, last sign-ins and plan usage; see docs/connectors/zoom.md."""

from connectors.zoom.connector import ZoomConnector

__all__ = ["ZoomConnector"]
