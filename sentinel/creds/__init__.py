"""Account credentials in Vault: the rotation protocol, schedules, TOTP seeds and reveal.

Modules: ``state`` (the state machine, pure), ``store`` (Vault I/O for credentials),
``kinds`` (what each credential kind does at the platform), ``protocol`` (the crash-safe
create/set/test/finish rotation), ``schedule`` (due times, jitter, windows; pure),
``service`` (the daemon's ``RotationService`` and ``force_rotate``), ``totp``, ``reveal``
and ``status``. Importing this package stays cheap: ``sentinel.config`` imports its settings.
"""
