"""Outreach: links and QR codes for posters, and reach per campaign without tracking anyone.

Counters are aggregate (per day, campaign, language and entry topic; see `Engine.count`), never
per person, and expire after STATS_TTL_DAYS. Counts from 1 to 4 are shown as "<5" so that nobody
can be singled out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import segno

from bot import links
from bot.i18n import N_

METRICS = ("start", "answer", "booking", "person")
CAPTION = N_("Questions about voluntary return? Scan to ask in your language.")  # under a poster's QR code
SMALL = 5  # counts below this are shown as "<5"


def qr(url: str, out: Path, caption: str | None = None) -> None:
    """Write a QR code for `url` as PNG or SVG (by file suffix), with an optional caption under it."""
    code = segno.make(url, error="m")
    if out.suffix.lower() == ".svg":
        buf = io.BytesIO()
        code.save(buf, kind="svg", scale=10, border=4)
        svg = buf.getvalue().decode()
        if caption:
            width, height = (v * 10 for v in code.symbol_size(border=4))
            svg = svg.replace(f'height="{height}"', f'height="{height + 60}"', 1)
            svg = svg.replace("</svg>", f'<text x="{width / 2}" y="{height + 35}" text-anchor="middle" '
                                        f'font-family="sans-serif" font-size="22">{escape(caption)}</text></svg>')
        out.write_text(svg, encoding="utf-8")
    elif out.suffix.lower() == ".png":
        code.save(str(out), kind="png", scale=10, border=4)
        if caption:
            _png_caption(out, caption)
    else:
        raise ValueError("the QR file must end in .png or .svg")


def _png_caption(path: Path, caption: str) -> None:
    from PIL import Image, ImageDraw, ImageFont

    if not all(ord(ch) < 0x250 for ch in caption):
        raise ValueError("PNG captions support Latin script only here; use an .svg file for this language")
    image = Image.open(path).convert("RGB")
    font = ImageFont.load_default(size=22)
    canvas = Image.new("RGB", (image.width, image.height + 50), "white")
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    box = draw.textbbox((0, 0), caption, font=font)
    draw.text(((image.width - (box[2] - box[0])) / 2, image.height + 10), caption, fill="black", font=font)
    canvas.save(path)


@dataclass(frozen=True)
class Row:
    day: str
    campaign: str
    lang: str
    topic: str
    counts: dict[str, int]


def rows(counters: dict[str, dict[str, int]], campaign: str | None = None, since: dt.date | None = None) -> list[Row]:
    """Counter hashes as table rows, filtered, oldest day first."""
    grouped: dict[tuple[str, str, str, str], dict[str, int]] = {}
    for day, fields in counters.items():
        if since and day < since.isoformat():
            continue
        for field, n in fields.items():
            camp, lang, topic, metric = field.split("|")
            if campaign and camp != campaign:
                continue
            grouped.setdefault((day, camp, lang, topic), {})[metric] = n
    return [Row(*key, counts) for key, counts in sorted(grouped.items())]


def shown(n: int) -> str:
    """A count as published: small numbers are suppressed."""
    return "0" if n == 0 else f"<{SMALL}" if n < SMALL else str(n)


def table(data: list[Row], as_csv: bool = False) -> str:
    header = ["day", "campaign", "language", "entry topic", *METRICS]
    lines = [[r.day, r.campaign, r.lang, r.topic, *(shown(r.counts.get(m, 0)) for m in METRICS)] for r in data]
    if as_csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(lines)
        return buf.getvalue()
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join(fmt.format(*line) for line in [header, *lines]) + "\n"


def sheet(path: Path, out_dir: Path, bot: str, caption_for) -> list[tuple[str, Path]]:
    """One link and QR code per CSV row (columns: lang, topic, country, campaign, name)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    with path.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), 1):
            link = links.Link(lang=row.get("lang") or None, topic=row.get("topic") or None,
                              country=(row.get("country") or "").upper() or None, campaign=row.get("campaign") or None)
            url = links.url(bot, links.encode(link))
            name = (row.get("name") or f"link-{i}").strip().replace("/", "-")
            target = out_dir / f"{name}.svg"
            qr(url, target, caption_for(link.lang))
            made.append((url, target))
    return made
