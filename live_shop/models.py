"""The storefront's data: catalogue, stock, reviews, carts, orders and profiles."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class Brand(models.Model):
    """A maker of products."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """Something for sale, in one or more sizes."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    #: Static paths, e.g. ``live_shop/img/tee.svg``.
    image = models.CharField(max_length=200)
    thumbnail = models.CharField(max_length=200)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Inventory(models.Model):
    """How many of one product in one size are in stock."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="inventory")
    size = models.CharField(max_length=10)
    #: Display order of the sizes of one product.
    position = models.PositiveSmallIntegerField(default=0)
    # Positive: the database refuses negative stock even if a bug tried.
    stock = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["product", "position", "id"]
        verbose_name_plural = "inventory"
        constraints = [
            models.UniqueConstraint(fields=["product", "size"], name="live_shop_one_row_per_size")
        ]

    def __str__(self) -> str:
        return f"{self.product} ({self.size}): {self.stock}"


class Review(models.Model):
    """One user's rating and opinion of a product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="live_shop_one_review_each"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="live_shop_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.product} by {self.user}"


class Cart(models.Model):
    """A user's cart, or an anonymous visitor's (``visitor`` names them, or their session does)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="shop_cart",
    )
    #: ``live.visitor_key`` of the anonymous visitor it belongs to (carts made on first add).
    visitor = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart {self.pk} of {self.user or 'an anonymous visitor'}"


class CartItem(models.Model):
    """A quantity of one product size in a cart."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    inventory = models.ForeignKey(Inventory, on_delete=models.CASCADE, related_name="cart_items")
    quantity = models.PositiveIntegerField(default=1)
    added = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "inventory"], name="live_shop_one_line_per_size"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.inventory.product} ({self.inventory.size})"


class Order(models.Model):
    """A paid order; its lines keep the names and prices of the time of purchase."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shop_orders"
    )
    email = models.EmailField()
    shipping_address = models.TextField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    payment_reference = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """The order number shown to the customer."""
        return f"LS-{self.pk:06d}"


class OrderLine(models.Model):
    """One product size of an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    product_name = models.CharField(max_length=200)
    size = models.CharField(max_length=10)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name} ({self.size})"

    @property
    def line_total(self) -> Decimal:
        """Unit price times quantity."""
        return self.unit_price * self.quantity


class Profile(models.Model):
    """A customer's shipping address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_profile"
    )
    full_name = models.CharField(max_length=200, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"
