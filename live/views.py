"""The HTTP fallback: the same component pipeline over GET (render) and POST (event)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.csrf import get_token
from django.views import View
from django.views.csrf import csrf_failure as django_csrf_failure

from live import (
    bodies,
    limits,
    outages,
    permissions,
    protocol,
    ratelimit,
    registry,
    revocation,
    tokens,
    visitors,
)
from live.component import Component
from live.exceptions import (
    InvalidToken,
    LiveError,
    NotAuthenticated,
    RateLimited,
    Unavailable,
)
from live.mounted import Mounted, url_for
from live.throttling import counted_components, request_client_key
from live.types import Params

logger = logging.getLogger("live")


def error_response(error: LiveError) -> JsonResponse:
    """Return the JSON answer for ``error``: ``{"error": message, "code": ...}``."""
    body: dict[str, Any] = {"error": error.message, "code": error.code}
    frame = error.as_frame()
    for key in (protocol.KEY_FIELDS, protocol.KEY_RETRY_AFTER):
        if key in frame:
            body[key] = frame[key]
    response = JsonResponse(body, status=error.status)
    if isinstance(error, RateLimited | Unavailable):
        response["Retry-After"] = str(error.retry_after)
    return response


def ensure_session(request: HttpRequest) -> str | None:
    """Return the request's session key, creating the session if needed."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    if session.session_key is None:
        session.save()
        # Saved but unmodified sessions get no cookie; mark it so the browser gets one.
        session.modified = True
    key: str | None = session.session_key
    return key


def request_binding(request: HttpRequest) -> str:
    """Return the token binding for the request's user and session (or anonymous visitor).

    A cookieless anonymous visitor is bound to a visitor id sent in a cookie, with no
    stored session, where the answer can carry it (see ``visitors``); else to a session.
    """
    user = getattr(request, "user", None)
    pk = getattr(user, "pk", None)
    if pk is None:
        session = getattr(request, "session", None)
        session_key = getattr(session, "session_key", None)
        visitor = visitors.from_request(request)
        if visitor is None and session_key is None and visitors.can_set_cookie(request):
            visitor = visitors.mint_visitor(request)
        if visitor is not None or session_key is not None:
            return tokens.binding(None, visitors.identity(None, session_key, visitor))
    return tokens.binding(pk, ensure_session(request))


def request_client(request: HttpRequest) -> limits.Client:
    """Return who a request's renders and events count against (see ``live.limits``)."""
    session = getattr(request, "session", None)
    return limits.Client.of(
        getattr(request, "user", None),
        getattr(session, "session_key", None),
        visitors.from_request(request),
        request.META.get("REMOTE_ADDR"),
    )


component_url = url_for


def resume_for(request: HttpRequest, token: object, **kwargs: Any) -> Mounted:
    """Resume the component ``token`` names for this request's user and session.

    A token bound to a session that ended is ``unauthenticated`` (see ``revocation``).
    """
    try:
        mounted, _ = Mounted.resume(
            token, user=getattr(request, "user", None), bound_to=request_binding(request), **kwargs
        )
    except InvalidToken as exc:
        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        session, user = getattr(request, "session", None), getattr(request, "user", None)
        if revocation.session_ended(token, session=session, cookie=cookie, user=user):
            raise NotAuthenticated(revocation.SIGNED_OUT) from exc
        raise
    return mounted


def _attach(component: Component, user: Any, request: HttpRequest | None) -> None:
    if user is not None:
        component.user = user
    component.request = request
    for child in component.filled_slots.values():
        if isinstance(child, Component):
            _attach(child, user, request)


def render_component(
    request: HttpRequest | None,
    component: str | type[Component] | Component,
    params: Params | None = None,
) -> Mounted:
    """Mount a component (a name, a class, or a composed instance) for a page request."""
    if request is None:
        user, bound_to = None, tokens.binding(None, None)
    else:
        user, bound_to = getattr(request, "user", None), request_binding(request)
        # After the binding: a first visit counts against the visitor id it was given.
        limits.count_render(request_client(request))
    if isinstance(component, str):
        component = registry.get(component)
    if isinstance(component, type):
        component = component(params=params or {}, user=user, request=request)
    else:
        _attach(component, user, request)
    if request is None:
        return Mounted.start(component, bound_to=bound_to)
    return Mounted.start(
        component,
        bound_to=bound_to,
        client_key=request_client_key(request),
        counted=counted_components(request),
    )


