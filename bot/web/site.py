"""The public site: programme, sector schedules, meetings, calendar and Atom feeds, health."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import ics
from bot.config import Config
from bot.consultation_report import to_docx
from bot.i18n import Texts
from bot.services import public as public_service
from bot.services import public_consultations
from bot.services.public import CalendarFeed, PostulateFilters, Reader

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LastRun = Callable[[], datetime | None]
Endpoint = Callable[[Request], Awaitable[Response]]

SECURITY_HEADERS = {
    # Only this site's own stylesheet and images: no CDN, no inline script, no tracking.
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
ATOM = "http://www.w3.org/2005/Atom"
_TIME_FORMAT = "EEEE, d MMMM y, HH:mm"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_REFERENCE = re.compile(r"P-\d{4}-\d{4,6}")
_NUMBER = re.compile(r"[1-9]\d{0,17}")
FILTERS = ("sector", "state", "call", "page")
# Calendar bodies kept (both languages of the whole calendar and of every sector fit).
FEED_CACHE = 64


class SecurityHeaders:
    """Adds the security headers to every response, error pages included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _language(request: Request) -> str:
    path = request.url.path
    return "en" if path == "/en" or path.startswith("/en/") else "pl"


class Site:
    """Renders the public service results as pages and feeds, in Polish or English."""

    def __init__(
        self,
        config: Config,
        reader: Reader,
        texts: Texts,
        bot_username: str,
        clock: Clock,
        engine_last_run: LastRun,
    ) -> None:
        self.engine_last_run = engine_last_run
        self.config = config
        self.reader = reader
        self.texts = texts
        self.bot_username = bot_username
        self.clock = clock
        self._feeds: dict[tuple[str, str | None, str], bytes] = {}
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # Helpers the templates use.

    def _base_url(self, request: Request) -> str:
        configured = self.config.web.public_url
        return (configured or str(request.base_url)).rstrip("/")

    def _context(self, request: Request, **values: Any) -> dict[str, Any]:
        language = _language(request)
        prefix = "/en" if language == "en" else ""
        path = request.url.path
        bare = path[3:] or "/" if language == "en" else path
        other = bare if language == "en" else ("/en" + bare if bare != "/" else "/en/")
        zone = self.config.zone
        base = self._base_url(request)

        def t(key: str, /, **kw: object) -> Markup:
            return Markup(self.texts.get(language, key, **kw))

        def tp(key: str, count: int, /, **kw: object) -> Markup:
            return Markup(self.texts.plural(language, key, count, **kw))

        def when(instant: datetime) -> str:
            return babel_datetime(instant, _TIME_FORMAT, tzinfo=zone, locale=language)

        def day(value: date) -> str:
            return format_date(value, "long", locale=language)

        def link(target: str) -> str:
            return prefix + target if target != "/" else (prefix + "/" if prefix else "/")

        def webcal(target: str) -> str:
            absolute = base + prefix + target
            return "webcal://" + absolute.split("://", 1)[1]

        return {
            "lang": language,
            "t": t,
            "tp": tp,
            "when": when,
            "day": day,
            "link": link,
            "webcal": webcal,
            "other_link": other,
            "other_lang": "pl" if language == "en" else "en",
            "bot": self.bot_username,
            "zone": zone.key,
            **values,
        }

    def page(
        self, request: Request, template: str, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        """Render one page with the layout's context."""
        body = self.env.get_template(template).render(self._context(request, **values))
        return HTMLResponse(body, status_code=status_code)

    # Pages.

    async def home(self, request: Request) -> Response:
        """/: the coordinating team and every sector team."""
        programme = await public_service.programme(self.reader, self.clock())
        return self.page(request, "index.html", programme=programme)

    async def sector(self, request: Request) -> Response:
        """/sectors/<slug>: the team's schedule."""
        slug = str(request.path_params["slug"])
        schedule = await public_service.sector_schedule(self.reader, slug, self.clock())
        if schedule is None:
            raise HTTPException(404)
        return self.page(request, "sector.html", schedule=schedule)

    async def meeting(self, request: Request) -> Response:
        """/meetings/<id>: one meeting."""
        detail = await public_service.meeting_detail(self.reader, request.path_params["id"])
        if detail is None:
            raise HTTPException(404)
        return self.page(request, "meeting.html", detail=detail)

    async def meeting_ics(self, request: Request) -> Response:
        """/meetings/<id>.ics: the same file the bot sends, with the same UID."""
        detail = await public_service.meeting_detail(self.reader, request.path_params["id"])
        if detail is None:
            raise HTTPException(404)
        body = ics.ics_bytes(
            [detail.entry], _language(request), self.bot_username, self.config.zone
        )
        name = f"meeting-{detail.entry.meeting.id}.ics"
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def postulates(self, request: Request) -> Response:
        """/postulates: the public record, filtered by sector, state and call, a page at a time."""
        filters = _filters(request)
        listing = None
        if filters is not None:
            listing = await public_service.postulate_list(self.reader, filters)
        if listing is None:
            return self.page(request, "error.html", status_code=400, problem="bad-query")

        def page_link(page: int) -> str:
            chosen = listing.filters.model_dump(exclude_none=True) | {"page": page}
            if page == 1:
                del chosen["page"]
            query = "&".join(f"{key}={value}" for key, value in chosen.items())
            return request.url.path + ("?" + query if query else "")

        return self.page(
            request,
            "postulates.html",
            listing=listing,
            states=public_service.PUBLIC_STATES,
            page_link=page_link,
        )

    async def postulate(self, request: Request) -> Response:
        """/postulates/<ref>: one postulate's public record."""
        reference = str(request.path_params["ref"])
        record = None
        if _REFERENCE.fullmatch(reference):
            record = await public_service.postulate_record(self.reader, reference)
        if record is None:
            raise HTTPException(404)
        return self.page(request, "postulate.html", record=record)

    async def consultations(self, request: Request) -> Response:
        """/consultations: the published consultations of the draft Programme."""
        found = await public_consultations.consultation_list(self.reader, self.clock())
        return self.page(request, "consultations.html", consultations=found)

    async def consultation(self, request: Request) -> Response:
        """/consultations/<id>: its window, sections, public comments and answers, report."""
        record = await public_consultations.consultation_record(
            self.reader, request.path_params["id"], self.clock()
        )
        if record is None:
            raise HTTPException(404)
        return self.page(request, "consultation.html", record=record)

    async def consultation_report(self, request: Request) -> Response:
        """/consultations/<id>/report.docx: the published report, the file /consultation_report
        sends (in the deployment's language, whatever the page's)."""
        consultation_id = request.path_params["id"]
        report = await public_consultations.consultation_report(self.reader, consultation_id)
        if report is None:
            raise HTTPException(404)
        body = to_docx(report, self.texts, self.config.default_language, self.config.zone)
        name = f"konsultacje-{consultation_id}.docx"
        return Response(
            body,
            media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def accessibility(self, request: Request) -> Response:
        """/dostepnosc: the accessibility statement."""
        return self.page(request, "accessibility.html", web=self.config.web)

    # Feeds.

    async def calendar(self, request: Request) -> Response:
        """/calendar.ics and /calendar/<slug>.ics: subscribable feeds, answered 304 if unchanged."""
        slug = request.path_params.get("slug")
        feed = await public_service.calendar_feed(self.reader, self.clock(), slug)
        if feed is None:
            raise HTTPException(404)
        headers = _validators(feed)
        if _not_modified(request, feed):
            return Response(status_code=304, headers=headers)
        language = _language(request)
        key = (language, slug, feed.etag)
        body = self._feeds.get(key)
        if body is None:
            # Building hundreds of events costs far more than the query: a feed is rebuilt
            # only when its ETag (its meetings and their versions) changes.
            body = ics.ics_bytes(feed.entries, language, self.bot_username, self.config.zone)
            if len(self._feeds) >= FEED_CACHE:
                self._feeds.pop(next(iter(self._feeds)))
            self._feeds[key] = body
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    async def atom(self, request: Request) -> Response:
        """/feed.atom: meetings published, changed or cancelled and calls opened."""
        items = await public_service.activity(self.reader)
        language = _language(request)
        prefix = "/en" if language == "en" else ""
        base = self._base_url(request)
        ET.register_namespace("", ATOM)
        feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": language})

        def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> None:
            element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
            element.text = text

        newest = max((item.at for item in items), default=datetime(2000, 1, 1, tzinfo=UTC))
        sub(feed, "id", f"{base}{prefix}/feed.atom")
        sub(feed, "title", self.texts.get(language, "web.feed-title"))
        sub(feed, "updated", newest.astimezone(UTC).isoformat())
        sub(feed, "link", rel="self", href=f"{base}{prefix}/feed.atom")
        sub(feed, "link", rel="alternate", href=f"{base}{prefix}/")
        author = ET.SubElement(feed, f"{{{ATOM}}}author")
        sub(author, "name", self.config.web.body_name)
        for item in items:
            entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
            if item.meeting_id is not None:
                target = f"{base}{prefix}/meetings/{item.meeting_id}"
                ident = f"{base}/meetings/{item.meeting_id}#{item.at.astimezone(UTC).isoformat()}"
            elif item.reference is not None:
                target = f"{base}{prefix}/postulates/{item.reference}"
                ident = f"{base}/postulates/{item.reference}#{item.history_id}"
            else:
                target = f"{base}{prefix}/sectors/{item.team.slug}"
                ident = f"{base}/calls/{item.call_id}"
            # Escaped by ElementTree, so the catalogue's HTML-escaping is undone first.
            title = self.texts.get(language, f"web.feed-{item.kind}", title=item.title)
            sub(entry, "id", ident)
            sub(entry, "title", _unescape(title))
            sub(entry, "updated", item.at.astimezone(UTC).isoformat())
            sub(entry, "link", rel="alternate", href=target)
            sub(entry, "category", term=item.kind)
            sub(entry, "summary", item.team.name(language))
        body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    async def healthz(self, request: Request) -> Response:
        """/healthz: the database answers; when the delivery engine last finished a run."""
        try:
            health = await public_service.health(self.reader)
        except Exception:
            log.exception("Health check failed")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "database": "ok",
                "schema_version": health.schema_version,
                "engine_last_run_at": _iso(self.engine_last_run()),
            }
        )

    # Errors.

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """Any unknown path or id: a page in the path's language, never a traceback."""
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status != 404:
            return Response(status_code=status)
        return self.page(request, "error.html", status_code=404, problem="not-found")

    async def server_error(self, request: Request, exc: Exception) -> Response:
        """An unexpected failure: logged with its traceback, a plain page for the reader."""
        log.error("Page %s failed", request.url.path, exc_info=exc)
        return self.page(request, "error.html", status_code=500, problem="error")


