// Settings and Admin are pages: they take the area right of the nav (list, pane and details step
// aside) in <section id="page">, and their modules load when first opened. settings.js and
// admin.js draw them: showSettings(page, {me, prefs, navigate, applyPrefs}) and
// showAdmin(page, section, navigate).

import { h, $ } from "../shared/dom.js";
import { state, app } from "./state.js";
import { navigate } from "./router.js";
import { applyPrefs } from "./shell.js";

const TITLES = { settings: "Your settings", admin: "Admin" };

function markNav(name) {
  for (const a of document.querySelectorAll("#nav [data-page]")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  for (const b of document.querySelectorAll("[data-view]")) {
    if (!name && b.dataset.view === state.view) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
}

let shown = null;
export async function showPage(name, section) {
  const page = $("#page");
  app.classList.add("paged");
  app.classList.remove("show-nav");
  $("#page-title").textContent = TITLES[name];
  markNav(name);
  const key = `${name}/${section}`;
  if (shown === key) return;
  shown = key;
  page.setAttribute("aria-busy", "true");
  try {
    if (name === "settings") await settings(page);
    else await admin(page, section);
  } catch (e) {
    page.replaceChildren(h("div", { class: "empty-state", role: "alert" }, h("p", { text: `This page could not be shown: ${e.message}. Reload to try again.` })));
  } finally {
    page.removeAttribute("aria-busy");
  }
  page.focus({ preventScroll: true });
}

export function hidePage() {
  if (!app.classList.contains("paged") && !shown) return;
  shown = null;
  app.classList.remove("paged");
  $("#page").replaceChildren();
  markNav(null);
}

async function settings(page) {
  const m = await import("./settings.js");
  await m.showSettings(page, { me: state.me, prefs: state.prefs, navigate, applyPrefs });
}

async function admin(page, section) {
  const m = await import("./admin.js");
  await m.showAdmin(page, section, navigate);
}
