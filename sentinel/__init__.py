"""Sentinel: keeps an organisation's social-media accounts from being hijacked."""

__version__ = "0.1.0"
