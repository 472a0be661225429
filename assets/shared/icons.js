// Rapport's one icon set: 24×24 line drawings, stroked in the text colour (ui.css `svg.i`), built
// as SVG elements so no markup is ever parsed. Used by the app, the widget's panel and the portal.

const circle = (cx, cy, r) => `M${cx - r} ${cy}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;

const PATHS = {
  send: "M4 12 20 4l-5 16-3-7zM12 13l8-9",
  attach: "M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9",
  close: "M6 6l12 12M18 6 6 18",
  back: "M15 5l-7 7 7 7",
  menu: "M4 7h16M4 12h16M4 17h16",
  search: `${circle(11, 11, 6)}M20 20l-4.6-4.6`,
  settings: `M4 7h8M16 7h4M4 17h4M12 17h8${circle(14, 7, 2)}${circle(10, 17, 2)}`,
  admin: "M12 3 5 6v5c0 4.5 3 8 7 10 4-2 7-5.5 7-10V6z",
  logout: "M10 4H5v16h5M15 8l4 4-4 4M19 12H9",
  plus: "M12 5v14M5 12h14",
  check: "M5 12.5l4.5 4.5L19 7",
  smile: `${circle(12, 12, 9)}M8.5 14.5c1 1.3 2.2 2 3.5 2s2.5-.7 3.5-2M9 9.5h.01M15 9.5h.01`,
  image: "M4 5h16v14H4zM4 16l5-5 4 4 2-2 5 5M15.5 9.5h.01",
  file: "M6 3h8l4 4v14H6zM14 3v4h4",
  chat: "M4 5h16v11H9l-5 4z",
  ticket: "M4 7h16v3a2 2 0 0 0 0 4v3H4v-3a2 2 0 0 0 0-4z",
  task: "M5 5h14v14H5zM8.5 12l2.5 2.5 4.5-5",
  lock: "M6 11h12v9H6zM8.5 11V8a3.5 3.5 0 0 1 7 0v3",
  inbox: "M4 13l2.5-8h11L20 13v6H4zM4 13h5l1 2h4l1-2h5",
  bell: "M6 16v-5a6 6 0 0 1 12 0v5l1.5 2h-15zM10 20.5h4",
  clock: `${circle(12, 12, 9)}M12 7.5V12l3 2`,
  user: `${circle(12, 8, 4)}M5 20c1-3.5 3.8-5 7-5s6 1.5 7 5`,
  team: `${circle(9, 8, 3.5)}M2.5 19c.8-3 3.3-4.5 6.5-4.5s5.7 1.5 6.5 4.5M16 4.8a3.5 3.5 0 0 1 0 6.4M18 14.8c1.8.6 3 2 3.5 4.2`,
  trash: "M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13",
  sun: `${circle(12, 12, 4)}M12 2v2M12 20v2M2 12h2M20 12h2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4`,
  moon: "M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z",
  down: "M6 9l6 6 6-6",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  list: "M4 6h.01M4 12h.01M4 18h.01M8 6h12M8 12h12M8 18h12",
  globe: `${circle(12, 12, 9)}M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18`,
  mail: "M3 6h18v12H3zM3 7l9 6 9-6",
  help: `${circle(12, 12, 9)}M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7M12 17h.01`,
};

/** `icon("send")`: an <svg class="i"> that screen readers skip (label the button, not the icon). */
export function icon(name, className = "") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `i ${className}`.trim());
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", PATHS[name] || PATHS.help);
  svg.append(path);
  return svg;
}
