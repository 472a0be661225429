// The chat panel inside the widget's iframe. Plain DOM, no framework; every piece of text from
// anyone is inserted with textContent, never as HTML.

const $ = (id) => document.getElementById(id);
const KEY = "rapport.visitor";
const state = {
  token: localStorage.getItem(KEY),
  config: null,
  settings: {},
  conversation: null,
  lastSeq: 0,
  // The customer's seen mark in the open conversation, as the server keeps it.
  seenMark: 0,
  // Unseen team messages in their other conversations.
  otherUnread: 0,
  open: false,
  files: [],
  socket: null,
  retry: 0,
  known: localStorage.getItem(KEY + ".known") === "1",
  identified: false,
};

class ApiError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

async function api(path, { method = "GET", json, body, headers = {} } = {}) {
  if (state.token) headers["X-Rapport-Visitor"] = state.token;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  let res;
  try { res = await fetch(path, { method, headers, body }); } catch { throw new ApiError("offline", "You seem to be offline. We will retry."); }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(data?.error?.code || "error", data?.error?.message || res.statusText);
  return data;
}

function showError(text) { $("error").textContent = text || ""; }
const toParent = (msg) => window.parent.postMessage(msg, "*");

// ---- rendering -------------------------------------------------------------------------

const palette = ["#2b6cb0", "#2f855a", "#b7791f", "#c53030", "#6b46c1", "#2c7a7b", "#b83280"];
function avatar(author) {
  const el = document.createElement("span");
  el.className = "avatar";
  const name = author.name || (author.kind === "bot" ? "Bot" : author.kind === "user" ? "Team" : "You");
  el.textContent = name.split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  el.style.background = palette[h % palette.length];
  el.setAttribute("aria-hidden", "true");
  return el;
}

const time = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

async function blobUrl(id) {
  const res = await fetch(`/api/v1/widget/attachments/${id}`, { headers: { "X-Rapport-Visitor": state.token } });
  if (!res.ok) throw new Error("download failed");
  return URL.createObjectURL(await res.blob());
}

function attachment(a) {
  if (a.content_type.startsWith("image/") && a.content_type !== "image/svg+xml") {
    const img = document.createElement("img");
    img.alt = a.filename;
    blobUrl(a.id).then((u) => { img.src = u; }, () => { img.alt = `${a.filename} (could not load)`; });
    return img;
  }
  const link = document.createElement("a");
  link.className = "file";
  link.href = "#";
  link.textContent = `${a.filename} (${Math.ceil(a.size / 1024)} KB) ↓`;
  link.addEventListener("click", async (e) => {
    e.preventDefault();
    const tmp = document.createElement("a");
    tmp.href = await blobUrl(a.id);
    tmp.download = a.filename;
    tmp.click();
  });
  return link;
}

function render(m, pendingKey) {
  const log = $("log");
  // The bubble shown while sending: replaced by the message, whichever of the answer and the
  // socket frame comes first.
  const key = pendingKey || m.client_id;
  let el = key && log.querySelector(`.pending[data-client="${CSS.escape(key)}"]`);
  if (m.seq && log.querySelector(`[data-seq="${m.seq}"]`)) { el?.remove(); return; }
  const mine = m.author.kind === "customer";
  const fresh = document.createElement("div");
  fresh.className = "msg" + (mine ? " mine" : "") + (m.seq ? "" : " pending");
  if (m.seq) fresh.dataset.seq = m.seq;
  if (m.client_id) fresh.dataset.client = m.client_id;
  if (!mine) fresh.append(avatar(m.author));
  const wrap = document.createElement("div");
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.textContent = m.body;
  for (const a of m.attachments || []) bubble.append(attachment(a));
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = (mine ? "" : `${m.author.name || "Team"} · `) + (m.created_at ? time(m.created_at) : "sending…");
  wrap.append(bubble, meta);
  fresh.append(wrap);
  if (el) { el.replaceWith(fresh); } else {
    // Keep sequence order even if a late answer arrives after a live frame.
    const later = m.seq && [...log.querySelectorAll("[data-seq]")].find((n) => +n.dataset.seq > m.seq);
    log.insertBefore(fresh, later || null);
  }
  if (m.seq) {
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    // Posting moves the author's own mark on the server.
    if (mine) state.seenMark = Math.max(state.seenMark, m.seq);
  }
  log.scrollTop = log.scrollHeight;
  seenSoon();
}

