"""Permission classes for components and views, combinable with ``&``, ``|`` and ``~``.

``permission_classes`` holds classes or instances; each is checked at mount,
at join and before every event. A failure raises ``NotAuthenticated`` (401)
for anonymous users and ``Forbidden`` (403) otherwise.
"""

from __future__ import annotations

from typing import Any

from live.exceptions import Forbidden, NotAuthenticated, PermissionDenied


class _Combinable(type):
    """Let permission *classes* combine like instances: ``IsStaff | IsSuperuser``."""

    def __and__(cls, other: Any) -> BasePermission:
        return And(as_permission(cls), as_permission(other))

    def __or__(cls, other: Any) -> BasePermission:  # type: ignore[override]
        return Or(as_permission(cls), as_permission(other))

    def __invert__(cls) -> BasePermission:
        return Not(as_permission(cls))


class BasePermission(metaclass=_Combinable):
    """A rule about the user; subclasses override ``has_permission``."""

    message = "Permission denied"
    requires_login = False

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether ``user`` may use ``component``."""
        return True

    def check(self, user: Any, component: Any = None) -> None:
        """Raise ``NotAuthenticated`` or ``Forbidden`` unless the permission holds."""
        if self.has_permission(user, component):
            return
        if not _is_authenticated(user) and self.requires_login:
            raise NotAuthenticated()
        raise Forbidden(self.message)

    def __and__(self, other: Any) -> BasePermission:
        return And(self, as_permission(other))

    def __or__(self, other: Any) -> BasePermission:
        return Or(self, as_permission(other))

    def __invert__(self) -> BasePermission:
        return Not(self)


def _is_authenticated(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


class AllowAny(BasePermission):
    """Everyone, including anonymous users."""


class IsAuthenticated(BasePermission):
    """A logged-in, active user."""

    message = "Authentication required"
    requires_login = True

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether ``user`` is logged in and active."""
        return _is_authenticated(user)


class IsStaff(BasePermission):
    """An active staff user."""

    message = "Staff access required"
    requires_login = True

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether ``user`` is active staff."""
        return _is_authenticated(user) and bool(user.is_staff)


class IsSuperuser(BasePermission):
    """An active superuser."""

    message = "Superuser access required"
    requires_login = True

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether ``user`` is an active superuser."""
        return _is_authenticated(user) and bool(user.is_superuser)


class DjangoModelPermission(BasePermission):
    """A Django permission: ``DjangoModelPermission("auth.change_user")``.

    With an action such as ``"change"`` instead of a dotted name, the
    permission is taken from the component's ``model``.
    """

    requires_login = True

    def __init__(self, perm: str) -> None:
        self.perm = perm
        self.message = f"Permission {perm!r} required"

    def resolve(self, component: Any) -> str:
        """Return the dotted permission name for ``component``."""
        if "." in self.perm:
            return self.perm
        model = getattr(component, "model", None)
        if model is None:
            raise ValueError(
                f"DjangoModelPermission({self.perm!r}) needs a dotted name like "
                "'app.change_model', or a component with a 'model' attribute."
            )
        meta = model._meta
        return f"{meta.app_label}.{self.perm}_{meta.model_name}"

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether ``user`` holds the permission."""
        if not _is_authenticated(user):
            return False
        perm = self.resolve(component)
        self.message = f"Permission {perm!r} required"
        return bool(user.has_perm(perm))


class And(BasePermission):
    """Both permissions; the first failure is reported."""

    def __init__(self, left: BasePermission, right: BasePermission) -> None:
        self.left, self.right = left, right

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether both hold."""
        return self.left.has_permission(user, component) and self.right.has_permission(
            user, component
        )

    def check(self, user: Any, component: Any = None) -> None:
        """Check the left, then the right permission."""
        self.left.check(user, component)
        self.right.check(user, component)


class Or(BasePermission):
    """Either permission; when both fail, the left one's failure is reported."""

    def __init__(self, left: BasePermission, right: BasePermission) -> None:
        self.left, self.right = left, right

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether either holds."""
        return self.left.has_permission(user, component) or self.right.has_permission(
            user, component
        )

    def check(self, user: Any, component: Any = None) -> None:
        """Pass if either passes, else raise the left one's error."""
        if self.right.has_permission(user, component):
            return
        self.left.check(user, component)


class Not(BasePermission):
    """The opposite of a permission."""

    def __init__(self, inner: BasePermission) -> None:
        self.inner = inner

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether the inner permission fails."""
        return not self.inner.has_permission(user, component)


def as_permission(entry: Any) -> BasePermission:
    """Return a permission instance for a permission class or instance."""
    if isinstance(entry, BasePermission):
        return entry
    if isinstance(entry, type) and issubclass(entry, BasePermission):
        return entry()
    raise TypeError(f"{entry!r} is not a permission class or instance.")


def check_all(entries: Any, user: Any, component: Any = None) -> None:
    """Check every permission in ``entries``; raise the first failure."""
    for entry in entries:
        as_permission(entry).check(user, component)


__all__ = [
    "AllowAny",
    "BasePermission",
    "DjangoModelPermission",
    "IsAuthenticated",
    "IsStaff",
    "IsSuperuser",
    "PermissionDenied",
    "check_all",
]
