"""The storefront's live components: ``product``, ``cart``, ``checkout`` and ``reviews``.

Which cart a component works on is decided by the server, never by the
client: from the request when the component is first rendered (the user's
cart, or the anonymous visitor's), then from the ``cart_id`` or ``visitor``
param that the runtime signs into the component's token. An anonymous
visitor's cart is made on their first add, not when a page shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count

import live
from live_shop import carts, catalog, orders
from live_shop.models import Cart, Profile, Review
from live_shop.schemas import AddressIn, ReviewIn

ADDRESS_FIELDS = ("full_name", "address_line", "city", "postcode", "country")


def product_id_of(params: Mapping[str, Any]) -> int:
    """Return the ``product_id`` param as an int, or raise ``InvalidArguments``."""
    value: Any = params.get("product_id")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise live.InvalidArguments(
            f"Invalid product id {str(value)[:20]!r}", {"product_id": "Not a product id"}
        ) from None


def bind_cart(component: live.Component) -> None:
    """Name the request's cart (or anonymous visitor) in ``params``; else they name it already."""
    request = component.request
    if request is None:
        return
    user = getattr(request, "user", None)
    visitor = None if user is None or user.is_authenticated else live.visitor_key(request)
    cart = carts.for_visitor(visitor) if visitor is not None else None
    if visitor is not None and cart is None:
        component.params["visitor"] = visitor  # no cart until the first add
        return
    component.params["cart_id"] = (cart or carts.for_request(request)).pk


def cart_of(component: live.Component, create: bool = False) -> Cart | None:
    """Return the component's cart: the one its params name, else the user's or the visitor's.

    ``None`` for an anonymous visitor with no cart yet, unless ``create``.
    """
    user = component.user
    cart_id = component.params.get("cart_id")
    if cart_id is not None:
        cart = Cart.objects.filter(pk=cart_id).first()
        if cart is not None and cart.user_id in (None, user.pk):
            return cart
    if user.is_authenticated:
        cart = carts.for_user(user)
        component.params["cart_id"] = cart.pk
        return cart
    visitor = component.params.get("visitor")
    if isinstance(visitor, str):
        cart = carts.for_visitor(visitor, create=create)
        if cart is not None:
            component.params["cart_id"] = cart.pk
        return cart
    raise live.StateLost("Your cart could not be found; reload the page.")


def summary_of(cart: Cart | None) -> dict[str, Any]:
    """Return ``carts.summary`` of ``cart``, or an empty cart's for ``None``."""
    if cart is None:
        return {"lines": [], "count": 0, "total": catalog.money(Decimal("0"))}
    return carts.summary(cart)


