// The middle column: a view's rows (conversations or items), the nav's counts, search results,
// and what an empty view shows (the first-run checklist for admins, a friendly word otherwise).
// A conversation row comes whole from the list call: its customer and item are in the entry.

import { api } from "./api.js";
import { h, $ } from "../shared/dom.js";
import { when, relTime, displayName, avatar } from "./dom.js";
import { icon } from "../shared/icons.js";
import { ITEM_VIEWS, team, channelBadge, itemRow, itemRef } from "./items.js";
import { state, app, isItemView, customer, requesterOf } from "./state.js";
import { select, displayed } from "./conversation.js";
import { emptyView } from "./onboarding.js";

export const TITLES = {
  open: "Open conversations", unanswered: "Unanswered items", closed: "Closed conversations",
  customer_replies: "Customer replies", internal: "Internal messages", all_closed: "All closed",
  ...Object.fromEntries(Object.entries(ITEM_VIEWS).map(([k, v]) => [k, v.title])),
};

function badgeOn(view) {
  const p = state.prefs;
  if (view === "internal") return p.notify_internal;
  return p.notify_customer_replies !== "none";
}

/** The nav's numbers: unread (a green count) where the agent wants to hear, else the total. */
export function applyCounts(c) {
  for (const el of document.querySelectorAll("[data-count]")) {
    const view = el.dataset.count;
    if (view === "unanswered") { el.textContent = c.unanswered_items || ""; el.className = c.unanswered_items && badgeOn(view) ? "unread" : ""; continue; }
    const { total, unread } = c[view] || {};
    const bubble = unread > 0 && badgeOn(view) && view !== "closed" && view !== "all_closed";
    el.textContent = bubble ? String(unread) : total ? String(total) : "";
    el.className = bubble ? "unread" : "";
  }
}

/** Asks for the counts: at sign-in, and after a change while the live socket is down (while it
 * is up, the server sends the agent's counts after every change that moves them). */
let countsTimer;
export function refreshCounts() {
  if (state.live?.up) return;
  clearTimeout(countsTimer);
  countsTimer = setTimeout(async () => {
    const c = await api("/api/v1/conversations/counts").catch(() => null);
    if (c) applyCounts(c);
  }, 150);
}

/** Most recently active first, as the server lists them. */
const newerFirst = (a, b) => b.last_activity_at - a.last_activity_at || b.id - a.id;

/**
 * A conversation changed (an `inbox` frame): its row, as this agent sees it, goes where it now
 * belongs in the list shown, or leaves it; nothing is asked of the server. A row that now sorts
 * after the last one loaded waits for "More", where the server will list it.
 */
export function applyRow(c, views) {
  if (isItemView(state.view) || state.searching) return;
  const at = state.entries.findIndex((e) => e.id === c.id);
  const before = at >= 0 ? state.entries[at] : null;
  if (at >= 0) state.entries.splice(at, 1);
  const last = state.entries[state.entries.length - 1];
  const fits = !state.cursor || !last || newerFirst(c, last) < 0;
  if (views.includes(state.view) && fits) {
    const row = state.selected?.id === c.id && displayed() ? { ...c, unread: 0 } : c;
    const i = state.entries.findIndex((e) => newerFirst(row, e) < 0);
    state.entries.splice(i < 0 ? state.entries.length : i, 0, row);
  } else if (!before) return;
  drawList();
}

