// The agents' messenger: the views of PRODUCT.md, a conversation pane with customer replies
// and internal messages kept apart, tickets and tasks (items.js draws their rows, the item page's
// header and the New item dialog), live updates, notifications and search.

import { api, setCsrf, Live, ApiError } from "./api.js";
import { h, $, when, avatar } from "./dom.js";
import { alert as notifyAgent } from "./notify.js";
import { openAdmin } from "./admin.js";
import { customerTools } from "./privacy.js";
import { setupComposer } from "./composer.js";
import { ITEM_VIEWS, team, projects, channelBadge, unverifiedBadge, itemRow, itemRef, itemTop, setupNewItem, customerName } from "./items.js";

const TITLES = {
  open: "Open conversations", unanswered: "Unanswered items", closed: "Closed conversations",
  customer_replies: "Customer replies", internal: "Internal messages", all_closed: "All closed",
  ...Object.fromEntries(Object.entries(ITEM_VIEWS).map(([k, v]) => [k, v.title])),
};
/** Views whose rows are items (the rest list conversations). */
const isItemView = (view) => view === "unanswered" || view in ITEM_VIEWS;
const state = {
  me: null, prefs: null, view: "open", entries: [], cursor: null, selected: null,
  item: null, threads: {}, mode: "public", customers: new Map(), items: new Map(), users: [], projects: [],
  live: null, firstSeq: 0, lastSeq: 0, opening: 0,
};
const app = $("#app");

// ---- login -------------------------------------------------------------------------------

async function boot() {
  try {
    const me = await api("/api/v1/me");
    start(me);
  } catch (e) {
    if (e.status !== 401) throw e;
    $("#login").hidden = false;
  }
}

$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    start(await api("/api/v1/auth/login", { method: "POST", json: { email: form.get("email"), password: form.get("password") } }));
  } catch (err) {
    $("#login .error").textContent = err.message;
  }
});

function start(me) {
  state.me = me.user;
  state.prefs = { ...me.preferences, browser_notifications: localStorage.getItem("rapport.browserNotifications") === "1" };
  setCsrf(me.csrf_token);
  $("#login").hidden = true;
  app.hidden = false;
  $("#me").textContent = `${me.user.name} · ${me.user.role}`;
  $("#open-admin").hidden = me.user.role !== "admin";
  applyPrefs();
  if (me.user.role === "admin") showSetup();
  team().then((u) => { state.users = u; });
  projects().then((p) => { state.projects = p; });
  state.live = new Live(onFrame);
  showView(state.prefs.hide_from_customers ? "customer_replies" : "open");
  openLinked();
  window.addEventListener("hashchange", openLinked);
}

/** Admins see what the install still lacks (Admin → Health says the same). */
async function showSetup() {
  const { setup } = await api("/api/v1/admin/setup").catch(() => ({ setup: [] }));
  const box = $("#setup-notice");
  box.hidden = !setup.length;
  box.replaceChildren(h("strong", { text: "Not set up yet" }), h("ul", {}, setup.map((s) => h("li", { text: s }))));
}

// Notification emails link to `/app/#conversation/ID`; items open from `/app/#item/ID`.
async function openLinked() {
  const [, what, id] = /^#(conversation|item)\/(\d+)$/.exec(location.hash) || [];
  if (!id) return;
  if (what === "item") { select({ id: Number(id) }, true); return; }
  const c = await api(`/api/v1/conversations/${id}`).catch(() => null);
  if (c) select(c, false);
}

$("#logout").addEventListener("click", async () => {
  await api("/api/v1/auth/logout", { method: "POST" }).catch(() => {});
  location.reload();
});

// ---- views and counts ----------------------------------------------------------------------

function applyPrefs() {
  $("#from-customers").hidden = state.prefs.hide_from_customers;
  refreshCounts();
}

function badgeOn(view) {
  const p = state.prefs;
  if (view === "internal") return p.notify_internal;
  return p.notify_customer_replies !== "none";
}