function clearLog(seenMark = 0) {
  for (const n of $("log").querySelectorAll(".msg")) n.remove();
  state.lastSeq = 0;
  state.seenMark = seenMark;
}

// ---- live socket -----------------------------------------------------------------------

function connect() {
  if (!state.token || state.socket) return;
  const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/api/v1/widget/socket?token=${encodeURIComponent(state.token)}`);
  state.socket = ws;
  ws.onopen = () => { state.retry = 0; subscribe(); };
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type === "message" && f.conversation_id === state.conversation) { render(f.message, f.message.client_id); typingDone(); }
    else if (f.type === "typing" && f.conversation_id === state.conversation) typingShow(f.author.name || "Someone");
    else if (f.type === "seen" && f.reader.kind === "user" && f.conversation_id === state.conversation) seenBy(f.seq);
    else if (f.type === "unsubscribed" && f.reason && f.conversation_id === state.conversation) { state.conversation = null; showList(); }
  };
  ws.onclose = (e) => {
    state.socket = null;
    // 4401: this visitor was erased; the next message starts afresh as a new visitor.
    if (e.code === 4401) { localStorage.removeItem(KEY); state.token = null; state.conversation = null; clearLog(); tellVisitor(); showList(); return; }
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(connect, 500 * 2 ** state.retry);
  };
}

function wsSend(frame) {
  if (state.socket?.readyState === WebSocket.OPEN) { state.socket.send(JSON.stringify(frame)); return true; }
  return false;
}

function subscribe() {
  if (state.conversation) wsSend({ type: "subscribe", conversation_id: state.conversation, after_seq: state.lastSeq });
}

let typingTimer;
function typingShow(name) {
  $("typing").textContent = `${name} is typing…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(typingDone, 3000);
}
function typingDone() { $("typing").textContent = ""; }

function seenBy(seq) {
  const mine = [...$("log").querySelectorAll(".msg.mine[data-seq]")].filter((n) => +n.dataset.seq <= seq).pop();
  if (!mine) return;
  const meta = mine.querySelector(".meta");
  if (!meta.textContent.endsWith("Seen")) meta.textContent += " · Seen";
}

// Seen means in front of the customer: the panel open, the page visible, this conversation
// shown (not the list). Agents' "Seen" and who gets an email depend on it.
const displayed = () => state.open && !document.hidden && !!state.conversation && !$("chat").hidden;

// One mark for the newest message shown, however many were rendered at once.
let seenQueued = false;
function seenSoon() {
  if (seenQueued) return;
  seenQueued = true;
  queueMicrotask(() => { seenQueued = false; markSeen(); });
}

function markSeen() {
  if (displayed() && state.lastSeq > state.seenMark) {
    state.seenMark = state.lastSeq;
    const frame = { type: "seen", conversation_id: state.conversation, seq: state.lastSeq };
    if (!wsSend(frame)) api(`/api/v1/widget/conversations/${state.conversation}/seen`, { method: "POST", json: { seq: state.lastSeq } }).catch(() => {});
  }
  const here = [...$("log").querySelectorAll(".msg:not(.mine)[data-seq]")].filter((n) => +n.dataset.seq > state.seenMark).length;
  toParent({ type: "rapport:unread", count: here + state.otherUnread });
}

// Unseen team messages in the visitor's other conversations (not the open one): those after
// their seen mark that are not their own.
async function countOthers(conversations) {
  let count = 0;
  for (const c of conversations) {
    if (c.id === state.conversation || c.unread <= 0) continue;
    const after = c.last_seq - c.unread;
    const news = await api(`/api/v1/widget/conversations/${c.id}/messages?limit=200&after=${after}`).catch(() => []);
    count += news.filter((m) => m.author.kind !== "customer").length;
  }
  state.otherUnread = count;
  markSeen();
}

const tellVisitor = () => toParent({ type: "rapport:visitor", known: !!state.token });

// ---- conversations ---------------------------------------------------------------------

async function ensureVisitor() {
  if (state.token) return;
  const v = await api("/api/v1/widget/visitors", { method: "POST" });
  state.token = v.token;
  localStorage.setItem(KEY, v.token);
  tellVisitor();
  await identifyFromSite();
  connect();
}

