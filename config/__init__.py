"""Deployment settings, read from the environment in one place (pydantic-settings).

Explicit arguments win; these are only the defaults for locations, URLs and secrets.
"""

from config._settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
