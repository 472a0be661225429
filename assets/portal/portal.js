// The customer portal: sign in (password or emailed link), the customer's tickets, and each
// ticket's public conversation, live over the customer socket. Plain DOM, no framework; all text
// from anyone is set with textContent, never as HTML.

import { h, $ } from "../shared/dom.js";
import { client } from "../shared/api.js";
import { initials, colorOf } from "../shared/people.js";
import { customerFile } from "../shared/files.js";
import { liveSocket, visitorPath } from "../shared/live.js";
import { place, stateOf, status } from "../shared/messages.js";
import { sendMessage, addFiles as addChecked, pasteFiles } from "../shared/composer.js";

const KEY = "rapport.portal";
const POLL_MS = 10000;
const state = {
  token: localStorage.getItem(KEY),
  config: { team_name: "Support", max_upload_bytes: 25 << 20 },
  me: null,
  tickets: [],
  ticket: null, // the ticket on screen
  lastSeq: 0,
  seenSent: 0,
  files: [],
  socket: null,
  retry: 0,
  ticks: 0,
  offerPassword: false,
};

// ---- the server --------------------------------------------------------------------------

const api = client({
  auth: () => (state.token ? { "X-Rapport-Visitor": state.token } : {}),
  // A token that stopped working (signed out elsewhere): back to the sign-in form.
  unauthorized: (path) => {
    if (state.token && !/^\/api\/v1\/portal\/(login|link|logout)/.test(path)) signedOut();
    return false;
  },
});

function setToken(token) {
  state.token = token;
  if (token) localStorage.setItem(KEY, token); else localStorage.removeItem(KEY);
}

// ---- small helpers -------------------------------------------------------------------------

function showError(form, err) { $(".error", form).textContent = err ? err.message || String(err) : ""; }

function busy(form, on) {
  for (const b of form.querySelectorAll("button")) b.disabled = on;
  form.setAttribute("aria-busy", on ? "true" : "false");
}

/** Runs a form's action with its buttons disabled and the API's message shown beside it. */
async function submitting(form, action) {
  showError(form, null);
  busy(form, true);
  try { await action(); } catch (e) { showError(form, e); } finally { busy(form, false); }
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
function ago(ms) {
  const s = Math.round((ms - Date.now()) / 1000);
  const a = Math.abs(s);
  if (a < 45) return "just now";
  if (a < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (a < 86400) return rtf.format(Math.round(s / 3600), "hour");
  if (a < 7 * 86400) return rtf.format(Math.round(s / 86400), "day");
  return new Date(ms).toLocaleDateString();
}
function stamp(ms) {
  const d = new Date(ms);
  return new Date().toDateString() === d.toDateString()
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

const CHANNELS = { chat: "chat", email: "email", portal: "this portal", form: "a web form", app: "our team", api: "our team" };
function badge(el, status) {
  el.className = `badge ${status}`;
  el.textContent = status === "closed" ? "Closed" : "Open";
  return el;
}

function flash(text, kind = "error") {
  const el = $("#flash");
  el.textContent = text;
  el.classList.toggle("bad", kind === "error");
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { el.textContent = ""; }, 6000);
}

// ---- screens -----------------------------------------------------------------------------

function show(view) {
  document.body.classList.remove("loading");
  $("#starting").hidden = true;
  $("#signin-view").hidden = view !== "signin";
  $("#portal").hidden = view === "signin";
  $("#signout").hidden = view === "signin";
  document.body.dataset.view = view;
}

function focusHeading(root) { $("h1", root)?.focus({ preventScroll: false }); }

async function route() {
  const hash = location.hash.slice(1);
  if (hash.startsWith("link=")) return redeem(decodeURIComponent(hash.slice(5)));
  if (!state.token) { showSignin(); return; }
  if (!state.me) {
    try { state.me = await api("/api/v1/portal/me"); } catch (e) {
      if (e.status === 401) return; // signedOut() has shown the sign-in form
      show("signin");
      showError($("#signin"), e);
      return;
    }
    $("#who").textContent = state.me.customer.email || state.me.customer.name || "";
    connect();
  }
  show(hash.startsWith("ticket=") ? "ticket" : hash === "new" ? "new" : "list");
  $("#set-password").hidden = !(state.offerPassword && !state.me.has_password);
  const list = loadTickets();
  if (hash.startsWith("ticket=")) await openTicket(Number(hash.slice(7)));
  else {
    closeTicket();
    document.title = `${state.config.team_name} · Support`;
    $("#placeholder").hidden = hash === "new";
    $("#new-ticket-form").hidden = hash !== "new";
    if (hash === "new") { $("#new-ticket-form [name=title]").focus(); } else { await list; }
  }
}

function showSignin(message) {
  closeTicket();
  show("signin");
  const form = $("#signin");
  if (message) $(".notice", form).textContent = message;
  const email = $("[name=email]", form);
  (email.value ? $("[name=password]", form) : email).focus();
}

function signedOut() {
  setToken(null);
  state.me = null;
  state.tickets = [];
  state.offerPassword = false;
  state.socket?.close(1000);
  state.socket = null;
  $("#tickets").replaceChildren();
  $("#who").textContent = "";
  $("#flash").textContent = "";
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  showSignin();
}

// ---- signing in --------------------------------------------------------------------------

async function signedIn(answer) {
  setToken(answer.token);
  state.me = null;
  const form = $("#signin");
  form.reset();
  $(".notice", form).textContent = "";
  showError(form, null);
  await route();
}

async function redeem(token) {
  history.replaceState(null, "", location.pathname + location.search);
  show("signin");
  const form = $("#signin");
  $(".notice", form).textContent = "Signing you in…";
  try {
    const answer = await api("/api/v1/portal/link/redeem", { method: "POST", json: { token } });
    state.offerPassword = true;
    await signedIn(answer);
  } catch (e) {
    $(".notice", form).textContent = "";
    showError(form, e);
    if (state.token) { await route(); flash(e.message); } else showSignin();
  }
}

$("#signin").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  const email = form.elements.email;
  const password = form.elements.password;
  if (!email.value.trim() || !email.checkValidity()) { showError(form, new Error("Enter your email address.")); email.focus(); return; }
  if (!password.value) { showError(form, new Error("Enter your password, or ask for a sign-in link below.")); password.focus(); return; }
  $(".notice", form).textContent = "";
  submitting(form, async () => {
    await signedIn(await api("/api/v1/portal/login", { method: "POST", json: { email: email.value.trim(), password: password.value } }));
  });
});

