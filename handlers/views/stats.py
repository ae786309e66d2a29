"""Statistics presentation: the rate as people read it and the PNG chart drawn with matplotlib.

matplotlib is imported only when a chart is drawn (the idle bot's memory is benchmarked),
with the headless Agg backend and without pyplot's global state, in a worker thread.
"""

from __future__ import annotations

import html
import io
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.config import Language
from bot.i18n import Html, Texts, escape
from bot.services.stats import (
    DELIVERY_OUTCOMES,
    POSTULATE_STATES,
    RSVP_ANSWERS,
    SectorStats,
    Stats,
)


def month_label(data: Stats, language: Language, zone: ZoneInfo) -> str:
    """'listopad 2026' / 'November 2026'."""
    local = data.since.astimezone(zone)
    return str(format_date(local.date(), "LLLL y", locale=language))


def _active(sector: SectorStats) -> bool:
    """Something happened in the sector this month, or it has postulates to show."""
    return bool(
        sector.joined
        or sector.left
        or sector.meetings_held
        or any(sector.rsvps.values())
        or any(sector.postulates.values())
    )


def _items(
    texts: Texts, language: Language, prefix: str, counts: dict[str, int], order: tuple[str, ...]
) -> str:
    return ", ".join(
        texts.get(
            language,
            "stats.postulate-state",
            state=texts.get(language, f"{prefix}{key}"),
            count=counts[key],
        )
        for key in order
        if counts.get(key)
    )


def _sector(sector: SectorStats, language: Language, texts: Texts) -> Html:
    lines = [texts.get(language, "stats.sector-title", name=sector.team.name(language))]
    subscribers = texts.plural(language, "stats.subscriber-count", sector.subscribers)
    changes = [
        texts.plural(language, key, count)
        for key, count in (("stats.joined", sector.joined), ("stats.left", sector.left))
        if count
    ]
    if changes:
        lines.append(
            texts.get(
                language,
                "stats.subscribers-change",
                subscribers=subscribers,
                changes=Html(", ".join(changes)),
            )
        )
    else:
        lines.append(texts.get(language, "stats.subscribers-line", subscribers=subscribers))
    if sector.meetings_held:
        lines.append(texts.plural(language, "stats.meetings", sector.meetings_held))
    answers = _items(texts, language, "stats.rsvp-", sector.rsvps, RSVP_ANSWERS)
    if answers:
        lines.append(texts.get(language, "stats.answers", answers=Html(answers)))
    states = _items(texts, language, "stats.state-", sector.postulates, POSTULATE_STATES)
    if states:
        total = sum(sector.postulates.get(state, 0) for state in POSTULATE_STATES)
        lines.append(texts.plural(language, "stats.postulates", total, states=Html(states)))
    return Html("\n".join(lines))


def summary_text(data: Stats, language: Language, texts: Texts, month: str) -> Html:
    """The figures behind the chart: a paragraph per sector with activity, the quiet sectors in
    one line (the chart shows every sector), then consultations and deliveries."""
    scope = "stats.scope-all" if data.all_sectors else "stats.scope-mine"
    parts = [texts.get(language, "stats.title", month=month, scope=texts.get(language, scope))]
    active = [sector for sector in data.sectors if _active(sector)]
    parts.extend(_sector(sector, language, texts) for sector in active)
    if not active:
        parts.append(texts.get(language, "stats.no-activity"))
    # A quiet sector's followers are worth a word; "(0 subscribers)" eight times is not.
    quiet = [
        texts.get(
            language,
            "stats.quiet-sector",
            name=sector.team.name(language),
            subscribers=texts.plural(language, "stats.subscriber-count", sector.subscribers),
        )
        if sector.subscribers
        else escape(sector.team.name(language))
        for sector in data.sectors
        if not _active(sector)
    ]
    if quiet:
        parts.append(texts.get(language, "stats.quiet", sectors=Html(", ".join(quiet))))
    for consultation in data.consultations:
        sections = [
            texts.get(
                language,
                "stats.consultation-section",
                number=section.number,
                title=section.title,
                count=section.comments,
            )
            for section in consultation.sections
        ]
        parts.append(
            texts.plural(
                language,
                "stats.consultation",
                consultation.comments,
                id=consultation.id,
                title=consultation.title,
                sections=Html("\n".join(sections)),
            )
        )
    rate = data.success_rate
    if rate is None:
        parts.append(texts.get(language, "stats.deliveries-none"))
    else:
        counts = data.deliveries
        parts.append(
            texts.get(
                language,
                "stats.deliveries",
                sent=counts.get("sent", 0),
                total=data.finished_deliveries,
                rate=format_rate(rate, language),
                failed=counts.get("failed", 0),
                blocked=counts.get("blocked", 0),
                unknown=counts.get("unknown", 0),
                expired=counts.get("expired", 0),
                pending=counts.get("pending", 0) + counts.get("sending", 0),
            )
        )
    return Html("\n\n".join(parts))