def _filters(request: Request) -> PostulateFilters | None:
    """The list's query parameters, or None when one is unknown, repeated or malformed."""
    params = request.query_params
    if any(key not in FILTERS for key in params) or len(params.multi_items()) != len(params):
        return None
    sector = params.get("sector") or None
    state = params.get("state") or None
    call = params.get("call") or None
    page = params.get("page") or "1"
    if sector is not None and not _SLUG.fullmatch(sector):
        return None
    if state is not None and state not in public_service.PUBLIC_STATES:
        return None
    if call is not None and not _NUMBER.fullmatch(call):
        return None
    if not _NUMBER.fullmatch(page) or int(page) > public_service.MAX_PAGE:
        return None
    return PostulateFilters(
        sector=sector, state=state, call=None if call is None else int(call), page=int(page)
    )


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).isoformat()


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _http_date(instant: datetime) -> str:
    return format_datetime(instant.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _validators(feed: CalendarFeed) -> Mapping[str, str]:
    headers = {"etag": f'"{feed.etag}"', "cache-control": "public, max-age=300"}
    if feed.last_modified is not None:
        headers["last-modified"] = _http_date(feed.last_modified)
    return headers


def _not_modified(request: Request, feed: CalendarFeed) -> bool:
    # RFC 9110: If-None-Match wins over If-Modified-Since when both are sent.
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return f'"{feed.etag}"' in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since is None or feed.last_modified is None:
        return False
    try:
        stamp = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if stamp.tzinfo is None:
        return False
    return feed.last_modified.replace(microsecond=0) <= stamp


def build_site(
    config: Config,
    reader: Reader,
    texts: Texts,
    bot_username: str,
    clock: Clock,
    engine_last_run: LastRun = lambda: None,
    routes: Sequence[Route] = (),
) -> ASGIApp:
    """Build the site's ASGI application over a read-only reader.

    `engine_last_run`: when the bot's delivery engine last finished a run (None: not yet);
    `routes`: served first, before the pages (the webhook's).
    """
    site = Site(config, reader, texts, bot_username, clock, engine_last_run)
    pages: list[tuple[str, Endpoint]] = [
        ("/", site.home),
        ("/sectors/{slug:str}", site.sector),
        ("/meetings/{id:int}", site.meeting),
        ("/meetings/{id:int}.ics", site.meeting_ics),
        ("/postulates", site.postulates),
        ("/postulates/{ref:str}", site.postulate),
        ("/consultations", site.consultations),
        ("/consultations/{id:int}", site.consultation),
        ("/consultations/{id:int}/report.docx", site.consultation_report),
        ("/dostepnosc", site.accessibility),
        ("/calendar.ics", site.calendar),
        ("/calendar/{slug:str}.ics", site.calendar),
        ("/feed.atom", site.atom),
    ]
    served: list[Route | Mount] = [*routes, Route("/healthz", site.healthz)]
    for path, endpoint in pages:
        served.append(Route(path, endpoint))
        served.append(Route("/en" + path if path != "/" else "/en/", endpoint))
    served.append(Route("/en", site.home))
    served.append(Mount("/static", StaticFiles(packages=[("bot.web", "static")]), name="static"))
    app = Starlette(
        routes=served,
        exception_handlers={HTTPException: site.not_found, Exception: site.server_error},
    )
    return SecurityHeaders(app)
