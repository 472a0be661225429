// The signed-in app: the nav (views with counts, search, New item, Settings, Admin, the theme
// and the account), the live socket and what its frames change, and the keyboard. The list,
// the pane, the details and the pages are modules of their own.

import { api, setCsrf, Live } from "./api.js";
import { h, $ } from "../shared/dom.js";
import { avatar, displayName } from "./dom.js";
import { icon } from "../shared/icons.js";
import { alert as notifyAgent } from "./notify.js";
import { team, projects, setupNewItem } from "./items.js";
import { state, app, isItemView, customer } from "./state.js";
import { showView, reloadList, refreshCounts, applyCounts, applyRow, itemInRows, search, isSelected } from "./list.js";
import { select, drawPane, drawItemTop, redrawTabs, itemThreads, render, markSeen, displayed, setMode, toggleStatus, toggleItemStatus, clearPane, redrawHeader } from "./conversation.js";
import { markSeenByCustomer } from "./thread.js";
import { drawDetails } from "./details.js";
import { emptyPane } from "./onboarding.js";
import { route, startRouter, parse, navigate } from "./router.js";

/** A stylesheet of the app's screens, versioned like app.css, loaded once signed in (the
 * sign-in page does without it); resolves when it applies, so nothing is drawn unstyled. */
function stylesheet(name) {
  const version = new URL(document.querySelector("link[href*='/app/app.css']").href).search;
  const link = h("link", { rel: "stylesheet", href: `/assets/app/${name}${version}` });
  const loaded = new Promise((resolve) => { link.onload = resolve; link.onerror = resolve; });
  document.head.append(link);
  return loaded;
}

// Asked for as soon as this module loads (while the person signs in), awaited before drawing.
const paneStyles = stylesheet("pane.css");

export async function start(me) {
  await paneStyles;
  state.me = me.user;
  state.prefs = { ...me.preferences, browser_notifications: localStorage.getItem("rapport.browserNotifications") === "1" };
  setCsrf(me.csrf_token);
  drawNav();
  app.hidden = false;
  applyPrefs(state.prefs, false);
  if (me.user.role === "admin") showSetup();
  team().then((u) => { state.users = u; });
  projects().then((p) => { state.projects = p; });
  // Back after a gap: the list is asked for again (the counts come with watching the inbox).
  state.live = new Live(onFrame, () => reloadList());
  startRouter();
  const { name, arg } = parse();
  const first = name === "view" ? arg : state.prefs.hide_from_customers ? "customer_replies" : "open";
  state.view = first;
  $("#pane").replaceChildren(emptyPane());
  await showView(first);
  if (name && name !== "view") await route();
}

// ---- the nav -----------------------------------------------------------------------------------

const THEMES = [["system", "System", "settings"], ["light", "Light", "sun"], ["dark", "Dark", "moon"]];

/** System, Light or Dark, remembered in this browser (main.js applies it before drawing). */
function setTheme(theme) {
  if (theme === "light" || theme === "dark") {
    localStorage.setItem("rapport.theme", theme);
    document.documentElement.dataset.theme = theme;
  } else {
    localStorage.removeItem("rapport.theme");
    delete document.documentElement.dataset.theme;
  }
  for (const b of document.querySelectorAll("#theme button")) b.setAttribute("aria-pressed", String(b.dataset.theme === (theme || "system")));
}

function drawNav() {
  const u = state.me;
  for (const a of document.querySelectorAll("[data-view]")) {
    a.prepend(icon(a.dataset.icon || "inbox"));
    // Going where one already is (a view shown again) reloads it; the hash alone would not.
    a.addEventListener("click", (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return; // a new tab: the link's own job
      e.preventDefault();
      navigate(`#view/${a.dataset.view}`);
    });
  }
  for (const a of document.querySelectorAll("#nav [data-page]")) a.prepend(icon(a.dataset.icon));
  $("#new-item").prepend(icon("plus"));
  $("#open-admin").hidden = u.role !== "admin";
  const current = localStorage.getItem("rapport.theme") || "system";
  $("#theme").replaceChildren(...THEMES.map(([value, label, name]) => h("button", {
    type: "button", "data-theme": value, "aria-pressed": String(value === current), title: `${label} theme`, "aria-label": `${label} theme`, onclick: () => setTheme(value),
  }, icon(name), h("span", { text: label }))));
  drawMe();
  $("#logout").prepend(icon("logout"));
  for (const b of document.querySelectorAll("[data-back]")) b.replaceChildren(icon("menu"));
  $("#nav-close").replaceChildren(icon("close"));
}

