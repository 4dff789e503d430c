// A stable colour per class: classes known to the dataset take evenly spaced hues in order,
// any other label gets a hue from a hash of its name.

const GOLDEN_ANGLE = 137.508;
let known = new Map();

export function setClasses(classes) {
  known = new Map(classes.map((name, i) => [name, i]));
}

export function classColor(name) {
  let index = known.get(name);
  if (index === undefined) {
    index = 0;
    for (const ch of String(name)) index = (index * 31 + ch.codePointAt(0)) >>> 0;
  }
  const hue = (index * GOLDEN_ANGLE + 20) % 360;
  return `hsl(${hue.toFixed(0)}, 72%, 60%)`;
}
