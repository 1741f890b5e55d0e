"""Demo data for ``manage.py livedemo``: the catalogue, and addresses for the demo logins."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command

from live_shop.models import Product, Profile

#: Shipping addresses of the demo users created by the tour's seeder.
DEMO_ADDRESSES = {
    "alice": ("Alice Example", "1 Market Street", "Springfield", "12345", "United States"),
    "staff": ("Sam Staff", "2 Harbour Road", "Portsmouth", "PO1 2AB", "United Kingdom"),
    "admin": ("Ada Admin", "3 Rue du Port", "Lyon", "69001", "France"),
}


def seed() -> list[str]:
    """Load ``shop_fixtures`` into an empty shop and give demo users an address; no logins."""
    if not Product.objects.exists():
        call_command("loaddata", "shop_fixtures", verbosity=0)
    for user in get_user_model().objects.filter(username__in=DEMO_ADDRESSES):
        full_name, address_line, city, postcode, country = DEMO_ADDRESSES[user.get_username()]
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "full_name": full_name,
                "address_line": address_line,
                "city": city,
                "postcode": postcode,
                "country": country,
            },
        )
    return []
