// What the Admin and Your settings pages share: their stylesheet (loaded on first use, with the
// same version as the modules), cards, the "Saved" mark where the eye is, and error lines.

import { h } from "../shared/dom.js";
import { sentence } from "./dom.js";
import { icon } from "../shared/icons.js";

let styled = null;

/** Links admin.css once; its `?v=` is this module's, so a new release fetches both anew. The
 * promise settles once it applies, so that a page is never drawn unstyled first. */
export function adminStyles() {
  if (styled) return styled;
  const href = new URL("./admin.css", import.meta.url);
  href.search = new URL(import.meta.url).search;
  const link = h("link", { rel: "stylesheet", href: href.pathname + href.search, "data-admin-css": "" });
  styled = new Promise((done) => { link.addEventListener("load", done); link.addEventListener("error", done); });
  document.head.append(link);
  return styled;
}

/** A card with a title, an optional hint and what it holds. */
export function card(title, hint, ...children) {
  return h("section", { class: "card admin-card" },
    title ? h("h3", { text: title }) : null, hint ? h("p", { class: "hint", text: hint }) : null, ...children);
}

/** The heading of an admin section. */
export const sectionHead = (title, hint) =>
  h("header", { class: "section-head" }, h("h2", { text: title }), hint ? h("p", { class: "hint", text: hint }) : null);

/** An empty "Saved" mark; `flash(mark)` shows it (it fades), `mark.clear()` hides it. */
export function savedMark() {
  return h("span", { class: "saved", role: "status" });
}

export function flash(mark, text = "Saved") {
  mark.classList.remove("fade");
  mark.replaceChildren(icon("check"), text);
  void mark.offsetWidth; // restart the fade when saved twice in a row
  mark.classList.add("fade");
}

export function unflash(mark) {
  mark.classList.remove("fade");
  mark.replaceChildren();
}

export const errorLine = () => h("p", { class: "error", role: "alert" });

/** Shows a failed request as a sentence in `line`. */
export function fail(line, err) {
  line.textContent = sentence(err?.message || "Something went wrong. Please try again.");
}

/** A row of actions: the primary button, then its "Saved" mark and any others. */
export const actions = (...children) => h("div", { class: "actions-row" }, ...children);

/** Copies text, falling back to selecting it; says so in `mark`. */
export async function copy(text, mark, select) {
  try {
    await navigator.clipboard.writeText(text);
    flash(mark, "Copied");
  } catch {
    select?.();
    mark.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
  }
}
