"""The live storefront: product pages with live stock, a synced cart, checkout, reviews.

``models`` holds the data, ``catalog`` the cached product data and stock news,
``carts`` and ``orders`` the cart and checkout services, ``payments`` the
gateway interface, ``components`` the live components and ``views`` the pages.
Load the demo catalogue with ``python manage.py loaddata shop_fixtures``.
"""
