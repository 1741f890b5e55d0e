"""``live_admin``: a real-time admin panel for a SaaS, built on ``live``.

Drop it in: add ``"live_admin"`` to ``INSTALLED_APPS`` (after ``"live"``),
``path("admin-panel/", include("live_admin.urls"))`` to the URLs, and migrate.
Staff get the panel at ``/admin-panel/``: the user table, the live audit log,
the KPI cards, and (for superusers) the user edit form. Anything can write to
the audit trail with ``live_admin.audit.record(actor, action, target, ip, **detail)``.
"""