let countsTimer;
function refreshCounts() {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(async () => {
    const c = await api("/api/v1/conversations/counts");
    for (const el of document.querySelectorAll("[data-count]")) {
      const view = el.dataset.count;
      if (view === "unanswered") { el.textContent = c.unanswered_items || ""; el.className = c.unanswered_items && badgeOn(view) ? "unread" : ""; continue; }
      const { total, unread } = c[view];
      const bubble = unread > 0 && badgeOn(view) && view !== "closed" && view !== "all_closed";
      el.textContent = bubble ? String(unread) : total ? String(total) : "";
      el.className = bubble ? "unread" : "";
    }
  }, 150);
}

for (const b of document.querySelectorAll("[data-view]")) b.addEventListener("click", () => showView(b.dataset.view));

async function showView(view, more = false) {
  state.view = view;
  for (const b of document.querySelectorAll("[data-view]")) b.setAttribute("aria-current", String(b.dataset.view === view));
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
$("#more").addEventListener("click", () => showView(state.view, true));

/** Reloads the current list soon (several frames in a row reload it once). */
let listTimer;
function reloadList() {
  clearTimeout(listTimer);
  listTimer = setTimeout(() => showView(state.view), 200);
}

async function customer(id) {
  if (!id) return null;
  if (!state.customers.has(id)) state.customers.set(id, api(`/api/v1/customers/${id}`).catch(() => null));
  return state.customers.get(id);
}

/** An item by id, cached (item frames keep the cache fresh). */
function itemOf(id) {
  if (!state.items.has(id)) state.items.set(id, api(`/api/v1/items/${id}`).catch(() => { state.items.delete(id); return null; }));
  return state.items.get(id);
}
function remember(item) {
  state.items.set(item.id, Promise.resolve(item));
  return item;
}

function entryTitle(e, c) {
  return e.subject || customerName(c) || (e.customer_id ? `Visitor #${e.customer_id}` : `Conversation #${e.id}`);
}

function drawList() {
  const list = $("#entries");
  list.replaceChildren();
  const items = isItemView(state.view);
  for (const e of state.entries) {
    if (items) {
      const preview = e.description || (state.view === "unanswered" ? "No conversation yet" : "");
      list.append(itemRow(e, { selected: isSelected(e), onclick: () => select(e, true), users: state.users, requester: customer(e.requester_id), preview }));
      continue;
    }
    const title = h("span", { class: "title" });
    const tags = h("span", { class: "tags" }, channelBadge(e.channel), unverifiedBadge(e));
    const button = h("button", { type: "button", "aria-current": String(isSelected(e)), "data-id": e.id, onclick: () => select(e, false) },
      title, h("span", { class: "when", text: when(e.last_activity_at || e.created_at) }), tags,
      h("span", { class: "preview", text: e.preview || "" }),
      e.unread > 0 ? h("span", { class: "bubble-count", text: String(e.unread), "aria-label": `${e.unread} unread` }) : null);
    list.append(h("li", { class: `kind-${e.kind}` }, button));
    customer(e.customer_id).then((c) => { title.textContent = entryTitle(e, c); });
    if (e.item_id) itemOf(e.item_id).then((item) => { if (item) tags.append(...itemRef(item)); });
  }
  if (!state.entries.length) list.append(h("li", { class: "empty" }, h("p", { class: "preview", text: "Nothing here." })));
}

const isSelected = (e) => isItemView(state.view) ? state.item?.id === e.id : state.selected?.id === e.id;

// ---- the conversation pane and the item page -------------------------------------------------
// A standalone conversation: header, thread, composer. An item (opened from an item row, from
// search, or as the header of a conversation that hangs off it): the item's header, then its two
// threads as tabs, "Customer replies" (public) and "Internal messages" (only the team), each
// with its own composer draft.

async function select(entry, asItem = isItemView(state.view)) {
  const ticket = ++state.opening;
  state.switching = true; // what the pane shows until then is not what the agent picked
  app.classList.add("show-pane");
  app.classList.remove("show-details");
  try {
    await openEntry(entry, asItem, ticket);
  } catch (e) {
    if (ticket !== state.opening) return;
    if (state.selected) state.live.unsubscribe(state.selected.id);
    Object.assign(state, { item: null, selected: null, threads: {} });
    $("#pane").replaceChildren(h("header", {}, h("button", { class: "icon back", "aria-label": "Back to the list", onclick: () => app.classList.remove("show-pane") }, "←")),
      h("p", { class: "empty", role: "alert", text: e.status === 404 ? "Not found: it was deleted, or you may not see it." : e.message }));
  } finally {
    if (ticket === state.opening) state.switching = false;
  }
}

async function openEntry(entry, asItem, ticket) {
  const writes = state.itemWrites;
  let item = null;
  let threads = {};
  let selected = null;
  if (asItem) {
    item = remember(await api(`/api/v1/items/${entry.id}`));
    threads = await itemThreads(item.id);
    selected = threads.public ?? null;
  } else {
    selected = entry;
    threads = { [entry.kind]: entry };
    if (entry.item_id) {
      let others;
      [item, others] = await Promise.all([api(`/api/v1/items/${entry.item_id}`).then(remember), itemThreads(entry.item_id)]);
      for (const [kind, c] of Object.entries(others)) threads[kind] ??= c;
    }
  }
  let [users, visible] = item ? await Promise.all([team(), projects()]) : [state.users, state.projects];
  if (item && !visible.some((p) => p.id === item.project_id)) visible = await projects(true); // a project made since
  if (ticket !== state.opening) return; // another row was picked meanwhile
  // A change made to this item while it loaded (a status toggle, an edit) is newer than what came.
  if (item && writes !== state.itemWrites && state.item?.id === item.id) item = state.item;
  if (state.selected) state.live.unsubscribe(state.selected.id);
  Object.assign(state, { item, threads, selected, users, projects: visible, mode: selected?.kind || "public" });
  drawPane();
  drawList();
  drawDetails();
}

/** The item's conversations by kind: {public, internal}. */
async function itemThreads(id) {
  const threads = {};
  for (const c of await api(`/api/v1/items/${id}/conversations`)) threads[c.kind] ??= c;
  return threads;
}

function drawPane() {
  const pane = $("#pane");
  const c = state.selected;
  const item = state.item;
  const thread = h("div", { id: "thread", role: "log", "aria-live": "polite", class: item ? state.mode : "" });
  thread.addEventListener("scroll", () => { if (thread.scrollTop === 0) loadOlder(); });
  const parts = item ? [drawItemTop(true), threadTabs(), threadBanner()] : [conversationHeader()];
  pane.replaceChildren(...parts, thread, h("p", { id: "typing" }), composer());
  pane.classList.toggle("item-page", !!item);
  state.firstSeq = 0;
  state.lastSeq = 0;
  if (item && !c) {
    thread.append(h("p", { class: "thread-empty", text: state.mode === "internal"
      ? "No internal messages yet. Write a note below: only your team sees it."
      : `No customer replies yet${item.requester_id ? "" : " (this item has no requester)"}. Opened ${when(item.created_at)}.` }));
  }
  if (c) loadThread(c);
}

function conversationHeader() {
  const c = state.selected;
  const title = h("h1", { text: c ? `Conversation #${c.id}` : "" });
  customer(c?.customer_id).then((cu) => { if (cu) title.textContent = customerName(cu); });
  return h("header", {}, h("button", { class: "icon back", "aria-label": "Back to the list", onclick: () => app.classList.remove("show-pane") }, "←"),
    title, channelBadge(c?.channel), c ? h("span", { class: `badge ${c.kind}`, text: c.kind === "internal" ? "Internal" : c.status }) : null,
    unverifiedBadge(c),
    c ? h("button", { class: "tool", id: "toggle-status", onclick: toggleStatus, text: c.status === "open" ? "Close" : "Reopen" }) : null,
    c?.customer_id ? detailsToggle() : null);
}

/** Where the details column is hidden (narrow screens), this button shows it over the page. */
const detailsToggle = () => h("button", { type: "button", class: "details-toggle info", title: "Customer details", "aria-label": "Customer details",
  onclick: () => app.classList.toggle("show-details"), text: "i" });

/** The item's header; redraws it in place unless `fresh` (a new pane is being built). */
function drawItemTop(fresh = false) {
  const top = itemTop({
    item: state.item, me: state.me, users: state.users, projects: state.projects, requester: customer(state.item.requester_id),
    patch: patchItem, setStatus: toggleItemStatus, follow: toggleFollow, redraw: () => drawItemTop(),
    back: () => app.classList.remove("show-pane"), details: state.item.requester_id ? detailsToggle : null,
  });
  if (!fresh) $("#item-top")?.replaceWith(top);
  return top;
}

function threadTabs() {
  const tab = (kind, label) => {
    const unread = state.threads[kind]?.unread || 0;
    return h("button", { type: "button", role: "tab", class: kind, "data-thread": kind, "aria-selected": String(state.mode === kind), onclick: () => setMode(kind) },
      label, h("b", { class: unread ? "unread" : "", "aria-label": `${unread} unread`, text: unread ? String(unread) : "" }));
  };
  const c = state.selected;
  return h("div", { class: "thread-tabs", role: "tablist", "aria-label": "Threads of this item" },
    tab("public", "Customer replies"), tab("internal", "Internal messages"),
    c ? h("button", { type: "button", class: "tool", id: "toggle-status", onclick: toggleStatus, text: c.status === "open" ? "Close conversation" : "Reopen conversation" }) : null);
}

function threadBanner() {
  if (state.mode === "internal") return h("p", { class: "thread-banner internal", text: "Only your team sees this" });
  const banner = h("p", { class: "thread-banner public", text: "The customer sees these replies" });
  customer(state.item?.requester_id).then((cu) => { if (cu) banner.textContent = `${customerName(cu)} sees these replies`; });
  return banner;
}

function redrawTabs() {
  $("#pane .thread-tabs")?.replaceWith(threadTabs());
}

async function loadThread(c) {
  const messages = await api(`/api/v1/conversations/${c.id}/messages?before=${Number.MAX_SAFE_INTEGER}&limit=50`);
  if (state.selected?.id !== c.id) return;
  for (const m of messages) render(m);
  state.live.subscribe(c.id, state.lastSeq);
  markSeen();
}

async function loadOlder() {
  const c = state.selected;
  if (!c || state.firstSeq <= 1) return;
  const thread = $("#thread");
  const height = thread.scrollHeight;
  const older = await api(`/api/v1/conversations/${c.id}/messages?before=${state.firstSeq}&limit=50`);
  for (const m of older.reverse()) render(m, true);
  thread.scrollTop = thread.scrollHeight - height;
}

function render(m, prepend = false) {
  const thread = $("#thread");
  if (!thread || thread.querySelector(`[data-seq="${m.seq}"]`)) return;
  thread.querySelector(".thread-empty")?.remove();
  const mine = m.author.kind === "user" && m.author.id === state.me.id;
  const bubble = h("div", { class: "bubble", text: m.body });
  for (const a of m.attachments) {
    const url = `/api/v1/attachments/${a.id}`;
    bubble.append(a.content_type.startsWith("image/") && a.content_type !== "image/svg+xml"
      ? h("img", { src: url, alt: a.filename, loading: "lazy" })
      : h("a", { href: url, download: a.filename, text: `${a.filename} (${Math.ceil(a.size / 1024)} KB)` }));
  }
  const who = m.author.kind === "bot" ? "Bot" : m.author.name || (m.author.kind === "customer" ? "Customer" : "Agent");
  const el = h("div", { class: `msg${mine ? " mine" : ""}${state.selected?.kind === "internal" ? " internal" : ""}`, "data-seq": m.seq },
    avatar(who), h("div", {}, bubble, h("div", { class: "meta", text: `${who} · ${when(m.created_at)}` })));
  const later = !prepend && [...thread.querySelectorAll("[data-seq]")].find((n) => +n.dataset.seq > m.seq);
  if (prepend) thread.prepend(el); else thread.insertBefore(el, later || null);
  state.firstSeq = state.firstSeq ? Math.min(state.firstSeq, m.seq) : m.seq;
  state.lastSeq = Math.max(state.lastSeq, m.seq);
  if (!prepend) thread.scrollTop = thread.scrollHeight;
}

/** Is the open conversation in front of the agent: the page visible and the pane shown (on a
 * phone the list and the pane take turns, and the details cover the pane)? */
function displayed() {
  if (document.visibilityState !== "visible" || !$("#thread")?.checkVisibility()) return false;
  return !(app.classList.contains("show-details") && narrow.matches);
}
const narrow = matchMedia("(max-width: 760px)");

/** Seen means displayed: who is emailed about a message depends on it. Marks the newest message
 * rendered in the pane, only while the pane is in front of the agent. */
let marked = null;
function markSeen() {
  const c = state.selected;
  if (!c || !state.lastSeq || state.switching || !displayed()) return;
  if (marked === `${c.id}:${state.lastSeq}`) return;
  marked = `${c.id}:${state.lastSeq}`;
  if (!state.live.send({ type: "seen", conversation_id: c.id, seq: state.lastSeq })) {
    api(`/api/v1/conversations/${c.id}/seen`, { method: "POST", json: { seq: state.lastSeq } }).catch(() => { marked = null; });
  }
  const entry = state.entries.find((e) => e.id === c.id);
  if (entry && entry.unread && !isItemView(state.view)) { entry.unread = 0; drawList(); }
  if (state.threads[c.kind]?.unread) { state.threads[c.kind].unread = 0; redrawTabs(); }
  refreshCounts();
}
// The page shown again, the pane shown again (back from the list or the details), a rotation.
document.addEventListener("visibilitychange", markSeen);
new MutationObserver(markSeen).observe(app, { attributes: true, attributeFilter: ["class"] });
narrow.addEventListener("change", markSeen);

async function setMode(mode) {
  if (!$("#composer")) return;
  if (mode === "internal" && !state.item) { $("#composer .error").textContent = "Make this conversation a ticket to add internal notes."; return; }
  state.mode = mode;
  const target = state.threads[mode] ?? null;
  if (target?.id !== state.selected?.id) {
    if (state.selected) state.live.unsubscribe(state.selected.id);
    state.selected = target;
  }
  drawPane();
  $("#reply").focus();
}

const { composer } = setupComposer({
  state, render, refreshCounts, setMode, makeTicket,
  typing: (id) => state.live.send({ type: "typing", conversation_id: id }),
  /** The item's first message of `kind` started its thread (the agent may have moved on). */
  started(kind, conversation, item) {
    if (state.item?.id !== item.id) return;
    state.threads[kind] = conversation;
    if (state.mode === kind && !state.selected) { state.selected = conversation; drawPane(); } else redrawTabs();
    if (isItemView(state.view)) reloadList();
  },
});

async function toggleStatus() {
  const c = state.selected;
  const updated = await api(`/api/v1/conversations/${c.id}/${c.status === "open" ? "close" : "reopen"}`, { method: "POST", json: {} });
  state.selected = { ...c, ...updated, unread: 0 };
  state.threads[updated.kind] = state.selected;
  drawPane();
  drawDetails();
  showView(state.view);
  refreshCounts();
}

/** Item changes come back as the item; its header is redrawn and the lists follow. */
function itemChanged(item) {
  state.itemWrites = (state.itemWrites || 0) + 1;
  state.item = remember(item);
  drawItemTop();
  if (isItemView(state.view)) reloadList();
  else if (state.entries.some((e) => e.item_id === item.id)) drawList();
  refreshCounts();
}

async function patchItem(changes) {
  itemChanged(await api(`/api/v1/items/${state.item.id}`, { method: "PATCH", json: changes }));
}

async function toggleItemStatus() {
  const status = state.item.status === "open" ? "closed" : "open";
  itemChanged(await api(`/api/v1/items/${state.item.id}/status`, { method: "POST", json: { status } }));
}

async function toggleFollow() {
  const following = state.item.followers.includes(state.me.id);
  itemChanged(await api(`/api/v1/items/${state.item.id}/follow`, { method: following ? "DELETE" : "PUT" }));
}

async function makeTicket() {
  const list = await projects(true);
  if (!list.length) { $("#composer .error").textContent = "Create a project first (Admin)."; return; }
  const made = await api(`/api/v1/conversations/${state.selected.id}/ticket`, { method: "POST", json: { project_id: list[0].id, title: `Chat #${state.selected.id}` } });
  state.selected = made.conversation;
  state.item = remember(made.item);
  state.threads = { public: made.conversation };
  [state.users, state.projects] = await Promise.all([team(), projects()]);
  drawPane();
  drawDetails();
}

async function drawDetails() {
  const box = $("#details");
  const id = state.selected?.customer_id ?? state.item?.requester_id;
  if (!id) { box.replaceChildren(h("p", { class: "meta", text: state.selected?.kind === "internal" ? "Internal conversation: no customer." : "" })); return; }
  const a = await api(`/api/v1/customers/${id}/activity`);
  const cu = a.customer;
  const rows = [["Name", cu.name], ["Email", cu.email], ["Contact email", cu.contact_email], ["Their id", cu.external_id],
    ["Status", cu.known ? "known" : "anonymous"], ["Wrote from", state.selected?.page_url], ["Channel", state.selected?.channel ?? state.item?.channel]];
  box.replaceChildren(
    h("button", { type: "button", class: "tool details-toggle", onclick: () => app.classList.remove("show-details"), text: "Close" }),
    h("h2", { text: "Customer" }),
    h("dl", {}, rows.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v) })])),
    h("h2", { text: "Conversations" }),
    h("ul", {}, a.conversations.map((c) => h("li", {}, h("button", { class: "link", onclick: () => select(c, false), text: `#${c.id} · ${c.status} · ${when(c.last_activity_at)}` })))),
    h("h2", { text: "Items" }),
    h("ul", {}, a.items.length ? a.items.map((i) => h("li", {}, h("button", { class: "link", onclick: () => select(i, true), text: `${i.title} (${i.status})` }))) : [h("li", { text: "None" })]),
    ...(state.me.role === "admin" ? [h("h2", { text: "Data protection" }), customerTools(cu, { erased: customerErased })] : []));
}

