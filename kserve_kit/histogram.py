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
WIDTH, HEIGHT, MARGIN = 720, 280, 40
PLOT_TOP = 64  # the title and the percentile labels sit above the bars, never on them
MARKS = {"p50": "#2b7a0b", "p95": "#c77700", "p99": "#b00020"}


def bins(latencies_ms: list[float]) -> tuple[list[int], float, float]:
    """Counts in BINS equal bins from the fastest request to the slowest, the first bin's start and
    the bin width (ms)."""
    low, high = min(latencies_ms), max(latencies_ms)
    width = (high - low) / BINS or 1.0
    counts = [0] * BINS
    for value in latencies_ms:
        counts[min(int((value - low) / width), BINS - 1)] += 1
    return counts, low, width


def chart(title: str, latencies_ms: list[float], marks: dict[str, float]) -> str:
    """One histogram as an SVG element."""
    counts, low, width = bins(latencies_ms)
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - PLOT_TOP - MARGIN
    bar_w, tallest = plot_w / BINS, max(counts) or 1
    axis_y = HEIGHT - MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{html.escape(title)}" font-family="sans-serif" font-size="11">',
             f'<text x="{MARGIN}" y="16" font-size="13">{html.escape(title)}</text>']  # fmt: skip
    for index, count in enumerate(counts):
        bar_h = count / tallest * plot_h
        start = low + index * width
        parts.append(f'<rect x="{MARGIN + index * bar_w:.1f}" y="{axis_y - bar_h:.1f}" width="{bar_w - 1:.1f}" '
                     f'height="{bar_h:.1f}" fill="#4a78b5"><title>{count} requests, {start:.1f}-{start + width:.1f} '
                     "ms</title></rect>")  # fmt: skip
    parts.append(f'<line x1="{MARGIN}" y1="{axis_y}" x2="{WIDTH - MARGIN}" y2="{axis_y}" stroke="#333"/>')
    for tick in range(0, BINS + 1, BINS // 4):
        parts.append(f'<text x="{MARGIN + tick * bar_w:.1f}" y="{axis_y + 14}" text-anchor="middle">'
                     f"{low + tick * width:.1f} ms</text>")  # fmt: skip
    parts.append(f'<text x="6" y="{PLOT_TOP + 4}">{tallest}</text><text x="6" y="{axis_y}">0</text>')
    for row, (name, value) in enumerate(marks.items()):
        x, color = MARGIN + (value - low) / (width * BINS) * plot_w, MARKS[name]
        anchor, shift = ("end", -3) if x > WIDTH - 4 * MARGIN else ("start", 3)  # labels stay inside the chart
        label_y = 30 + 12 * row
        parts.append(f'<line x1="{x:.1f}" y1="{label_y + 2}" x2="{x:.1f}" y2="{axis_y}" stroke="{color}" '
                     f'stroke-dasharray="4 3"/><text x="{x + shift:.1f}" y="{label_y}" fill="{color}" '
                     f'text-anchor="{anchor}">{name} {value:.1f} ms</text>')  # fmt: skip
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
