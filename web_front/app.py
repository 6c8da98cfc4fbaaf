"""The web front's application: its pages (public.py, staff.py), and what every page shares:
rendering in the chosen language, cookies, the CSRF check, security headers, the client's address,
metrics."""
from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client import Counter, Histogram
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hall.catalogue import OrgChart
from services.privacy import mask_id, mask_phone

from . import i18n
from .apis import ApiError, Apis
from .board import BoardFeed
from .links import RatingLinks
from .pads import Pads
from .sessions import Sessions

HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")

REQUESTS = Counter("onewindow_web_requests_total", "Requests answered by the web front", ["route", "status"])
LATENCY = Histogram("onewindow_web_request_seconds", "Time to answer a request of the web front", ["route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


@dataclass
class Front:
    """What the pages use: the APIs, the sessions, the rating links, the board feed, the org chart."""
    apis: Apis
    sessions: Sessions
    links: RatingLinks
    board: BoardFeed
    org: OrgChart  # the county's name, what to call a post
    pads: Pads
    public_url: str  # where the public reaches the front: the QR codes' links
    templates: Jinja2Templates | None = None

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


def front_of(request: Request) -> Front:
    return request.app.state.front


def secure(request: Request) -> bool:
    """Served over TLS, directly or through a trusted proxy that says so."""
    return request.url.scheme == "https"


def cookie_name(request: Request, name: str) -> str:
    """A `__Host-` cookie under TLS (Secure, this host only, path /); a plain name over HTTP, which
    only localhost may sign in over."""
    return f"__Host-{name}" if secure(request) else name


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A cookie for the browser's session: HttpOnly, Secure under TLS, SameSite strict for the
    signed-in session (lax for the public's CSRF token, so that a link into a form still works)."""
    response.set_cookie(cookie_name(request, name), value, path="/", secure=secure(request), httponly=True,
                        samesite="strict" if name == "session" else "lax")


def client(request: Request) -> str:
    """The real client's address (its proxy's X-Forwarded-For only when the proxy is trusted)."""
    return request.client.host if request.client else "unknown"


def local(request: Request) -> bool:
    try:
        return ipaddress.ip_address(client(request)).is_loopback
    except ValueError:
        return False


def anonymous_csrf(request: Request) -> tuple[str, bool]:
    """The browser's CSRF token for the public forms (double submit): (token, newly made)."""
    token = request.cookies.get(cookie_name(request, "csrf"), "")
    if len(token) >= 20:
        return token, False
    return secrets.token_urlsafe(24), True


def same_origin(request: Request) -> bool:
    """A state change comes from this site's own pages: a browser's `Origin` (sent with every
    POST) is this address or the public one, and `Sec-Fetch-Site` does not say cross-site. (The
    pages' `Referrer-Policy: same-origin` keeps links' addresses, which may hold signed rating
    links, from other sites, yet lets the browser name this origin: under `no-referrer` it sends
    `Origin: null`.)"""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # an older browser: the CSRF token alone decides
    return origin in (f"{request.url.scheme}://{request.url.netloc}", front_of(request).public_origin)


async def posted(request: Request, expected: str | None = None):
    """The posted form when it comes from this site and its CSRF token is the session's
    (`expected`) or, on the public's forms, the browser's cookie; None otherwise."""
    if not same_origin(request):
        return None
    data = await request.form()
    if expected is None:
        expected = request.cookies.get(cookie_name(request, "csrf"), "")
    given = str(data.get("csrf", ""))
    return data if expected and secrets.compare_digest(given.encode(), expected.encode()) else None


def staff_act(who):
    """A page module's POST handler of a signed-in person's act: `who(request)` is the module's own
    check of the person at the post (the person, or the answer to give instead), and the handler,
    `handler(request, person, data)`, runs only with that person and a form posted with their
    session's CSRF token; a form without it is expired, and nothing is done."""
    def decorate(handler):
        @functools.wraps(handler)
        async def act(request: Request) -> Response:
            person = await who(request)
            if isinstance(person, Response):
                return person
            data = await posted(request, person.session.csrf)
            if data is None:
                return expired_form(request)
            return await handler(request, person, data)
        return act
    return decorate


def expired_form(request: Request) -> HTMLResponse:
    """The answer to a POST without its CSRF token or from another site: refused, nothing done."""
    return render(request, "error.html", status=403, title="页面已过期",
                  text="表单已过期或来自其他网站，请返回重新填写。")


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """A page in the request's language, with the public forms' CSRF token; no caching of pages."""
    front = front_of(request)
    locale = i18n.choose(request.query_params.get("lang"), request.cookies.get("lang"))
    i18n.use(locale)
    csrf, new_csrf = anonymous_csrf(request)
    context.setdefault("csrf", csrf)
    response = front.templates.TemplateResponse(
        request, template, {"county": front.org.county, "lang": i18n.HTML_LANG[locale], "locale": locale,
                            "other_locale": "en" if locale == "zh-CN" else "zh-CN", **context},
        status_code=status)
    if new_csrf:
        set_cookie(request, response, "csrf", csrf)
    if request.query_params.get("lang") in i18n.LOCALES:
        response.set_cookie("lang", locale, max_age=365 * 86400, path="/", samesite="lax", secure=secure(request))
    return response


class Headers:
    """Security headers on every answer, `no-store` on every page (they may hold personal data),
    and the request metrics by route."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]
        static = scope["path"].startswith("/static/")

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                           or static]
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", "static" if static else "other")
            REQUESTS.labels(label, str(status[0])).inc()
            LATENCY.labels(label).observe(time.perf_counter() - started)


def build(front: Front, trusted_proxies: list[str], on_start=None, on_stop=None) -> Starlette:
    """The ASGI application; `on_start`/`on_stop` run at the server's start and stop."""
    from . import agents, centre, county_it, desk, duties, leaders, office, pad, projects, public, staff, township, work

    front.templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = front.templates.env
    env.globals["_"] = i18n.gettext_
    env.filters["yuan"] = lambda text: text if text and text != "0" else ""
    env.filters["mask_id"] = mask_id
    env.filters["mask_phone"] = mask_phone

    @asynccontextmanager
    async def lifespan(app):
        if on_start:
            await on_start()
        yield
        await front.board.stop()
        if on_stop:
            await on_stop()

    pages = (public, staff, desk, work, projects, duties, office, leaders, centre, county_it, pad, agents, township)
    app = Starlette(routes=[*(route for module in pages for route in module.ROUTES),
                            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")],
                    middleware=[Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies),
                                Middleware(Headers), Middleware(GZipMiddleware, minimum_size=500)],
                    exception_handlers={404: public.not_found, ApiError: public.failed, 500: public.failed},
                    lifespan=lifespan)
    app.state.front = front
    return app