class ComponentView(View):
    """Serve one component over HTTP: GET renders it, POST applies an event.

    Errors are JSON (``{"error": ...}`` with 400/401/403/404/409/413/415/429),
    never a redirect or an HTML error page.
    """

    component_name: ClassVar[str] = ""
    permission_classes: ClassVar[Sequence[Any]] = ()
    #: The POSTed frame, read by ``dispatch`` within the limits.
    body: dict[str, Any]
    http_method_names: ClassVar[list[str]] = ["get", "post", "options"]  # type: ignore[misc]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """Return the view, exempt from ``CsrfViewMiddleware``: ``dispatch`` checks CSRF itself.

        The middleware would parse a POSTed form before the view could bound its size.
        """
        view = super().as_view(**initkwargs)
        view.csrf_exempt = True  # type: ignore[attr-defined]
        return view

    def get_component_name(self, **kwargs: Any) -> str:
        """Return the registered name this view serves."""
        return self.component_name or str(kwargs.get("name", ""))

    def get_component_params(self, request: HttpRequest, **kwargs: Any) -> Params:
        """Return the params of a freshly mounted component.

        By default the query-string values named in the component's ``url_params``.
        """
        allowed = registry.get(self.get_component_name(**kwargs)).url_params
        return {key: request.GET[key] for key in allowed if key in request.GET}

    def check_permissions(self, request: HttpRequest) -> None:
        """Raise ``NotAuthenticated`` or ``Forbidden`` for the view's own permissions."""
        permissions.check_all(self.permission_classes, getattr(request, "user", None))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Run the view and turn every ``LiveError`` into a JSON error."""
        visitors.allow_cookie(request)
        response = self._dispatch(request, *args, **kwargs)
        visitors.set_cookie(request, response)
        return response

    def _dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            # Read first: the CSRF check would parse a form without bounding its size.
            self.body = bodies.read(request) if request.method == "POST" else {}
            refused = bodies.csrf_refusal(request)
            if refused is not None:
                return refused
            revocation.check_request(request)  # a logout in another tab counts at once
            self.check_permissions(request)
            return super().dispatch(request, *args, **kwargs)
        except LiveError as error:
            return error_response(error)
        except bodies.REFUSALS as exc:  # from the body or the query string
            return error_response(bodies.as_live_error(exc))
        except outages.ERRORS as exc:
            outages.report("Redis", exc)
            return error_response(Unavailable())
        except Exception:
            logger.exception("live: error in component view")
            return error_response(LiveError())

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Render a fresh component inside its root element (an HTML fragment).

        With ``?token=...`` (an expired or outdated one will do) the same component
        is mounted again, with the params and id its token names.
        """
        name = self.get_component_name(**kwargs)
        token = request.GET.get("token")
        if token:
            # A reload renders again: it counts like a first render (before any work).
            limits.count_render(request_client(request))
            ratelimit.hit_component(
                registry.get(name), request_client_key(request), counted_components(request)
            )
            mounted = resume_for(request, token, for_reload=True)
            if mounted.component.name != name:
                raise InvalidToken(f"Token is for another component than {name!r}")
            get_token(request)
            return HttpResponse(mounted.root_html(component_url(name)))
        params = self.get_component_params(request, **kwargs)
        mounted = render_component(request, name, params)
        # The fallback's POSTs need the CSRF cookie even when only this fragment was fetched.
        get_token(request)
        return HttpResponse(mounted.root_html(component_url(name)))

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Apply one event and answer ``{"id", "v", "html", "token", "state"}``.

        A body without ``event`` is a poll: broadcasts logged since the component's
        snapshot are applied, and the answer is 204 when version ``v`` is still current.
        """
        name = self.get_component_name(**kwargs)
        registry.get(name)
        body = self.body
        if body.get("event") is not None:
            limits.count_event(request_client(request))  # before any work on it
        mounted = resume_for(request, body.get("token"), signed_state=body.get("state"))
        if mounted.component.name != name:
            raise InvalidToken(f"Token is for another component than {name!r}")
        mounted.client_key = request_client_key(request)
        mounted.component.client_address = request.META.get("REMOTE_ADDR")
        if body.get("event") is None:
            if mounted.is_current(body.get("v")):
                return HttpResponse(status=204)
        else:
            payload = body.get("payload") if body.get("payload") is not None else {}
            mounted.handle_event(body.get("event"), payload, body.get("ref"))
        return JsonResponse(
            {
                "id": mounted.component_id,
                "v": mounted.version,
                "html": mounted.html,
                "token": mounted.token(),
                "state": mounted.signed_state(),
            }
        )


class AuthenticatedComponentView(ComponentView):
    """A ``ComponentView`` for logged-in users only (401 JSON otherwise)."""

    permission_classes: ClassVar[Sequence[Any]] = (permissions.IsAuthenticated,)


component_view = ComponentView.as_view()


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Answer a CSRF failure with JSON for live and htmx requests, Django's page otherwise."""
    wants_json = (
        request.headers.get("HX-Request") == "true"
        or request.content_type == "application/json"
        # Any component endpoint: the URL of a placeholder name, without the name.
        or request.path.startswith((component_url("_") or "/live/components/_/")[:-2])
    )
    if wants_json:
        return JsonResponse(
            {"error": f"CSRF verification failed: {reason}", "code": protocol.FORBIDDEN},
            status=403,
        )
    return django_csrf_failure(request, reason)


def job_page(request: HttpRequest, job_id: Any) -> HttpResponse:
    """Render a job's live progress page; any worker can, the job lives in the database."""
    from django.contrib import admin
    from django.contrib.auth.views import redirect_to_login
    from django.shortcuts import get_object_or_404, render

    from live.models import Job

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    job = get_object_or_404(Job, pk=job_id)
    if not (request.user.is_superuser or job.owner_id == request.user.pk):
        return HttpResponse("Forbidden", status=403)
    context = {**admin.site.each_context(request), "job": job, "job_id": str(job.pk)}
    return render(request, "live/job.html", context)