/** The customer is gone, and with them what is open: back to the list, without their rows. */
function customerErased(id) {
  if (state.selected) state.live.unsubscribe(state.selected.id);
  Object.assign(state, { item: null, selected: null, threads: {} });
  state.customers.delete(id);
  state.entries = state.entries.filter((e) => e.customer_id !== id && e.requester_id !== id);
  drawList();
  $("#pane").replaceChildren(h("p", { class: "empty", text: "Pick a conversation." }));
  $("#details").replaceChildren();
  app.classList.remove("show-pane", "show-details");
  if (location.hash) history.replaceState(null, "", location.pathname);
  showView(state.view);
  refreshCounts();
}

// ---- live frames and notifications ---------------------------------------------------------

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
  if (state.selected?.id !== id) { reloadList(); refreshCounts(); return; }
  Object.assign(state, { item: null, selected: null, threads: {} });
  $("#pane").replaceChildren(h("p", { class: "empty", role: "status", text: "You no longer have access to this conversation." }));
  $("#details").replaceChildren();
  if (location.hash) history.replaceState(null, "", location.pathname);
  reloadList();
  refreshCounts();
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
  } else if (f.type === "inbox") {
    refreshCounts();
    reloadList();
    // The customer's name or a conversation's status may have changed: ask again, and redraw
    // the details panel when it shows that customer.
    const who = f.conversation?.customer_id;
    if (who) state.customers.delete(who);
    if (who && who === (state.selected?.customer_id ?? state.item?.requester_id)) {
      drawDetails();
      customer(who).then((cu) => {
        if (!cu) return;
        const title = state.selected?.customer_id === who && $("#pane > header h1");
        if (title) title.textContent = customerName(cu);
        const banner = $("#pane .thread-banner.public");
        if (banner) banner.textContent = `${customerName(cu)} sees these replies`;
      });
    }
    if (state.item && f.conversation?.item_id === state.item.id) refreshThreads();
  } else if (f.type === "item") {
    remember(f.item);
    refreshCounts();
    if (isItemView(state.view)) reloadList();
    else if (state.entries.some((e) => e.item_id === f.item.id)) drawList();
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
    const last = [...document.querySelectorAll("#thread .msg.mine")].filter((n) => +n.dataset.seq <= f.seq).pop();
    const meta = last?.querySelector(".meta");
    if (meta && !meta.textContent.endsWith("Seen")) meta.textContent += " · Seen";
  }
}

