// How a person without a photo looks on every screen (messenger, widget, portal): their initials
// on a colour that follows their name, so the same person has the same face everywhere.

const palette = ["#2b6cb0", "#2f855a", "#b7791f", "#c53030", "#6b46c1", "#2c7a7b", "#b83280"];

export const initials = (name) => (name || "").split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();

export function colorOf(name) {
  let hash = 0;
  for (const c of name || "") hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return palette[hash % palette.length];
}