$("#send-link").addEventListener("click", () => {
  const form = $("#signin");
  const email = form.elements.email;
  const address = email.value.trim();
  $(".notice", form).textContent = "";
  if (!address || !email.checkValidity()) { showError(form, new Error("Enter your email address first.")); email.focus(); return; }
  submitting(form, async () => {
    await api("/api/v1/portal/link", { method: "POST", json: { email: address } });
    $(".notice", form).textContent = `Check your inbox: we sent a sign-in link to ${address}. It works once, for 30 minutes.`;
  });
});

$("#signout").addEventListener("click", async () => {
  try { await api("/api/v1/portal/logout", { method: "POST" }); } catch { /* signed out here either way */ }
  signedOut();
});

$("#set-password").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  const password = form.elements.password.value;
  if (password.length < 10) { showError(form, new Error("Use at least 10 characters.")); return; }
  submitting(form, async () => {
    await api("/api/v1/portal/password", { method: "PUT", json: { password } });
    state.me.has_password = true;
    state.offerPassword = false;
    form.reset();
    form.hidden = true;
    flash("Your password is saved. You can sign in with it next time.", "ok");
  });
});

$("#set-password [data-dismiss]").addEventListener("click", () => {
  state.offerPassword = false;
  $("#set-password").hidden = true;
});

// ---- the list of tickets -----------------------------------------------------------------

async function loadTickets(quiet = false) {
  try { state.tickets = await api("/api/v1/portal/tickets"); } catch (e) { if (!quiet) flash(e.message); return; }
  drawTickets();
}

function drawTickets() {
  const current = state.ticket?.id;
  const items = state.tickets.map((t) => {
    const unread = t.id === current ? 0 : t.unread;
    const link = h("a", { href: `#ticket=${t.id}`, class: "ticket-link", "aria-current": t.id === current ? "page" : null },
      h("span", { class: "t-title", text: t.title }),
      h("span", { class: "t-meta" },
        badge(h("span"), t.status),
        h("span", { text: `#${t.id} · via ${CHANNELS[t.channel] || t.channel} · ${ago(t.last_activity_at || t.updated_at)}` })),
      unread > 0 ? h("span", { class: "unread", text: String(unread), "aria-label": `${unread} unread` }) : null);
    return h("li", { "data-ticket-id": t.id, class: unread > 0 ? "has-unread" : null }, link);
  });
  $("#tickets").replaceChildren(...items);
  $("#no-tickets").hidden = state.tickets.length > 0;
}

$("#new-ticket").addEventListener("click", () => { location.hash = "new"; });

