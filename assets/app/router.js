// The app's addresses, all in the hash so the server serves one page: #view/NAME (a list),
// #conversation/ID and #item/ID (what is open; notification emails link there), #settings and
// #admin/SECTION (pages of their own). Back and Forward walk them like any site.

import { api } from "./api.js";
import { state, app } from "./state.js";
import { showView } from "./list.js";
import { select } from "./conversation.js";
import { showPage, hidePage } from "./pages.js";

/** The last address that was not a page: where closing a page goes back to. */
export let lastPlace = "";

/** Goes to `hash`, as a new entry in the history (going where one is shows it again). */
export function navigate(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

export function parse(hash = location.hash) {
  const [, name = "", arg = ""] = /^#([a-z_]+)(?:\/([\w-]+))?$/.exec(hash) || [];
  return { name, arg };
}

export async function route() {
  const { name, arg } = parse();
  if (name === "settings" || name === "admin") {
    if (name === "admin" && state.me.role !== "admin") { history.replaceState(null, "", lastPlace || "#view/open"); return route(); }
    return showPage(name, arg || (name === "admin" ? "agents" : ""));
  }
  lastPlace = location.hash;
  hidePage();
  if (name === "view" || !name) {
    app.classList.remove("show-pane");
    return showView(arg || state.view);
  }
  if (name === "conversation" && arg) {
    if (state.selected?.id === Number(arg)) { app.classList.add("show-pane"); return; }
    const c = await api(`/api/v1/conversations/${arg}`).catch(() => null);
    if (c) return select(c, false);
  }
  if (name === "item" && arg) {
    if (state.item?.id === Number(arg)) { app.classList.add("show-pane"); return; }
    return select({ id: Number(arg) }, true);
  }
}

export function startRouter() {
  window.addEventListener("hashchange", route);
}