async function identifyFromSite() {
  const user = state.settings.user;
  if (!user || !state.token || state.identified) return;
  state.identified = true;
  try {
    const c = await api("/api/v1/widget/identify", { method: "POST", json: { user } });
    rememberKnown(c.known);
  } catch (e) { console.warn("rapport: the site's identity was refused:", e.code); }
}

// A customer the site vouches for sees their history (tickets from the portal, forms, email)
// as soon as they open the panel, not only once they write.
async function greetKnown() {
  if (state.token || !state.open || !state.settings?.user?.signature) return;
  await ensureVisitor();
  const conversations = await api("/api/v1/widget/conversations");
  if (conversations.length) await openConversation(conversations[0]);
}

function rememberKnown(known) {
  state.known = known;
  if (known) localStorage.setItem(KEY + ".known", "1");
  $("identify").hidden = true;
}

async function openConversation(c) {
  const id = c.id;
  state.conversation = id;
  clearLog(c.last_seq - c.unread);
  showChat();
  const messages = await api(`/api/v1/widget/conversations/${id}/messages?limit=200&before=${Number.MAX_SAFE_INTEGER}`);
  for (const m of messages) render(m);
  subscribe();
  markSeen();
}

async function showList() {
  const list = $("conversations");
  list.replaceChildren();
  const conversations = state.token ? await api("/api/v1/widget/conversations") : [];
  for (const c of conversations) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `Conversation #${c.id} · ${c.status} · ${new Date(c.last_activity_at).toLocaleString()}`;
    b.addEventListener("click", () => openConversation(c));
    li.append(b);
    list.append(li);
  }
  $("list").hidden = false;
  $("chat").hidden = true;
  $("back").hidden = true;
  countOthers(conversations).catch(() => {});
}

function showChat() {
  $("list").hidden = true;
  $("chat").hidden = false;
  $("back").hidden = !state.token;
  markSeen();
}

// ---- composing ---------------------------------------------------------------------------

function addFiles(files) {
  showError("");
  const max = state.config?.max_upload_bytes || 25 << 20;
  for (const file of files) {
    if (file.size > max) { showError(`${file.name} is larger than ${Math.floor(max / 1048576)} MB.`); continue; }
    if (state.files.length >= 10) { showError("At most 10 files per message."); break; }
    state.files.push(file);
  }
  drawPreviews();
}

function drawPreviews() {
  const box = $("previews");
  box.replaceChildren();
  state.files.forEach((file, i) => {
    const p = document.createElement("div");
    p.className = "preview";
    if (file.type.startsWith("image/")) {
      const img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = file.name;
      p.append(img);
    } else {
      p.textContent = file.name;
    }
    const x = document.createElement("button");
    x.type = "button";
    x.textContent = "✕";
    x.setAttribute("aria-label", `Remove ${file.name}`);
    x.addEventListener("click", () => { state.files.splice(i, 1); drawPreviews(); });
    p.append(x);
    box.append(p);
  });
}

const MAX_CHARS = 20000;

async function send() {
  const text = $("text").value.trim();
  const files = state.files.slice();
  if (!text && !files.length) return;
  // Said, never cut: the text stays in the composer to be shortened or split.
  if (text.length > MAX_CHARS) {
    showError(`Your message is too long: at most ${MAX_CHARS.toLocaleString("en")} characters, and this has ${text.length.toLocaleString("en")}. Please split it.`);
    return;
  }
  showError("");
  const client_id = crypto.randomUUID();
  render({ author: { kind: "customer" }, body: text, client_id, attachments: [] }, client_id);
  $("text").value = "";
  state.files = [];
  drawPreviews();
  try {
    await ensureVisitor();
    const ids = [];
    for (const f of files) {
      const meta = await api(`/api/v1/widget/attachments?filename=${encodeURIComponent(f.name || "pasted.png")}`, {
        method: "POST", body: f, headers: { "Content-Type": f.type || "application/octet-stream" },
      });
      ids.push(meta.id);
    }
    const message = { body: text, client_id, attachment_ids: ids };
    if (!state.conversation) {
      const created = await api("/api/v1/widget/conversations", { method: "POST", json: { message, page_url: state.settings.page } });
      state.conversation = created.conversation.id;
      render(created.message, client_id);
      subscribe();
      $("back").hidden = false;
      if (!state.known) $("identify").hidden = false;
    } else {
      render(await api(`/api/v1/widget/conversations/${state.conversation}/messages`, { method: "POST", json: message }), client_id);
    }
  } catch (e) {
    $("log").querySelector(`.pending[data-client="${CSS.escape(client_id)}"]`)?.remove();
    $("text").value = text;
    state.files = files;
    drawPreviews();
    showError(e.message);
  }
}