$("#new-ticket-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  const title = form.elements.title.value.trim();
  const description = form.elements.description.value.trim();
  if (!title) { showError(form, new Error("Give your ticket a subject.")); form.elements.title.focus(); return; }
  if (!description) { showError(form, new Error("Tell us what you need.")); form.elements.description.focus(); return; }
  submitting(form, async () => {
    const ticket = await api("/api/v1/portal/tickets", { method: "POST", json: { title, description } });
    form.reset();
    state.tickets.unshift(ticket);
    location.hash = `ticket=${ticket.id}`;
  });
});

// ---- one ticket ----------------------------------------------------------------------------

function closeTicket() {
  const old = state.ticket;
  state.ticket = null;
  state.files = [];
  drawFiles();
  $("#ticket").hidden = true;
  if (old?.conversation_id) wsSend({ type: "unsubscribe", conversation_id: old.conversation_id });
}

async function openTicket(id) {
  const view = $("#ticket");
  if (state.ticket?.id !== id) {
    closeTicket();
    $("#messages").replaceChildren();
    $("#placeholder").hidden = true;
    $("#new-ticket-form").hidden = true;
    showError($("#reply-form"), null);
    let ticket;
    try { ticket = await api(`/api/v1/portal/tickets/${id}`); } catch (e) {
      flash(e.code === "ticket_not_found" ? "That ticket was not found." : e.message);
      if (location.hash === `#ticket=${id}`) location.replace("#");
      return;
    }
    if (location.hash !== `#ticket=${id}`) return; // the person moved on meanwhile
    state.ticket = ticket;
    state.lastSeq = 0;
    state.seenSent = 0;
    drawTicket();
    render({ request: true, body: ticket.description || ticket.title, created_at: ticket.created_at, author: { kind: "customer" } });
    view.hidden = false;
    focusHeading(view);
    if (ticket.conversation_id) await fetchMessages();
    subscribe();
  }
  drawTickets();
}

function drawTicket() {
  const t = state.ticket;
  const view = $("#ticket");
  $("h1", view).textContent = t.title;
  badge($(".ticket-head .badge", view), t.status);
  $(".ticket-meta", view).textContent = `Ticket #${t.id} · opened ${stamp(t.created_at)} via ${CHANNELS[t.channel] || t.channel}`;
  document.title = `${t.title} · ${state.config.team_name}`;
}

async function refreshTicket() {
  const t = state.ticket;
  if (!t) return;
  const fresh = await api(`/api/v1/portal/tickets/${t.id}`).catch(() => null);
  if (!fresh || state.ticket !== t) return;
  const started = !t.conversation_id && fresh.conversation_id;
  Object.assign(t, fresh);
  drawTicket();
  if (started) { await fetchMessages(); subscribe(); }
}

/** Every message after the last one on screen, page by page. */
async function fetchMessages() {
  const t = state.ticket;
  for (;;) {
    if (!t?.conversation_id || state.ticket !== t) return;
    const page = await api(`/api/v1/widget/conversations/${t.conversation_id}/messages?after=${state.lastSeq}&limit=200`);
    if (state.ticket !== t) return;
    for (const m of page) render(m);
    if (page.length < 200) return;
  }
}

function authorName(a) {
  if (a.kind === "customer") return "You";
  if (a.kind === "bot") return state.config.team_name;
  return a.name || state.config.team_name;
}

function avatar(name, bot) {
  const el = h("span", { class: "avatar", "aria-hidden": "true", text: initials(name) });
  el.style.background = bot ? "var(--brand)" : colorOf(name);
  return el;
}

// A message as the portal shows it: the author's face, who and when, the text and its files.
function draw(m) {
  const mine = m.author.kind === "customer";
  const name = authorName(m.author);
  return h("div", {
    class: `msg${mine ? " mine" : ""}${m.request ? " request" : ""}${stateOf(m)}`,
    "data-seq": m.request ? "0" : m.seq || null,
    "data-client": m.client_id || null,
  },
  avatar(name, m.author.kind === "bot"),
  h("div", { class: "body" },
    h("div", { class: "meta" },
      h("strong", { text: name }),
      h("span", {}, m.request ? `${stamp(m.created_at)} · original request` : status(m, stamp))),
    h("div", { class: "text", text: m.body }),
    m.attachments?.length ? h("div", { class: "attachments" }, m.attachments.map((a) => customerFile(a, state.token))) : null));
}

/** Shows a message (`pendingKey`: the client_id of the bubble it replaces). */
function render(m, pendingKey) {
  const log = $("#messages");
  const el = place(log, m, draw, pendingKey);
  if (!el) return;
  if (m.seq) {
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    scheduleSeen();
  }
  const near = log.scrollHeight - log.scrollTop - log.clientHeight < 200;
  if (near || m.author.kind === "customer") el.scrollIntoView({ block: "nearest" });
}

