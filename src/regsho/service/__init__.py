"""The live service: long-lived books fed by an HTTP API, durable before they answer (docs/service.md)."""

from regsho.service.app import LiveService, LiveSource, create_app
from regsho.service.auth import authenticate

__all__ = ["LiveService", "LiveSource", "authenticate", "create_app"]