export async function showView(view, more = false) {
  if (!(view in TITLES)) view = "open";
  state.view = view;
  state.searching = false;
  for (const b of document.querySelectorAll("[data-view]")) {
    if (b.dataset.view === view && !app.classList.contains("paged")) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  $("#list-title").textContent = TITLES[view];
  const path = view === "unanswered" ? "/api/v1/items?view=unanswered"
    : view in ITEM_VIEWS ? `/api/v1/items?${ITEM_VIEWS[view].query(state.me)}` : `/api/v1/conversations?view=${view}`;
  const cursor = more && state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "";
  const page = await api(path + cursor);
  if (state.view !== view) return; // another view was picked meanwhile
  if (isItemView(view)) state.users = await team();
  state.entries = more ? state.entries.concat(page.entries) : page.entries;
  state.cursor = page.next_cursor;
  $("#more").hidden = !page.next_cursor;
  drawList();
  app.classList.remove("show-nav");
}

/** Reloads the current list soon (several frames in a row reload it once). */
let listTimer;
export function reloadList() {
  clearTimeout(listTimer);
  listTimer = setTimeout(() => showView(state.view), 200);
}

/** An item changed: the conversation rows on it show its new title or priority. */
export function itemInRows({ id, kind, title, priority }) {
  const rows = state.entries.filter((e) => e.item_id === id && e.item);
  for (const e of rows) e.item = { id, kind, title, priority };
  if (rows.length) drawList();
}

export const isSelected = (e) => isItemView(state.view) ? state.item?.id === e.id : state.selected?.id === e.id;

/** "example.com/pricing" from a page address, for the secondary line of an anonymous visitor. */
export function shortPage(url) {
  try {
    const u = new URL(url);
    return (u.host + u.pathname).replace(/\/$/, "");
  } catch { return ""; }
}

export function drawList() {
  const list = $("#entries");
  const items = isItemView(state.view);
  const rows = state.entries.map((e) => {
    if (!items) return conversationRow(e);
    const preview = e.description || (state.view === "unanswered" ? "No conversation yet" : "");
    return itemRow(e, { selected: isSelected(e), onclick: () => select(e, true), users: state.users, requester: requesterOf(e.requester_id), preview });
  });
  list.replaceChildren(...rows);
  list.classList.toggle("items", items);
  if (!state.entries.length) list.append(h("li", { class: "empty" }, emptyView(state.view)));
}

/**
 * One conversation: a face, the customer's name (the subject, when there is one, goes in the
 * second line; an anonymous visitor's page goes there too), the time, the last message in one
 * line, the unread count in a fixed place, and a line of channel and labels.
 */
function conversationRow(e) {
  const internal = e.kind === "internal";
  const name = h("span", { class: "name" });
  const face = h("span", { class: "face" });
  const sub = h("span", { class: "sub" });
  const tags = h("span", { class: "tags" }, channelBadge(e.channel), internal ? h("span", { class: "badge internal", text: "Internal" }) : null,
    e.status === "closed" ? h("span", { class: "badge", text: "Closed" }) : null);
  const unread = e.unread > 0;
  const button = h("button", { type: "button", class: unread ? "entry unread" : "entry", "aria-current": String(isSelected(e)), "data-id": e.id, onclick: () => select(e, false) },
    face, name, h("time", { class: "when", datetime: new Date(e.last_activity_at || e.created_at).toISOString(), title: when(e.last_activity_at || e.created_at), text: relTime(e.last_activity_at || e.created_at) }),
    sub, h("span", { class: "preview", text: e.preview || "" }),
    h("span", { class: "mark" }, unread ? h("span", { class: "count", text: e.unread > 99 ? "99+" : String(e.unread), "aria-label": `${e.unread} unread` }) : null),
    tags);
  const fill = (c) => {
    const who = internal ? (e.subject || "Internal conversation") : c ? displayName(c) : e.subject || "Conversation";
    name.textContent = who;
    face.replaceChildren(internal ? h("span", { class: "avatar internal-face", "aria-hidden": "true" }, icon("lock")) : avatar(who, c?.photo_url));
    const second = !internal && e.subject ? e.subject : c && !c.known && !c.email && !c.contact_email && e.page_url ? shortPage(e.page_url) : "";
    sub.textContent = second;
    sub.hidden = !second;
  };
  // The list's own call brings the customer (`customer` in each entry); a server without it
  // costs one call per customer, once.
  if ("customer" in e || !e.customer_id) { if (e.customer) customer(e.customer_id, e.customer); fill(e.customer ?? null); }
  else { fill(null); customer(e.customer_id).then(fill); }
  if (e.item) tags.append(...itemRef(e.item));
  return h("li", { class: `kind-${e.kind}` }, button);
}

// ---- search ------------------------------------------------------------------------------------

export async function search(q) {
  if (!q) return showView(state.view);
  const found = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
  state.searching = true;
  $("#list-title").textContent = `Search: ${q}`;
  const list = $("#entries");
  list.replaceChildren();
  list.classList.remove("items");
  for (const hit of found.messages) {
    const who = hit.message.author.name || (hit.message.author.kind === "customer" ? "Customer" : hit.message.author.kind);
    list.append(h("li", { class: `kind-${hit.conversation.kind}` }, h("button", { type: "button", class: "entry hit", "data-id": hit.conversation.id, onclick: () => select(hit.conversation, false) },
      h("span", { class: "face" }, avatar(who, hit.message.author.photo_url)), h("span", { class: "name", text: who }),
      h("time", { class: "when", text: relTime(hit.message.created_at), title: when(hit.message.created_at) }),
      h("span", { class: "preview", text: hit.message.body }))));
  }
  for (const item of found.items) {
    list.append(h("li", {}, h("button", { type: "button", class: "entry hit", "data-item": item.id, onclick: () => select(item, true) },
      h("span", { class: "face" }, h("span", { class: "avatar internal-face", "aria-hidden": "true" }, icon(item.kind === "task" ? "task" : "ticket"))),
      h("span", { class: "name", text: item.title }),
      h("span", { class: "preview", text: `${item.kind === "task" ? "Task" : "Ticket"} · ${item.status}` }),
      h("span", { class: "tags" }, channelBadge(item.channel)))));
  }
  if (!list.children.length) list.append(h("li", { class: "empty" }, h("div", { class: "empty-state" }, icon("search"), h("p", { text: `Nothing matches “${q}”.` }))));
}

// Relative times grow older while the list stays: "now" becomes "1m", then "2m".
setInterval(() => {
  for (const t of document.querySelectorAll("#entries time[datetime]")) t.textContent = relTime(Date.parse(t.getAttribute("datetime")));
}, 30000);