// ---- wiring ------------------------------------------------------------------------------

function applyConfig(c) {
  // The launcher's colour: the tag's, or else the admin's.
  const color = /^#[0-9a-f]{6}$/i.test(state.settings.color || "") ? state.settings.color : c.color;
  document.documentElement.style.setProperty("--brand", color);
  $("team").textContent = c.team_name;
  $("greeting").textContent = state.settings.greeting || c.greeting;
  $("status").classList.toggle("online", c.team_online);
  $("status-text").textContent = c.team_online ? "We are online" : "Away";
  $("away").textContent = c.away_message;
  $("away").hidden = c.team_online || !c.away_message;
}

window.addEventListener("message", (e) => {
  if (e.source !== window.parent || !e.data) return;
  if (e.data.type === "rapport:init") {
    state.settings = e.data.settings || {};
    if (state.config) applyConfig(state.config);
    document.documentElement.lang = state.settings.locale || "en";
    identifyFromSite();
  }
  if (e.data.type === "rapport:init" || e.data.type === "rapport:visible") {
    state.open = !!e.data.open;
    document.body.classList.toggle("phone", !!e.data.phone);
    // Marks what is now shown, or tells the launcher what is left unseen.
    markSeen();
    if (state.open) { $("text").focus(); greetKnown().catch((err) => showError(err.message)); }
  }
});

document.addEventListener("visibilitychange", markSeen);
$("close").addEventListener("click", () => toParent({ type: "rapport:close" }));
$("size").addEventListener("click", () => {
  const large = $("size").getAttribute("aria-label") === "Enlarge";
  $("size").setAttribute("aria-label", large ? "Shrink" : "Enlarge");
  $("size").innerHTML = large ? "&#8690;" : "&#8689;";
  toParent({ type: "rapport:size", size: large ? "large" : "normal" });
});
$("back").addEventListener("click", showList);
$("new").addEventListener("click", () => { state.conversation = null; clearLog(); showChat(); $("text").focus(); });
$("composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
  if (e.key === "Escape") toParent({ type: "rapport:close" });
});
let lastTyping = 0;
$("text").addEventListener("input", () => {
  const t = $("text");
  t.style.height = "auto";
  t.style.height = `${t.scrollHeight}px`;
  if (state.conversation && Date.now() - lastTyping > 1500) {
    lastTyping = Date.now();
    wsSend({ type: "typing", conversation_id: state.conversation });
  }
});
$("text").addEventListener("paste", (e) => {
  const files = [...(e.clipboardData?.files || [])];
  if (files.length) { e.preventDefault(); addFiles(files); }
});
$("files").addEventListener("change", (e) => { addFiles([...e.target.files]); e.target.value = ""; });
const chat = $("chat");
chat.addEventListener("dragover", (e) => { e.preventDefault(); $("composer").classList.add("drop"); });
chat.addEventListener("dragleave", () => $("composer").classList.remove("drop"));
chat.addEventListener("drop", (e) => { e.preventDefault(); $("composer").classList.remove("drop"); addFiles([...e.dataTransfer.files]); });
$("skip").addEventListener("click", () => { $("identify").hidden = true; });
$("identify").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const json = {};
  for (const k of ["name", "email"]) if (form.get(k)) json[k] = form.get(k);
  try { rememberKnown((await api("/api/v1/widget/identify", { method: "POST", json })).known); } catch (err) { showError(err.message); }
});

(async function start() {
  try {
    state.config = await api("/api/v1/widget/config");
    applyConfig(state.config);
    if (state.token) {
      const conversations = await api("/api/v1/widget/conversations").catch((e) => {
        if (e.code === "unauthenticated") { localStorage.removeItem(KEY); state.token = null; }
        return [];
      });
      tellVisitor();
      if (conversations.length) await openConversation(conversations[0]);
      countOthers(conversations).catch(() => {});
      connect();
    }
  } catch (e) { showError(e.message); }
})();
