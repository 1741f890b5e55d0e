"""The storefront's models in Django's admin; stock edited here reaches open pages live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from live_shop.models import Brand, Inventory, Order, OrderLine, Product, Profile, Review

if TYPE_CHECKING:
    InventoryInlineBase = admin.TabularInline[Inventory, Product]
    OrderLineInlineBase = admin.TabularInline[OrderLine, Order]
    ProductAdminBase = admin.ModelAdmin[Product]
    OrderAdminBase = admin.ModelAdmin[Order]
else:
    InventoryInlineBase = OrderLineInlineBase = admin.TabularInline
    ProductAdminBase = OrderAdminBase = admin.ModelAdmin


class InventoryInline(InventoryInlineBase):
    """A product's sizes and stock."""

    model = Inventory
    extra = 0


@admin.register(Product)
class ProductAdmin(ProductAdminBase):
    """Products with their stock inline."""

    list_display = ["name", "brand", "price"]
    list_filter = ["brand"]
    search_fields = ["name"]
    inlines = [InventoryInline]


class OrderLineInline(OrderLineInlineBase):
    """An order's lines, read-only."""

    model = OrderLine
    extra = 0
    readonly_fields = ["product", "product_name", "size", "unit_price", "quantity"]


@admin.register(Order)
class OrderAdmin(OrderAdminBase):
    """Orders; what was paid is read-only."""

    list_display = ["__str__", "user", "total", "created"]
    readonly_fields = ["user", "email", "shipping_address", "total", "payment_reference"]
    inlines = [OrderLineInline]


admin.site.register(Brand)
admin.site.register(Review)
admin.site.register(Profile)