def format_rate(rate: float, language: Language) -> str:
    """A share as a percentage with one decimal: '87.5%', in Polish '87,5 %'."""
    value = f"{rate * 100:.1f}"
    return value.replace(".", ",") + " %" if language == "pl" else value + "%"


def render_chart(data: Stats, language: Language, texts: Texts) -> bytes:
    """Draw the figures as one PNG (four panels); call it in a worker thread."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    def label(key: str, **values: object) -> str:
        # Chart labels are plain text: the catalogue's HTML escaping is undone.
        return html.unescape(texts.get(language, key, **values))

    names = [sector.team.name(language) for sector in data.sectors]
    rows = list(range(len(names)))
    figure = Figure(figsize=(13, 3 + 0.9 * len(names)), dpi=100, layout="constrained")
    (subs, meets), (posts, sends) = figure.subplots(2, 2)

    subs.barh(rows, [s.subscribers for s in data.sectors], color="#2b6cb0")
    for row, sector in zip(rows, data.sectors, strict=True):
        subs.annotate(
            f"{sector.change:+d}",
            (sector.subscribers, row),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
        )
    subs.set_title(label("stats.chart-subscribers"))

    height = 0.8 / (1 + len(RSVP_ANSWERS))
    meets.barh(
        [row - 0.4 + height / 2 for row in rows],
        [s.meetings_held for s in data.sectors],
        height=height,
        label=label("stats.chart-meetings"),
        color="#4a5568",
    )
    for index, answer in enumerate(RSVP_ANSWERS, start=1):
        meets.barh(
            [row - 0.4 + height / 2 + index * height for row in rows],
            [s.rsvps.get(answer, 0) for s in data.sectors],
            height=height,
            label=label(f"stats.rsvp-{answer}"),
        )
    meets.set_title(label("stats.chart-rsvps"))
    meets.legend(fontsize="small")

    left = [0] * len(rows)
    for state in POSTULATE_STATES:
        values = [s.postulates.get(state, 0) for s in data.sectors]
        if any(values):
            posts.barh(rows, values, left=left, label=label(f"stats.state-{state}"))
            left = [a + b for a, b in zip(left, values, strict=True)]
    posts.set_title(label("stats.chart-postulates"))
    if any(left):
        posts.legend(fontsize="small")

    for axes in (subs, meets, posts):
        axes.set_yticks(rows, names)
        axes.invert_yaxis()
        axes.xaxis.get_major_locator().set_params(integer=True)

    outcomes = [data.deliveries.get(state, 0) for state in DELIVERY_OUTCOMES]
    sends.barh(
        list(range(len(outcomes))),
        outcomes,
        color=["#38a169", "#e53e3e", "#dd6b20", "#718096", "#a0aec0"],
    )
    sends.set_yticks(
        list(range(len(outcomes))),
        [label(f"stats.delivery-{state}") for state in DELIVERY_OUTCOMES],
    )
    sends.invert_yaxis()
    rate = data.success_rate
    percent = "–" if rate is None else format_rate(rate, language)
    sends.set_title(label("stats.chart-deliveries", rate=percent))
    sends.xaxis.get_major_locator().set_params(integer=True)
    subs.margins(x=0.12)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