/** Who is signed in, at the nav's foot; Your settings announces a new photo or name (`rapport:me`). */
function drawMe() {
  const u = state.me;
  $("#me").replaceChildren(avatar(u.name, u.photo_url, "sm"), h("span", { class: "me-text" },
    h("span", { class: "me-name", text: u.name }), h("span", { class: "me-role", text: u.role === "admin" ? "Admin" : "Agent" })));
}
window.addEventListener("rapport:me", (e) => {
  if (!state.me || !e.detail) return;
  Object.assign(state.me, e.detail);
  drawMe();
});

/** Where an admin sets up what a setup sentence says is missing. */
const SETUP_ROUTES = [["email", "#admin/email"], ["project", "#admin/projects"]];

/** Admins see what the install still lacks (Admin → Health says the same): the head of each
 * sentence, linked to the page that sets it up; the rest of it on hover and for screen readers. */
async function showSetup() {
  const { setup = [] } = await api("/api/v1/admin/setup").catch(() => ({}));
  const box = $("#setup-notice");
  box.hidden = !setup.length;
  box.replaceChildren(h("strong", { text: "Not set up yet" }), h("ul", {}, setup.map((s) => {
    const cut = s.indexOf(":");
    const [head, rest] = cut > 0 ? [s.slice(0, cut), s.slice(cut)] : [s, ""];
    const route = SETUP_ROUTES.find(([word]) => s.toLowerCase().includes(word))?.[1] || "#admin/health";
    return h("li", {}, h("a", { href: route, title: s, text: head }), h("span", { class: "sr-only", text: rest }));
  })));
}

/** New preferences (the Settings page saved them): the nav, the counts and the list follow. */
export function applyPrefs(prefs, reload = true) {
  state.prefs = prefs;
  $("#from-customers").hidden = !!prefs.hide_from_customers;
  refreshCounts();
  if (!reload) return;
  projects(true).then((p) => { state.projects = p; });
  const hidden = prefs.hide_from_customers && ["open", "unanswered", "closed"].includes(state.view);
  showView(hidden ? "customer_replies" : state.view);
}

$("#logout").addEventListener("click", async () => {
  await api("/api/v1/auth/logout", { method: "POST" }).catch(() => {});
  location.replace(location.pathname);
});
$("#more").addEventListener("click", () => showView(state.view, true));
$("#search").addEventListener("submit", (e) => {
  e.preventDefault();
  search(e.target.elements.q.value.trim());
});
for (const b of document.querySelectorAll("[data-back]")) b.addEventListener("click", () => app.classList.add("show-nav"));
$("#nav-close").addEventListener("click", () => app.classList.remove("show-nav"));

const openNewItem = setupNewItem({
  me: () => state.me,
  async created(item) {
    if (state.view !== "items_open" && state.view !== "items_mine") await showView("items_open");
    else reloadList();
    await select(item, true);
  },
});
$("#new-item").addEventListener("click", () => { app.classList.remove("show-nav"); openNewItem(); });

// ---- live frames and notifications -------------------------------------------------------------

/** Refetches the open item's threads (a message arrived on one of them): unread counts, and a
 * thread another agent just started. */
let threadsTimer;
function refreshThreads() {
  clearTimeout(threadsTimer);
  const item = state.item;
  threadsTimer = setTimeout(async () => {
    const fresh = await itemThreads(item.id).catch(() => null);
    if (!fresh || state.item?.id !== item.id) return;
    let started = false;
    for (const [kind, c] of Object.entries(fresh)) {
      if (state.selected?.id === c.id) { state.selected = { ...state.selected, ...c, unread: 0 }; state.threads[kind] = state.selected; continue; }
      if (!state.threads[kind] && kind === state.mode && !state.selected) { state.selected = c; started = true; }
      state.threads[kind] = c;
    }
    if (started) drawPane(); else redrawTabs();
  }, 250);
}

