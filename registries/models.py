"""The registries app's models: only the sandbox's shared state (consent requests, SMS outbox) lives in the DB."""

from .sandbox.models import SandboxConsentRequest, SandboxSms  # noqa: F401
