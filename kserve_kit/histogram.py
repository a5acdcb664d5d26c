"""A latency histogram people would rather look at than read: `make smoke SMOKE_ARGS="--requests 200
--histogram docs/latency.md"` (or `make latency`) writes one chart per protocol, with p50, p95 and
p99 marked, as a self-contained page: inline SVG, no script, no external file. A `.md` path is a
TechDocs page (mkdocs shows the SVG as it is); any other is an HTML page.
"""

from __future__ import annotations

import datetime
import html
from pathlib import Path

BINS = 24
WIDTH, HEIGHT, MARGIN = 720, 260, 40
MARKS = {"p50": "#2b7a0b", "p95": "#c77700", "p99": "#b00020"}


def bins(latencies_ms: list[float]) -> tuple[list[int], float]:
    """Counts in BINS equal bins from 0 to the slowest request, and the bin width (ms)."""
    top = max(latencies_ms) or 1.0
    width = top / BINS
    counts = [0] * BINS
    for value in latencies_ms:
        counts[min(int(value / width), BINS - 1)] += 1
    return counts, width


def chart(title: str, latencies_ms: list[float], marks: dict[str, float]) -> str:
    """One histogram as an SVG element."""
    counts, width = bins(latencies_ms)
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    bar_w, tallest = plot_w / BINS, max(counts) or 1
    x_of = lambda ms: MARGIN + ms / (width * BINS) * plot_w  # noqa: E731 - a scale, read once
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{html.escape(title)}" font-family="sans-serif" font-size="11">',
             f'<text x="{MARGIN}" y="16" font-size="13">{html.escape(title)}</text>']  # fmt: skip
    for index, count in enumerate(counts):
        bar_h = count / tallest * plot_h
        parts.append(f'<rect x="{MARGIN + index * bar_w:.1f}" y="{HEIGHT - MARGIN - bar_h:.1f}" '
                     f'width="{bar_w - 1:.1f}" height="{bar_h:.1f}" fill="#4a78b5"><title>{count} requests, '
                     f'{index * width:.1f}-{(index + 1) * width:.1f} ms</title></rect>')  # fmt: skip
    axis_y = HEIGHT - MARGIN
    parts.append(f'<line x1="{MARGIN}" y1="{axis_y}" x2="{WIDTH - MARGIN}" y2="{axis_y}" stroke="#333"/>')
    for tick in range(0, BINS + 1, BINS // 4):
        parts.append(f'<text x="{MARGIN + tick * bar_w:.1f}" y="{axis_y + 14}" text-anchor="middle">'
                     f"{tick * width:.1f} ms</text>")  # fmt: skip
    parts.append(f'<text x="6" y="{MARGIN + 4}">{tallest}</text><text x="6" y="{axis_y}">0</text>')
    for row, (name, value) in enumerate(marks.items()):
        x = x_of(value)
        color = MARKS[name]
        parts.append(f'<line x1="{x:.1f}" y1="{MARGIN - 6}" x2="{x:.1f}" y2="{axis_y}" stroke="{color}" '
                     f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{MARGIN + 8 + 12 * row}" fill="{color}">'
                     f"{name} {value:.1f} ms</text>")  # fmt: skip
    parts.append("</svg>")
    return "\n".join(parts)


def write_page(path: Path, service: str, described: str, charts: list[str], summaries: list[str]) -> None:
    """The charts and their one-line summaries as a Markdown (TechDocs) or HTML page at `path`."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = f"Measured by `make smoke` against {described}, {when}."
    body = "\n\n".join(f"<p>{html.escape(summary)}</p>\n{svg}" for summary, svg in zip(summaries, charts, strict=True))
    if path.suffix == ".md":
        text = f"# Latency of {service}\n\n{intro}\n\n{body}\n"
    else:
        text = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Latency of '
                f"{html.escape(service)}</title></head>\n<body>\n<h1>Latency of {html.escape(service)}</h1>\n"
                f"<p>{html.escape(intro)}</p>\n{body}\n</body></html>\n")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
