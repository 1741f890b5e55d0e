"""``manage.py livedemo``: migrate, seed, print the demo logins and serve with daphne."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import import_string


class Command(BaseCommand):
    """Run the demo site."""

    help = "Migrate, seed demo data, print demo logins and serve the site with daphne."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add ``--host``, ``--port`` and ``--no-serve``."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare the database, then exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Prepare the database and serve."""
        call_command("migrate", interactive=False, verbosity=0)
        logins: list[str] = []
        for path in getattr(settings, "LIVE_DEMO_SEEDERS", []):
            logins.extend(import_string(path)() or [])
        self.stdout.write("Demo logins:")
        for line in logins:
            self.stdout.write(f"  {line}")
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(f"Serving on {url}")
        if options["no_serve"]:
            return
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(
            ["-b", options["host"], "-p", str(options["port"]), "asgi:application"]
        )
