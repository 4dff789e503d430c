"""Static snapshots of what the App shows, for ``session.freeze()``: a self-contained HTML page or a PNG.

A snapshot takes the first samples of a view (the session's view with the
browser's sidebar filters and sort applied) and draws them like the App's grid:
thumbnail, ground-truth and predicted labels in their class colours, a mark
where they disagree, and the score. Images are embedded, so the HTML file can
be shared or opened without a server.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from labellens.brain.score_fields import default_score_field
from labellens.server.colors import class_order, class_rgb
from labellens.server.query import GridSchema, build_view

THUMB = 160
COLUMNS = 8


@dataclass(frozen=True)
class Tile:
    """What one grid tile shows."""

    filepath: str
    labels: list[tuple[str, str]]
    score: float | None
    tags: list[str]

    @property
    def disagrees(self) -> bool:
        names = [label for _, label in self.labels]
        return len(names) > 1 and any(name != names[0] for name in names[1:])


@dataclass(frozen=True)
class Snapshot:
    """The tiles of a view and what the header says about it."""

    title: str
    subtitle: str
    score_field: str | None
    classes: list[str]
    tiles: list[Tile]


def collect(dataset: Any, stages: Sequence[dict[str, Any]], filters: Mapping[str, Any],
            limit: int) -> Snapshot:
    """Read the first ``limit`` tiles of the view the App shows."""
    session_view = build_view(dataset, {"view": list(stages)})
    view = build_view(dataset, {"view": list(stages), "filters": dict(filters)})
    grid = GridSchema.of(view.get_field_schema())
    sort = (filters.get("sort") or {}).get("field")
    numbers = grid.numeric_fields
    score = sort if sort in numbers else default_score_field(numbers)
    # The App colours by the classes of the session's view, before sidebar filters.
    seen = (label for name in grid.label_fields for label in session_view.distinct(f"{name}.label"))
    classes = class_order(list(dataset.default_classes or []), seen)
    paths = ["filepath", "tags", *(f"{name}.label" for name in grid.label_fields)]
    paths += [score] if score else []
    columns: dict[str, list[Any]] = {path: [] for path in paths}
    for batch in view.limit(limit).iter_batches(paths, batch_size=max(limit, 1)):
        for path in paths:
            columns[path] += batch[path]
    tiles = []
    for i, filepath in enumerate(columns["filepath"]):
        labels = [(name, columns[f"{name}.label"][i]) for name in grid.label_fields
                  if isinstance(columns[f"{name}.label"][i], str)]
        value = columns[score][i] if score else None
        tiles.append(Tile(filepath, labels, float(value) if isinstance(value, (int, float)) else None,
                          list(columns["tags"][i] or [])))
    total = view.count()
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    subtitle = f"{min(limit, total)} of {total} samples · {describe(stages, filters)} · {stamp}"
    return Snapshot(dataset.name, subtitle, score, classes, tiles)


def describe(stages: Sequence[dict[str, Any]], filters: Mapping[str, Any]) -> str:
    """A one-line description of a view and its sidebar filters."""
    parts = [stage.get("_cls", "?") for stage in stages]
    parts += [f"{key} filter" for key in ("tags", "ranges", "labels") if filters.get(key)]
    sort = filters.get("sort")
    if sort:
        parts.append(f"sorted by {sort.get('field')}{' desc' if sort.get('reverse') else ''}")
    return " > ".join(parts) or "whole dataset"


def _thumbnail(filepath: str) -> Image.Image | None:
    try:
        with Image.open(filepath) as image:
            image.draft("RGB", (THUMB, THUMB))
            small = image.convert("RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    scale = THUMB / max(small.size)
    size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
    return small.resize(size, Image.Resampling.NEAREST if scale >= 2 else Image.Resampling.LANCZOS)


def render_html(snapshot: Snapshot) -> str:
    """A self-contained HTML page of the snapshot (images inlined as data URIs)."""
    cells = []
    for tile in snapshot.tiles:
        image = _thumbnail(tile.filepath)
        if image is not None:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
            media = f'<img src="{src}" alt="{html.escape(Path(tile.filepath).name)}">'
        else:
            media = '<div class="missing">missing image</div>'
        chips = "".join(
            f'<span class="chip" style="--c: rgb{class_rgb(label, snapshot.classes)}">'
            f'<b>{html.escape(field)}</b> {html.escape(label)}</span>' for field, label in tile.labels)
        score_name = html.escape(snapshot.score_field or "")
        score = (f'<span class="score" title="{score_name}">{tile.score:.3f}</span>'
                 if tile.score is not None else "")
        mark = '<span class="mark" title="prediction disagrees">≠</span>' if tile.disagrees else ""
        tags = "".join(f'<span class="tag">{html.escape(t)}</span>' for t in tile.tags[:4])
        cells.append(f'<div class="tile{" bad" if tile.disagrees else ""}"><div class="thumb">{media}</div>'
                     f'{score}{mark}<div class="tags">{tags}</div><div class="labels">{chips}</div></div>')
    return _PAGE.format(title=html.escape(snapshot.title), subtitle=html.escape(snapshot.subtitle),
                        cells="\n".join(cells))


def render_png(snapshot: Snapshot) -> Image.Image:
    """A contact sheet of the snapshot as one image."""
    rows = max(1, -(-len(snapshot.tiles) // COLUMNS))
    cell_w, cell_h, pad, head = THUMB + 12, THUMB + 52, 8, 56
    size = (COLUMNS * (cell_w + pad) + pad, head + rows * (cell_h + pad) + pad)
    sheet = Image.new("RGB", size, (21, 23, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    draw.text((pad, 8), snapshot.title, fill=(230, 232, 238), font=ImageFont.load_default(size=20))
    draw.text((pad, 34), snapshot.subtitle, fill=(154, 161, 178), font=font)
    for i, tile in enumerate(snapshot.tiles):
        x = pad + (i % COLUMNS) * (cell_w + pad)
        y = head + (i // COLUMNS) * (cell_h + pad)
        draw.rounded_rectangle((x, y, x + cell_w, y + cell_h), radius=6, fill=(29, 32, 39),
                               outline=(255, 77, 94) if tile.disagrees else None, width=2)
        image = _thumbnail(tile.filepath)
        if image is not None:
            sheet.paste(image, (x + 6 + (THUMB - image.width) // 2, y + 6 + (THUMB - image.height) // 2))
        if tile.score is not None:
            draw.text((x + cell_w - 46, y + 8), f"{tile.score:.3f}", fill=(255, 255, 255), font=font,
                      stroke_width=2, stroke_fill=(0, 0, 0))
        text_x = x + 6
        for _, label in tile.labels:
            colour = class_rgb(label, snapshot.classes)
            width = draw.textlength(label, font=font) + 10
            draw.rounded_rectangle((text_x, y + THUMB + 14, text_x + width, y + THUMB + 32), radius=8,
                                   outline=colour, width=1)
            draw.text((text_x + 5, y + THUMB + 16), label, fill=colour, font=font)
            text_x += width + 4
    return sheet


def write(snapshot: Snapshot, path: Path) -> Path:
    """Write the snapshot as PNG (``.png`` paths) or HTML (anything else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        render_png(snapshot).save(path)
    else:
        path.write_text(render_html(snapshot), encoding="utf-8")
    return path


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · labellens snapshot</title>
<style>
body {{ margin: 0; padding: 16px; background: #15171c; color: #e6e8ee; font: 14px system-ui, sans-serif; }}
h1 {{ margin: 0; font-size: 20px; }} .sub {{ color: #9aa1b2; margin: 4px 0 14px; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 10px; }}
.tile {{ position: relative; background: #1d2027; border-radius: 8px; overflow: hidden;
  border: 2px solid transparent; }}
.tile.bad .thumb {{ box-shadow: inset 0 0 0 3px #ff4d5e; }}
.thumb {{ background: #0d0e11; aspect-ratio: 1; display: flex; align-items: center;
  justify-content: center; }}
.thumb img {{ width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }}
.missing {{ color: #9aa1b2; }}
.score {{ position: absolute; top: 6px; right: 6px; background: rgba(0,0,0,.7); border-radius: 10px;
  padding: 1px 6px; font-size: 12px; font-weight: 600; }}
.mark {{ position: absolute; top: 30px; right: 6px; background: #ff4d5e; border-radius: 10px; padding: 0 6px;
  font-weight: 700; font-size: 12px; }}
.tags {{ position: absolute; top: 6px; left: 6px; display: flex; gap: 3px; }}
.tag {{ font-size: 10px; padding: 0 5px; border-radius: 4px; background: rgba(0,0,0,.7); color: #9aa1b2; }}
.labels {{ display: flex; flex-wrap: wrap; gap: 4px; padding: 6px; }}
.chip {{ font-size: 12px; padding: 1px 7px; border-radius: 10px; border: 1px solid var(--c);
  background: color-mix(in srgb, var(--c) 28%, transparent); }}
.chip b {{ font-weight: 400; color: #9aa1b2; font-size: 10px; text-transform: uppercase; }}
</style></head><body>
<h1>{title}</h1><div class="sub">{subtitle}</div>
<div class="grid">
{cells}
</div></body></html>
"""