let seenTimer;
function scheduleSeen() { clearTimeout(seenTimer); seenTimer = setTimeout(markSeen, 150); }

function markSeen() {
  const t = state.ticket;
  if (!t?.conversation_id || document.hidden || state.lastSeq <= state.seenSent) return;
  const seq = state.lastSeq;
  state.seenSent = seq;
  const listed = state.tickets.find((x) => x.id === t.id);
  if (listed) listed.unread = 0;
  api(`/api/v1/widget/conversations/${t.conversation_id}/seen`, { method: "POST", json: { seq } })
    .catch(() => { if (state.seenSent === seq) state.seenSent = 0; });
}

// ---- replying ----------------------------------------------------------------------------

function addFiles(files) {
  const form = $("#reply-form");
  showError(form, null);
  addChecked(state.files, files, state.config.max_upload_bytes || 25 << 20, (text) => showError(form, new Error(text)));
  drawFiles();
}

function drawFiles() {
  $("#files").replaceChildren(...state.files.map((f, i) => h("span", { class: "chip" },
    h("span", { text: f.name }),
    h("button", { type: "button", "aria-label": `Remove ${f.name}`, text: "✕", onclick: () => { state.files.splice(i, 1); drawFiles(); } }))));
}

async function send() {
  const form = $("#reply-form");
  const t = state.ticket;
  const text = form.elements.body.value.trim();
  const files = state.files.slice();
  if (!t || (!text && !files.length)) return;
  form.elements.body.value = "";
  state.files = [];
  drawFiles();
  await sendMessage({
    api,
    log: () => $("#messages"),
    render,
    async post(message) {
      const answer = await api(`/api/v1/portal/tickets/${t.id}/messages`, { method: "POST", json: message });
      const started = !t.conversation_id;
      t.conversation_id = answer.conversation.id;
      if (state.ticket !== t) return;
      if (started) { await fetchMessages(); subscribe(); }
      render(answer.message, message.client_id);
      refreshTicket();
    },
    say: (e) => { if (state.ticket === t) showError(form, e); },
    giveBack() {
      if (state.ticket !== t) return;
      form.elements.body.value = text;
      state.files = files;
      drawFiles();
    },
    busy: (on) => busy(form, on),
  }, text, files);
}

$("#reply-form").addEventListener("submit", (e) => { e.preventDefault(); send(); });
$("#reply-body").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); }
});
$("#reply-form input[type=file]").addEventListener("change", (e) => { addFiles([...e.target.files]); e.target.value = ""; });
$("#reply-body").addEventListener("paste", (e) => pasteFiles(e, addFiles));

// ---- live updates ------------------------------------------------------------------------

const { connect, send: wsSend } = liveSocket(state, {
  path: () => visitorPath(state),
  onOpen: () => subscribe(),
  onFrame(f) {
    const cid = state.ticket?.conversation_id;
    if (f.type === "message" && cid && f.conversation_id === cid) render(f.message, f.message.client_id);
    else if (f.type === "conversation" && cid && f.conversation?.id === cid) refreshTicket();
  },
});

function subscribe() {
  const cid = state.ticket?.conversation_id;
  if (cid) wsSend({ type: "subscribe", conversation_id: cid, after_seq: state.lastSeq });
}

// The fallback when the socket is down; also notices a conversation the team starts, and keeps
// the list's unread counts fresh.
setInterval(async () => {
  if (!state.me || document.hidden) return;
  state.ticks++;
  const live = state.socket?.readyState === WebSocket.OPEN;
  if (state.ticket) {
    if (!live) await fetchMessages().catch(() => {});
    if (!live || !state.ticket?.conversation_id) await refreshTicket();
  }
  if (!live || state.ticks % 3 === 0) loadTickets(true);
}, POLL_MS);

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  markSeen();
  if (state.me) loadTickets(true);
});

// ---- start -------------------------------------------------------------------------------

function applyConfig(c) {
  state.config = { ...state.config, ...c };
  if (/^#[0-9a-f]{6}$/i.test(c.color || "")) document.documentElement.style.setProperty("--brand", c.color);
  $("#team").textContent = c.team_name;
  for (const el of document.querySelectorAll(".team-name")) el.textContent = c.team_name;
  document.title = `${c.team_name} · Support`;
}

window.addEventListener("hashchange", () => { route().catch((e) => flash(e.message)); });

(async function start() {
  const config = api("/api/v1/widget/config").then(applyConfig, () => {});
  if (!location.hash.startsWith("#link=")) await config;
  await route();
})();
