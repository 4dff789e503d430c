"""Static snapshots of what the App shows, for ``session.freeze()``: a self-contained HTML page or a PNG.

A snapshot takes the first samples of a view (the session's view with the
browser's sidebar filters and sort applied). The HTML page is drawn by the App's
own grid code (thumbnail, labels in their class colours, a mark where they
disagree, the score); the PNG is a contact sheet of the same tiles. Images are
embedded, so the file can be shared or opened without a server.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from labellens.brain.default_score import default_score_field
from labellens.server.app import STATIC_DIR
from labellens.server.colors import class_order, class_rgb
from labellens.server.query import GridSchema, build_view

THUMB = 160
COLUMNS = 8


@dataclass(frozen=True)
class Tile:
    """What one grid tile shows: one ``(field, label or None)`` per label field, in the grid's order."""

    filepath: str
    labels: list[tuple[str, str | None]]
    score: float | None
    tags: list[str]

    @property
    def shown_labels(self) -> list[tuple[str, str]]:
        """The ``(field, label)`` chips the tile draws: the fields that hold a label."""
        return [(field, label) for field, label in self.labels if isinstance(label, str)]

    @property
    def disagrees(self) -> bool:
        """grid.js's rule: the first label field (the ground truth) holds a label, and another
        field holds a different one. Without a ground truth nothing disagrees."""
        values = [label for _, label in self.labels]
        truth = values[0] if values else None
        return (len(values) > 1 and isinstance(truth, str)
                and any(isinstance(v, str) and v != truth for v in values[1:]))


def format_number(value: float) -> str:
    """A number as grid.js's ``formatNumber`` writes it (the score badge of a tile).

    Integers in full (JavaScript's ``String``), else 3 decimals, or 1 from 100 on, rounded
    as ``Number.prototype.toFixed`` rounds: the exact binary value, ties away from zero.
    """
    if not math.isfinite(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
    if float(value).is_integer():
        return repr(float(value)) if abs(value) >= 1e21 else str(int(value))
    places = Decimal("0.1") if abs(value) >= 100 else Decimal("0.001")
    return format(Decimal(value).quantize(places, rounding=ROUND_HALF_UP), "f")


@dataclass(frozen=True)
class Snapshot:
    """The tiles of a view and what the header says about it."""

    title: str
    subtitle: str
    score_field: str | None
    classes: list[str]
    tiles: list[Tile]
    label_fields: list[str]


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
        labels = [(name, label if isinstance(label := columns[f"{name}.label"][i], str) else None)
                  for name in grid.label_fields]
        value = columns[score][i] if score else None
        # The App gets scores through to_json: a badge for finite numbers only.
        number = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value))
        tiles.append(Tile(filepath, labels, float(value) if number else None,
                          list(columns["tags"][i] or [])))
    total = view.count()
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    subtitle = f"{min(limit, total)} of {total} samples · {describe(stages, filters)} · {stamp}"
    return Snapshot(dataset.name, subtitle, score, classes, tiles, list(grid.label_fields))


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
    """A self-contained HTML page of the snapshot, drawn by the App's own grid code and stylesheet.

    The page carries the App's ``app.css`` and ``colors.js`` / ``api.js`` / ``grid.js``
    (bundled into one script) and the tiles as JSON with the images as data URIs,
    so a frozen snapshot looks exactly like the live grid and opens without a server.
    """
    samples = []
    for i, tile in enumerate(snapshot.tiles):
        sample: dict[str, Any] = {"id": f"tile-{i}", "filepath": tile.filepath, "tags": tile.tags,
                                  "thumbnail": _data_uri(tile.filepath)}
        sample.update({field: {"label": label} for field, label in tile.shown_labels})
        if snapshot.score_field and tile.score is not None:
            sample[snapshot.score_field] = tile.score
        samples.append(sample)
    data = {"classes": snapshot.classes, "labelFields": snapshot.label_fields,
            "scoreField": snapshot.score_field, "samples": samples}
    return _PAGE.format(title=html.escape(snapshot.title), subtitle=html.escape(snapshot.subtitle),
                        css=(STATIC_DIR / "app.css").read_text(encoding="utf-8"),
                        script=bundle_modules(GRID_MODULES), data=script_json(data))


# Characters that could end or change a script element's text (</script>, <!--, a CDATA end),
# or end a JavaScript line (U+2028, U+2029): written as JSON escapes, which JSON.parse and a
# JavaScript literal read back as the same characters.
_SCRIPT_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                                 "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside an HTML ``<script>`` element, whatever its strings hold."""
    return json.dumps(value).translate(_SCRIPT_ESCAPES)


GRID_MODULES = ("colors.js", "api.js", "dom.js", "labels/classification.js", "labels/index.js", "grid.js")
_IMPORT = re.compile(r'^import \{([^}]*)\} from "(\.\.?/[\w/-]+\.js)";$', re.MULTILINE)
_EXPORT = re.compile(r"^export (?:async )?(?:function\*?|class|const|let) (\w+)", re.MULTILINE)


def bundle_modules(names: Sequence[str]) -> str:
    """The App's ES modules ``names`` (paths under ``static/js``, dependencies first) as one classic script.

    Each module runs in its own function scope; ``import {a} from "./m.js"`` (or ``"../m.js"``)
    reads ``a`` from module ``m``'s exports. Only named imports of earlier modules are
    supported, which is all the grid's modules use.
    """
    return "\n".join(_bundled(name, names[:i]) for i, name in enumerate(names))


def _bundled(name: str, earlier: Sequence[str]) -> str:
    """Module ``name`` as a function scope returning its exports; it may import only ``earlier`` ones."""
    source = (STATIC_DIR / "js" / name).read_text(encoding="utf-8")

    def imported(match: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), match.group(2)))
        if target not in earlier:
            raise ValueError(f"{name} imports {target}, which is not bundled before it")
        return f"const {{{match.group(1)}}} = {_module_name(target)};"

    body = re.sub(r"^export ", "", _IMPORT.sub(imported, source), flags=re.MULTILINE)
    exports = ", ".join(_EXPORT.findall(source))
    return f"const {_module_name(name)} = (() => {{\n{body}\nreturn {{ {exports} }};\n}})();"


def _module_name(path: str) -> str:
    """``labels/index.js`` -> ``__labels_index``: the bundle's name of a module's exports."""
    return "__" + re.sub(r"[/-]", "_", path.removesuffix(".js"))


def _data_uri(filepath: str) -> str | None:
    image = _thumbnail(filepath)
    if image is None:
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


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
            draw.text((x + cell_w - 46, y + 8), format_number(tile.score), fill=(255, 255, 255), font=font,
                      stroke_width=2, stroke_fill=(0, 0, 0))
        text_x = x + 6
        for _, label in tile.shown_labels:
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
{css}
body {{ display: block; overflow: auto; }}
#main {{ padding: 16px; overflow: visible; }}
#main h1 {{ margin: 0; font-size: 20px; }}
#main .sub {{ color: var(--muted); margin: 4px 0 14px; }}
</style></head><body>
<main id="main"><h1>{title}</h1><div class="sub">{subtitle}</div>
<div id="grid" data-testid="grid"></div></main>
<script>
{script}
const data = {data};
__colors.setClasses(data.classes);
const grid = new __grid.Grid(document.getElementById("grid"), {{ onOpen() {{}}, onSelect() {{}} }});
grid.clear({{ labelFields: data.labelFields, scoreField: data.scoreField, selectable: false,
             media: (sample) => sample.thumbnail }});
grid.append(data.samples);
</script></body></html>
"""
