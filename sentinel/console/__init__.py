"""The SOC console: server-rendered pages over the API, served by the daemon at ``/console``.

Sign-in with a Vault token or a Vault password login (``login``), a server-side session
(``sessions``), pages and forms (``pages``) that read and act through the API in-process
with the person's own token (``api_client``), and live updates by server-sent events
(``live``). No build step and nothing fetched from the internet: templates and static
files ship in the package.
"""

from __future__ import annotations

from sentinel.console.app import create_console

__all__ = ["create_console"]
