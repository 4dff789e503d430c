// The App's label renderers by stored class name (_cls): one module per label type, named by the
// Python registry's LabelType.renderer (labellens/label_types.py; tests/server/test_label_types.py
// pins the two). A label type without a renderer is shown as fields only.

import { classification } from "./classification.js";

const RENDERERS = {
  Classification: classification,
};

// The renderer of a label, or undefined when its type has none.
export function rendererOf(label) {
  return label ? RENDERERS[label._cls] : undefined;
}

// The renderer of a grid tile's label: tiles get their labels projected without _cls, and the grid's
// label fields are Classification fields (server/query.py GridSchema).
export function tileRenderer(label) {
  return rendererOf(label) || classification;
}