// ---- settings, search, shortcuts -----------------------------------------------------------

$("#open-settings").addEventListener("click", () => {
  const form = $("#prefs");
  for (const [k, v] of Object.entries(state.prefs)) {
    const input = form.elements[k];
    if (!input) continue;
    if (input.type === "checkbox") input.checked = v; else input.value = v;
  }
  $("#settings").showModal();
});
$("#settings").addEventListener("close", async () => {
  if ($("#settings").returnValue !== "save") return;
  const form = $("#prefs");
  const prefs = {
    see_all_projects: form.elements.see_all_projects.checked, hide_from_customers: form.elements.hide_from_customers.checked,
    notify_customer_replies: form.elements.notify_customer_replies.value, notify_internal: form.elements.notify_internal.checked,
    sound: form.elements.sound.checked, email_fallback: form.elements.email_fallback.checked,
  };
  const browser = form.elements.browser_notifications.checked;
  if (browser && "Notification" in window && Notification.permission === "default") await Notification.requestPermission();
  localStorage.setItem("rapport.browserNotifications", browser ? "1" : "0");
  state.prefs = { ...(await api("/api/v1/me/preferences", { method: "PUT", json: prefs })), browser_notifications: browser };
  applyPrefs();
  projects(true).then((p) => { state.projects = p; });
  state.items.clear();
  if (state.prefs.hide_from_customers && ["open", "unanswered", "closed"].includes(state.view)) showView("customer_replies"); else showView(state.view);
});

