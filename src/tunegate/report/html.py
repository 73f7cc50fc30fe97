"""The self-contained HTML report, and writing a report's files atomically.

One HTML file with inline CSS and inline SVG plots: no script, no external asset, so it
opens from a CI artifact or an e-mail attachment as it is. jinja2 renders the package
template ``templates/report.html.j2`` with autoescaping; only the SVG text matplotlib
produced is inserted as markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.data import write_text_atomic

if TYPE_CHECKING:
    from tunegate.report.summary import RunReport

__all__ = ["ReportFiles", "render_html", "write_report"]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:+.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _short(value: str | None, length: int = 12) -> str:
    """The first characters of a hash; of each part of a base+adapter fingerprint."""
    return "-" if not value else "+".join(part[:length] for part in value.split("+"))


def _plots(report: RunReport) -> dict[str, Any]:
    """Every plot of the report as safe markup, rendered before the template runs."""
    from markupsafe import Markup

    from tunegate.report.plots import class_f1_svg, flip_rate_svg, trend_svg

    return {
        "trends": {trend.gate: Markup(trend_svg(trend)) for trend in report.trends
                   if not trend.steady},
        "class_f1": [Markup(class_f1_svg(table)) for table in report.class_f1],
        "flip_rates": Markup(flip_rate_svg(report.probes)) if report.probes else None,
    }


def render_html(report: RunReport, *, plots: bool = True) -> str:
    """The report as one HTML document; ``plots=False`` leaves the SVG plots out."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("tunegate.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True,
    )
    from tunegate.report.markdown import decision_quality

    environment.filters.update(num=_number, signed=_signed, pct=_percent, short=_short,
                               quality=decision_quality)
    drawn = _plots(report) if plots else {"trends": {}, "class_f1": [], "flip_rates": None}
    return environment.get_template("report.html.j2").render(report=report, plots=drawn)


def write_report(report: RunReport, out: Path) -> ReportFiles:
    """Render the HTML report and the Markdown summary, then write both into ``out``.

    Both are rendered before either is written, so a rendering error leaves ``out``
    untouched.
    """
    from tunegate.report.markdown import render_markdown

    html, markdown = render_html(report), render_markdown(report)
    files = ReportFiles(out / "report.html", out / "summary.md")
    write_text_atomic(files.html, html)
    write_text_atomic(files.markdown, markdown)
    return files