/** What the agent may see changed and the open conversation is no longer theirs to read. */
function accessEnded(id) {
  if (state.selected?.id === id) clearPane("You no longer have access to this conversation.");
  reloadList();
  refreshCounts();
}

/** A customer's name changed (or may have): every place that shows it asks again. */
function customerChanged(who) {
  state.customers.delete(who);
  if (who !== (state.selected?.customer_id ?? state.item?.requester_id)) return;
  drawDetails();
  customer(who).then((cu) => {
    if (!cu) return;
    const title = state.selected?.customer_id === who && $("#pane > header h1");
    if (title) title.textContent = displayName(cu);
    const banner = $("#pane .thread-banner.public");
    if (banner) banner.textContent = `${displayName(cu)} sees these replies`;
  });
}

function onFrame(f) {
  if (f.type === "unsubscribed" && f.reason) {
    accessEnded(f.conversation_id);
  } else if (f.type === "message" && f.conversation_id === state.selected?.id) {
    render(f.message);
    $("#typing").textContent = "";
    markSeen();
  } else if (f.type === "alert") {
    // The server's rules decide who is alerted, with each user's preferences already applied.
    const watching = f.conversation_id != null && f.conversation_id === state.selected?.id && displayed();
    if (!watching) notifyAgent({ title: f.title, body: f.body, sound: state.prefs.sound, browser: state.prefs.browser_notifications });
  } else if (f.type === "counts") {
    applyCounts(f.counts);
    if (f.resync && !isItemView(state.view)) reloadList();
  } else if (f.type === "inbox") {
    applyCounts(f.counts);
    applyRow(f.conversation, f.views);
    const c = f.conversation;
    // The open conversation's status may have changed elsewhere: the header follows.
    if (c && state.selected?.id === c.id && c.status && c.status !== state.selected.status && !state.item) {
      state.selected = { ...state.selected, ...c, unread: 0 };
      redrawHeader();
    }
    if (c?.customer_id) customerChanged(c.customer_id);
    if (state.item && c?.item_id === state.item.id) refreshThreads();
  } else if (f.type === "item") {
    if (isItemView(state.view)) reloadList();
    else itemInRows(f.item);
    if (state.item?.id === f.item.id && !document.getElementById("item-title-input")) {
      state.item = f.item;
      // A follower the app has not met yet (a new agent): learn the team again first.
      const known = new Set(state.users.map((u) => u.id));
      if (f.item.followers.some((id) => !known.has(id))) team(true).then((u) => { state.users = u; drawItemTop(); });
      else drawItemTop();
    }
  } else if (f.type === "typing" && f.conversation_id === state.selected?.id) {
    $("#typing").textContent = `${f.author.name || "The customer"} is typing…`;
    setTimeout(() => { if ($("#typing")) $("#typing").textContent = ""; }, 3000);
  } else if (f.type === "seen" && f.reader.kind === "customer" && f.conversation_id === state.selected?.id) {
    markSeenByCustomer(f.seq);
  }
}

// ---- shortcuts ---------------------------------------------------------------------------------

document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
  if (typing || e.metaKey || e.ctrlKey || e.altKey || app.hidden || app.classList.contains("paged") || document.querySelector("dialog[open]")) return;
  const index = state.entries.findIndex(isSelected);
  if (e.key === "j" || e.key === "k") {
    const next = state.entries[Math.max(0, Math.min(state.entries.length - 1, index + (e.key === "j" ? 1 : -1)))];
    if (next) select(next);
  } else if (e.key === "r") { e.preventDefault(); setMode("public"); }
  else if (e.key === "i") { e.preventDefault(); setMode("internal"); }
  else if (e.key === "e" && state.item && isItemView(state.view)) toggleItemStatus();
  else if (e.key === "e" && state.selected) toggleStatus();
  else if (e.key === "n") { e.preventDefault(); openNewItem(); }
  else if (e.key === "/") { e.preventDefault(); $("#search input").focus(); }
  else if (e.key === "?") $("#help").showModal();
});
