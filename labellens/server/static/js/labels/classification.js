// Classification: its class as one chip in the class's colour.

import { chip } from "../dom.js";

export const classification = {
  // The class the label names (undefined when it names none): grid tiles compare these.
  classOf(label) {
    return label && typeof label.label === "string" ? label.label : undefined;
  },
  // The chips of the label, prefixed by `kind` (the field it comes from, or "gt").
  chips(label, kind) {
    const name = classification.classOf(label);
    return name === undefined ? [] : [chip(name, kind)];
  },
};