$("#search").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = e.target.elements.q.value.trim();
  if (!q) return showView(state.view);
  const found = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
  $("#list-title").textContent = `Search: ${q}`;
  const list = $("#entries");
  list.replaceChildren();
  for (const hit of found.messages) {
    list.append(h("li", { class: `kind-${hit.conversation.kind}` }, h("button", { type: "button", class: "hit", onclick: () => select(hit.conversation, false) },
      h("span", { class: "title", text: hit.message.author.name || hit.message.author.kind }), h("span", { class: "when", text: when(hit.message.created_at) }),
      h("span", { class: "preview", text: hit.message.body }))));
  }
  for (const item of found.items) {
    list.append(h("li", {}, h("button", { type: "button", class: "hit", "data-item": item.id, onclick: () => select(item, true) },
      h("span", { class: "title", text: item.title }),
      h("span", { class: "tags" }, channelBadge(item.channel), h("span", { class: "preview", text: `${item.kind === "task" ? "Task" : "Ticket"} · ${item.status}` })))));
  }
  if (!list.children.length) list.append(h("li", {}, h("p", { class: "preview", text: "No results." })));
});

$("#open-admin").addEventListener("click", () => openAdmin());

const openNewItem = setupNewItem({
  me: () => state.me,
  async created(item) {
    remember(item);
    if (state.view !== "items_open" && state.view !== "items_mine") await showView("items_open");
    else reloadList();
    await select(item, true);
  },
});
$("#new-item").addEventListener("click", () => { app.classList.remove("show-nav"); openNewItem(); });
for (const b of document.querySelectorAll("[data-back]")) b.addEventListener("click", () => app.classList.add("show-nav"));

document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
  if (typing || e.metaKey || e.ctrlKey || e.altKey || app.hidden || document.querySelector("dialog[open]")) return;
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

boot().catch((e) => { document.body.textContent = `Rapport could not start: ${e instanceof ApiError ? e.message : e}`; });
