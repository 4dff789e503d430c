"""The one colour rule for class labels, shared by the App (``static/js/colors.js``) and snapshots.

A dataset's classes are its ``default_classes`` in order, then every other label
its label fields hold, sorted; class ``i`` takes hue ``(i * 137.508 + 20) mod 360``
(the golden angle, so neighbours differ), saturation 72 %, lightness 60 %. A label
outside that list (none, normally) takes a hue from a 32-bit hash of its name.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterable, Sequence

GOLDEN_ANGLE = 137.508
SATURATION, LIGHTNESS = 0.72, 0.60


def class_order(default_classes: Sequence[str], labels: Iterable[object]) -> list[str]:
    """``default_classes`` then the other labels seen (strings only), sorted."""
    seen = sorted({label for label in labels if isinstance(label, str)} - set(default_classes))
    return [*default_classes, *seen]


def class_hue(name: str, classes: Sequence[str]) -> int:
    """The hue in degrees, rounded as the browser's ``hsl()`` string is."""
    if name in classes:
        index = classes.index(name)
    else:
        index = 0
        for char in str(name):
            index = (index * 31 + ord(char)) & 0xFFFFFFFF
    return math.floor((index * GOLDEN_ANGLE + 20) % 360 + 0.5)


def class_rgb(name: str, classes: Sequence[str]) -> tuple[int, int, int]:
    """The class colour as 0-255 RGB (what the browser renders for ``hsl(hue, 72%, 60%)``)."""
    red, green, blue = colorsys.hls_to_rgb(class_hue(name, classes) / 360, LIGHTNESS, SATURATION)
    return round(red * 255), round(green * 255), round(blue * 255)


__all__ = ["class_hue", "class_order", "class_rgb"]
