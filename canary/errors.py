"""Exceptions raised by the canary; each carries a message fit to show a user as-is."""

from __future__ import annotations

__all__ = ["CanaryError", "ConfigError", "DeployConfigError"]


class CanaryError(Exception):
    """Base of every error the canary raises on purpose (the CLI shows the message, no traceback)."""


class ConfigError(CanaryError):
    """The probe config (or its stage settings) is invalid; the message names file, probe and field."""


class DeployConfigError(CanaryError):
    """A stage's Chalice settings would deploy a broken canary (e.g. an empty role ARN)."""
