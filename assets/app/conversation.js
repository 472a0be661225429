// The conversation pane and the item page. A standalone conversation: header, thread, composer.
// An item (opened from an item row, from search, or as the header of a conversation that hangs
// off it): the item's header, then its two threads as tabs, "Customer replies" (public) and
// "Internal messages" (only the team), each with its own composer draft.

import { api } from "./api.js";
import { h, $ } from "../shared/dom.js";
import { when, displayName, avatar } from "./dom.js";
import { icon } from "../shared/icons.js";
import { team, projects, channelBadge, unverifiedBadge, itemTop } from "./items.js";
import { setupComposer } from "./composer.js";
import { state, app, isItemView, customer, requesterOf } from "./state.js";
import { render } from "./thread.js";
import { drawList, showView, reloadList, refreshCounts, itemInRows } from "./list.js";
import { drawDetails } from "./details.js";

export { render };

const back = () => h("button", { type: "button", class: "icon back", "aria-label": "Back to the list", onclick: () => app.classList.remove("show-pane") }, icon("back"));

/** Shows what the agent picked; the address follows, so Back returns to the list (on a phone,
 * from the conversation to the list). */
export async function select(entry, asItem = isItemView(state.view)) {
  const ticket = ++state.opening;
  state.switching = true; // what the pane shows until then is not what the agent picked
  app.classList.add("show-pane");
  app.classList.remove("show-details");
  try {
    await openEntry(entry, asItem, ticket);
    if (ticket === state.opening) {
      const hash = asItem ? `#item/${entry.id}` : `#conversation/${entry.id}`;
      if (location.hash !== hash) history.pushState(null, "", hash);
    }
  } catch (e) {
    if (ticket !== state.opening) return;
    if (state.selected) state.live.unsubscribe(state.selected.id);
    Object.assign(state, { item: null, selected: null, threads: {} });
    $("#pane").replaceChildren(h("header", {}, back()),
      h("div", { class: "empty-state", role: "alert" }, icon("inbox"),
        h("p", { text: e.status === 404 ? "This is not here: it was deleted, or you may not see it." : e.message })));
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
    item = await api(`/api/v1/items/${entry.id}`);
    threads = await itemThreads(item.id);
    selected = threads.public ?? null;
  } else {
    selected = entry;
    threads = { [entry.kind]: entry };
    if (entry.item_id) {
      let others;
      [item, others] = await Promise.all([api(`/api/v1/items/${entry.item_id}`), itemThreads(entry.item_id)]);
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
export async function itemThreads(id) {
  const threads = {};
  for (const c of await api(`/api/v1/items/${id}/conversations`)) threads[c.kind] ??= c;
  return threads;
}

export function drawPane() {
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

/** Who the conversation is with, how it came in, its status, and the one action on it. */
function conversationHeader() {
  const c = state.selected;
  const internal = c?.kind === "internal";
  const title = h("h1", { text: internal ? c.subject || "Internal conversation" : "" });
  const face = h("span", { class: "face" });
  const fill = (cu) => {
    if (internal) { face.replaceChildren(h("span", { class: "avatar internal-face", "aria-hidden": "true" }, icon("lock"))); return; }
    const name = cu ? displayName(cu) : c?.subject || "Conversation";
    title.textContent = name;
    face.replaceChildren(avatar(name, cu?.photo_url));
  };
  fill(null);
  customer(c?.customer_id).then((cu) => { if (cu && state.selected?.id === c.id) fill(cu); });
  const status = c && !internal ? h("span", { class: `badge ${c.status === "open" ? "ok" : ""}`, id: "conversation-status", text: c.status === "open" ? "Open" : "Closed" }) : null;
  return h("header", {}, back(), face,
    h("div", { class: "head-text" }, title,
      h("div", { class: "head-sub" }, channelBadge(c?.channel), internal ? h("span", { class: "badge internal", text: "Internal" }) : status,
        c?.subject && !internal ? h("span", { class: "subject", text: c.subject }) : null, unverifiedBadge(c))),
    c ? h("button", { type: "button", class: c.status === "open" ? "ghost" : "secondary", id: "toggle-status", onclick: toggleStatus },
      icon(c.status === "open" ? "check" : "chat"), c.status === "open" ? "Close" : "Reopen") : null,
    c?.customer_id ? detailsToggle() : null);
}

/** The standalone conversation's header again (its status or customer changed). */
export function redrawHeader() {
  if (!state.item) $("#pane > header")?.replaceWith(conversationHeader());
}

/** Where the details column is hidden (narrow screens), this button shows it over the page. */
export const detailsToggle = () => h("button", { type: "button", class: "icon details-toggle info", title: "Customer details", "aria-label": "Customer details",
  onclick: () => app.classList.toggle("show-details") }, icon("user"));

/** The item's header; redraws it in place unless `fresh` (a new pane is being built). */
export function drawItemTop(fresh = false) {
  const top = itemTop({
    item: state.item, me: state.me, users: state.users, projects: state.projects, requester: requesterOf(state.item.requester_id),
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
  customer(state.item?.requester_id).then((cu) => { if (cu) banner.textContent = `${displayName(cu)} sees these replies`; });
  return banner;
}

export function redrawTabs() {
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

const narrow = matchMedia("(max-width: 760px)");
/** Is the open conversation in front of the agent: the page visible and the pane shown (on a
 * phone the list and the pane take turns, and the details cover the pane)? */
export function displayed() {
  if (document.visibilityState !== "visible" || !$("#thread")?.checkVisibility()) return false;
  return !(app.classList.contains("show-details") && narrow.matches);
}

/** Seen means displayed: who is emailed about a message depends on it. Marks the newest message
 * rendered in the pane, only while the pane is in front of the agent. */
let marked = null;
export function markSeen() {
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
// The page shown again, the pane shown again (back from the list, the details or a page), a rotation.
document.addEventListener("visibilitychange", markSeen);
new MutationObserver(markSeen).observe(app, { attributes: true, attributeFilter: ["class"] });
narrow.addEventListener("change", markSeen);

export async function setMode(mode) {
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

export async function toggleStatus() {
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
  state.item = item;
  drawItemTop();
  if (isItemView(state.view)) reloadList();
  else itemInRows(item);
  refreshCounts();
}

async function patchItem(changes) {
  itemChanged(await api(`/api/v1/items/${state.item.id}`, { method: "PATCH", json: changes }));
}

export async function toggleItemStatus() {
  const status = state.item.status === "open" ? "closed" : "open";
  itemChanged(await api(`/api/v1/items/${state.item.id}/status`, { method: "POST", json: { status } }));
}

async function toggleFollow() {
  const following = state.item.followers.includes(state.me.id);
  itemChanged(await api(`/api/v1/items/${state.item.id}/follow`, { method: following ? "DELETE" : "PUT" }));
}

async function makeTicket() {
  const list = await projects(true);
  if (!list.length) { $("#composer .error").textContent = "Create a project first (Admin → Projects)."; return; }
  const made = await api(`/api/v1/conversations/${state.selected.id}/ticket`, { method: "POST", json: { project_id: list[0].id, title: `Chat #${state.selected.id}` } });
  state.selected = made.conversation;
  state.item = made.item;
  state.threads = { public: made.conversation };
  [state.users, state.projects] = await Promise.all([team(), projects()]);
  drawPane();
  drawDetails();
}

/** Empties the pane and the details (the conversation is gone, or no longer the agent's). */
export function clearPane(text, role = "status") {
  if (state.selected) state.live.unsubscribe(state.selected.id);
  Object.assign(state, { item: null, selected: null, threads: {} });
  $("#pane").replaceChildren(h("div", { class: "empty-state", role }, icon("chat"), h("p", { class: "empty", text })));
  $("#details").replaceChildren();
  if (location.hash) history.replaceState(null, "", `#view/${state.view}`);
}
