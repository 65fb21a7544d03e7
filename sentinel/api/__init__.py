"""The HTTP API: gate, broker, moderation, held posts, lockdown/unfreeze, views, metrics.

``create_app(deps)`` builds the Starlette app; ``ApiService`` serves it in the daemon;
authorization is decided by Vault (``sentinel.api.caller_access``). See docs/api.md.
"""

from __future__ import annotations

from sentinel.api.app import ROUTES, create_app
from sentinel.api.caller_access import Authorizer
from sentinel.api.deps import Deps
from sentinel.api.errors import ApiError
from sentinel.api.protocols import Gate, Responder, ResponderBridge, StepUpFailed
from sentinel.api.service import ApiService
from sentinel.capabilities import ACCOUNT_CAPABILITIES, CAPABILITIES, GLOBAL_CAPABILITIES, capability_path

__all__ = [
    "ACCOUNT_CAPABILITIES",
    "CAPABILITIES",
    "GLOBAL_CAPABILITIES",
    "ROUTES",
    "ApiError",
    "ApiService",
    "Authorizer",
    "Deps",
    "Gate",
    "Responder",
    "ResponderBridge",
    "StepUpFailed",
    "capability_path",
    "create_app",
]