@live.register("product")
class ProductComponent(live.CacheMixin, live.OptimisticMixin, live.Component):
    """A product page: sizes with live stock, size selection and add to cart."""

    url_params = ("product_id",)
    template_name = "live_shop/components/product.html"
    slots = ["reviews"]
    subscriptions = ["product-{product_id}"]
    # Renders and events of one client, on pages, every endpoint and the socket alike.
    throttle_rate = "30/minute"
    rate_limits = {"add_to_cart": "5/second"}
    # The first render holds nothing personal (the selection is state), so it is shared.
    cache_ttl = catalog.CACHE_TTL
    optimistic = {"add_to_cart": {"this": {"text": "Adding…", "disabled": True}}}

    def get_cache_key(self, name: str, params: dict[str, Any], state: Any) -> str:
        """One cached render per product, whatever the cart (a bad id is refused first)."""
        return f"{catalog.RENDER_PREFIX}{product_id_of(params)}"

    def load_from_cache(self) -> Any:
        """Serve the cached render, still binding this visitor's cart."""
        cached = super().load_from_cache()
        if cached is not None:
            self.params["product_id"] = product_id_of(self.params)
            bind_cart(self)
        return cached

    def mount(self) -> None:
        """Load the product (from the catalogue cache) with nothing selected."""
        product_id = product_id_of(self.params)
        self.params["product_id"] = product_id
        data = catalog.product_data(product_id)
        if data is None:
            raise live.InvalidArguments(
                f"No product with id {product_id}", {"product_id": "No such product"}
            )
        bind_cart(self)
        self.state = {**data, "selected": "", "error": "", "message": ""}

    def get_optimistic_patch(self, event: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Selecting a size marks it, names it and clears the error before the server answers."""
        if event == "select_size":
            return {
                ".size-btn.selected": {
                    "class_remove": "selected",
                    "attr": {"aria-pressed": "false"},
                },
                "this": {"class_add": "selected", "attr": {"aria-pressed": "true"}},
                ".size-label": {"text": str(payload.get("size", ""))},
                ".shop-error": {"text": ""},
            }
        return super().get_optimistic_patch(event, payload)

    def on_select_size(self, size: str) -> None:
        """Select a size that is in stock."""
        self.state.update(error="", message="")
        known = {row["size"]: row["stock"] for row in self.state["sizes"]}
        if size not in known:
            valid = ", ".join(known)
            self.state["error"] = f"Unknown size {size[:20]!r}; available sizes: {valid}."
        elif known[size] <= 0:
            self.state["error"] = f"Size {size} is sold out."
        else:
            self.state["selected"] = size

    def on_add_to_cart(self) -> None:
        """Put one of the selected size in the cart; never more than the stock."""
        self.state.update(error="", message="")
        size = self.state["selected"]
        if not size:
            self.state["error"] = "Please select a size first."
            return
        product_id = self.state["product_id"]
        try:
            inventory = carts.find_inventory(product_id, size)
            carts.add(cast(Cart, cart_of(self, create=True)), inventory)
        except carts.CartError as exc:
            self.state["error"] = str(exc)
            self.state["sizes"] = catalog.sizes(product_id)
            return
        self.state["message"] = f"Added {self.state['name']} (size {size}) to your cart."

    @live.broadcast_only
    def on_stock_changed(self, product_id: int) -> None:
        """Called when anyone's order changed this product's stock: show the new figures."""
        if product_id != self.state["product_id"]:
            return
        self.state["sizes"] = catalog.sizes(product_id)
        stock = {row["size"]: row["stock"] for row in self.state["sizes"]}
        if stock.get(self.state["selected"], 0) <= 0:
            self.state["selected"] = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the low-stock threshold."""
        return super().get_context_data(low_stock=catalog.LOW_STOCK, **kwargs)


@live.register("cart")
class CartComponent(live.Component):
    """The cart, synced live across every tab and device showing it."""

    template_name = "live_shop/components/cart.html"

    def mount(self) -> None:
        """Load the cart of the request (or of the ``cart_id`` param, or the user)."""
        bind_cart(self)
        self.state = {**summary_of(cart_of(self)), "error": ""}

    def get_subscriptions(self) -> list[str]:
        """The cart's group (the visitor's, made yet or not), and each product's in it."""
        groups = []
        if self.params.get("cart_id") is not None:
            groups.append(carts.cart_group(self.params["cart_id"]))
        if isinstance(self.params.get("visitor"), str):
            groups.append(carts.visitor_group(self.params["visitor"]))
        products = sorted({line["product_id"] for line in self.state.get("lines", [])})
        return [*groups, *(catalog.product_group(p) for p in products)]

    def reload(self) -> None:
        """Read the cart again."""
        self.state.update(summary_of(cart_of(self)))

    def reload_or_explain(self) -> None:
        """Read the cart again after a broadcast; say so if it is gone (merged at a login)."""
        try:
            self.reload()
        except live.StateLost as exc:
            self.state.update(lines=[], count=0, total="0.00", error=exc.message)

    def on_add_item(self, product_id: int, size: str, qty: int = 1) -> None:
        """Add ``qty`` of a product size."""
        self.state["error"] = ""
        try:
            inventory = carts.find_inventory(product_id, size)
            carts.add(cast(Cart, cart_of(self, create=True)), inventory, qty)
        except carts.CartError as exc:
            self.state["error"] = str(exc)
        self.reload()

    def on_remove_item(self, line_id: int) -> None:
        """Remove a line."""
        self.state["error"] = ""
        cart = cart_of(self)
        if cart is not None:
            carts.remove(cart, line_id)
        self.reload()

    def on_set_qty(self, line_id: int, qty: int) -> None:
        """Change a line's quantity; 0 or less removes it."""
        self.state["error"] = ""
        cart = cart_of(self)
        try:
            if cart is None:
                raise carts.CartError("That item is no longer in your cart.")
            carts.set_quantity(cart, line_id, qty)
        except carts.CartError as exc:
            self.state["error"] = str(exc)
        self.reload()

    @live.broadcast_only
    def on_cart_changed(self) -> None:
        """Called when this cart changed anywhere (another tab, a device, an order)."""
        self.reload_or_explain()

    @live.broadcast_only
    def on_stock_changed(self, product_id: int) -> None:
        """Called when the stock of a product in the cart changed."""
        self.reload_or_explain()

    def get_optimistic_patch(self, event: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Removing a line hides it and shows the new count and total at once."""
        if event != "remove_item":
            return None
        line = next(
            (x for x in self.state["lines"] if str(x["id"]) == str(payload.get("line_id"))), None
        )
        if line is None:
            return None
        total = Decimal(self.state["total"]) - Decimal(line["total"])
        return {
            f'[data-line="{line["id"]}"]': {"hidden": True},
            "[data-cart-count]": {"text": str(self.state["count"] - line["qty"])},
            "[data-cart-total]": {"text": f"${catalog.money(total)}"},
        }


@live.register("checkout")
class CheckoutComponent(live.OptimisticMixin, live.FormComponent):
    """Checkout for logged-in users: address from the profile, payment, confirmation."""

    template_name = "live_shop/components/checkout.html"
    schema = AddressIn
    permission_classes = [live.IsAuthenticated]
    subscriptions = ["cart-{cart_id}"]
    optimistic = {
        "place_order": {"[data-place-order]": {"text": "Placing order…", "disabled": True}}
    }

    def get_initial(self) -> dict[str, Any]:
        """Start from the address saved in the user's profile."""
        profile = Profile.objects.filter(user=self.user).first()
        return {field: getattr(profile, field, "") for field in ADDRESS_FIELDS}

    def mount(self) -> None:
        """Load the profile's address and the user's cart."""
        super().mount()
        cart = carts.for_user(self.user)
        self.params["cart_id"] = cart.pk
        self.state.update(carts.summary(cart), email=self.user.email, error="", saved="")
        self.state["order"] = None

    def save_profile(self, address: AddressIn) -> None:
        """Remember the address for the next checkout."""
        Profile.objects.update_or_create(user=self.user, defaults=address.model_dump())

    def on_submit(self) -> None:
        """Save the address (the form is valid here)."""
        self.save_profile(cast(AddressIn, self.validated_data))
        self.state["saved"] = "Address saved."

    def on_place_order(self, payment_token: str = "", **address: Any) -> None:
        """Validate the address, then place the order through the payment gateway."""
        self.state.update(error="", saved="")
        if self.state["order"] is not None:
            return
        if not payment_token:
            self.state["error"] = "Please choose a payment method."
            return
        self.keep_typed(address)
        if not self.validate_form():
            self.state["error"] = "Please complete your shipping address."
            return
        valid = cast(AddressIn, self.validated_data)
        self.save_profile(valid)
        try:
            order = orders.place_order(
                self.user, payment_token=payment_token, shipping_address=valid.as_text()
            )
        except orders.CheckoutError as exc:
            self.state["error"] = str(exc)
        else:
            self.state["order"] = {
                "number": order.number,
                "total": catalog.money(order.total),
                "email": order.email,
            }
        self.state.update(carts.summary(carts.for_user(self.user)))

    @live.broadcast_only
    def on_cart_changed(self) -> None:
        """Called when the cart changed in another tab: show what will be ordered."""
        self.state.update(carts.summary(carts.for_user(self.user)))


@live.register("reviews")
class ReviewsComponent(live.FormComponent):
    """A product's reviews; logged-in users post one, and everyone sees it arrive."""

    template_name = "live_shop/components/reviews.html"
    schema = ReviewIn
    subscriptions = ["reviews-{product_id}"]

    def get_initial(self) -> dict[str, Any]:
        """An empty review with five stars preselected."""
        return {"rating": "5", "body": ""}

    def mount(self) -> None:
        """Start with an empty form."""
        self.params["product_id"] = product_id_of(self.params)
        super().mount()
        self.state.update(posted="", error="")

    def validate_event(
        self, event: object, payload: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """Only logged-in users may post; anonymous ones get a 401 and nothing changes."""
        if event == "submit" and not self.user.is_authenticated:
            raise live.NotAuthenticated("Log in to write a review.")
        return super().validate_event(event, payload)

    def on_submit(self) -> None:
        """Save the review and show it to everyone viewing the product."""
        self.state.update(posted="", error="")
        review = cast(ReviewIn, self.validated_data)
        product_id = self.params["product_id"]
        try:
            with transaction.atomic():
                saved = Review.objects.create(
                    product_id=product_id, user=self.user, rating=review.rating, body=review.body
                )
        except IntegrityError:
            self.state["error"] = "You have already reviewed this product."
            return
        self.state["data"] = self.get_initial()
        self.state["posted"] = "Thanks for your review!"
        live.broadcast(f"reviews-{product_id}", "review_posted", review_id=saved.pk)

    @live.broadcast_only
    def on_review_posted(self, review_id: int) -> None:
        """Called when anyone posts a review of this product; the render reads it."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the latest reviews, their count and average, and whether the user may post."""
        reviews = Review.objects.filter(product_id=self.params["product_id"])
        stats = reviews.aggregate(count=Count("id"), average=Avg("rating"))
        user = self.user
        reviewed = user.is_authenticated and reviews.filter(user=user).exists()
        return super().get_context_data(
            reviews=list(reviews.select_related("user")[:20]),
            review_count=stats["count"],
            average=stats["average"],
            logged_in=user.is_authenticated,
            can_review=user.is_authenticated and not reviewed,
            **kwargs,
        )
