// The chat panel inside the widget's iframe: state, the API, the header and the messages from
// the launcher. Plain DOM, no framework; every piece of text from anyone is inserted with
// textContent, never as HTML. The screens are modules (chat, list, compose, contact) that share
// one context; the server gives their imports this file's version, so each is cached for good.

// The launcher's first messages may come while the modules load: they are kept, then handled.
const early = [];
const keep = (e) => early.push(e);
window.addEventListener("message", keep);
const [
  { icon }, { initials, colorOf }, { customerFile }, { liveSocket, visitorPath }, { h, byId: $ }, { client },
  { place, stateOf, status }, { sendMessage, addFiles, pasteFiles },
  faces, chat, list, compose, contact,
] = await Promise.all([
  import("../shared/icons.js"), import("../shared/people.js"), import("../shared/files.js"), import("../shared/live.js"),
  import("../shared/dom.js"), import("../shared/api.js"), import("../shared/messages.js"), import("../shared/composer.js"),
  import("./faces.js"), import("./chat.js"), import("./list.js"), import("./compose.js"), import("./contact.js"),
]);

const KEY = "rapport.visitor";
const state = {
  token: localStorage.getItem(KEY),
  config: null,
  settings: {},
  conversation: null,
  conversations: [],
  lastSeq: 0,
  // The customer's seen mark in the open conversation, as the server keeps it, and the newest
  // message displayed (sent as the mark a moment later).
  seenMark: 0,
  shownSeq: 0,
  // Unseen replies in their other conversations.
  otherUnread: 0,
  open: false,
  files: [],
  socket: null,
  // Conversations the socket is subscribed to.
  live: new Set(),
  retry: 0,
  known: localStorage.getItem(KEY + ".known") === "1",
  identified: false,
};

const api = client({ auth: () => (state.token ? { "X-Rapport-Visitor": state.token } : {}) });

const toParent = (msg) => window.parent.postMessage(msg, "*");
const ctx = {
  state, $, h, api, icon, initials, colorOf, customerFile, liveSocket, visitorPath, place, stateOf, status, sendMessage, addFiles, pasteFiles, toParent,
  showError: (text) => { $("error").textContent = text || ""; },
};
for (const m of [faces, chat, list, compose, contact]) m.install(ctx);
// Shown once it works: what is typed before would be lost.
$("composer").hidden = false;

// ---- the visitor -------------------------------------------------------------------------

const tellVisitor = () => toParent({ type: "rapport:visitor", known: !!state.token });

ctx.ensureVisitor = async function ensureVisitor() {
  if (state.token) return;
  const v = await api("/api/v1/widget/visitors", { method: "POST" });
  state.token = v.token;
  localStorage.setItem(KEY, v.token);
  tellVisitor();
  await identifyFromSite();
  ctx.connect();
};

async function identifyFromSite() {
  const user = state.settings.user;
  if (!user || !state.token || state.identified) return;
  state.identified = true;
  try {
    const c = await api("/api/v1/widget/identify", { method: "POST", json: { user } });
    ctx.rememberKnown(c.known);
  } catch (e) { console.warn("rapport: the site's identity was refused:", e.code); }
}

ctx.rememberKnown = (known) => {
  state.known = known;
  if (known) localStorage.setItem(KEY + ".known", "1");
  if (known) $("identify").hidden = true;
};

// This visitor was erased: the next message starts afresh as a new visitor.
ctx.forget = () => {
  localStorage.removeItem(KEY);
  state.token = null;
  state.conversation = null;
  ctx.clearLog();
  tellVisitor();
  ctx.showList();
};

// A customer the site vouches for sees their history (tickets from the portal, forms, email)
// as soon as they open the panel, not only once they write.
async function greetKnown() {
  if (state.token || !state.open || !state.settings?.user?.signature) return;
  await ctx.ensureVisitor();
  const conversations = await ctx.loadConversations();
  if (conversations.length) await ctx.openConversation(conversations[0]);
}

// ---- the header ----------------------------------------------------------------------------

function applyConfig(c) {
  // The brand colour: the tag's, or else the admin's.
  const color = /^#[0-9a-f]{6}$/i.test(state.settings.color || "") ? state.settings.color : c.color;
  document.documentElement.style.setProperty("--brand", color);
  $("team").textContent = c.team_name;
  const team = (Array.isArray(c.team) ? c.team : []).slice(0, 3);
  const faces = team.length ? team.map((t) => ctx.avatar({ kind: "user", ...t })) : [ctx.avatar({ kind: "user", name: c.team_name })];
  if (!team.length) faces[0].classList.add("team");
  $("faces").replaceChildren(...faces);
  $("greeting").textContent = state.settings.greeting || c.greeting;
  $("status").classList.toggle("online", !!c.team_online);
  $("status-text").textContent = c.team_online ? "Online — we reply in minutes" : "Away — we'll reply by email";
  $("away").textContent = c.away_message;
  $("away").hidden = c.team_online || !c.away_message;
}

// ---- the launcher's messages ---------------------------------------------------------------

async function fromLauncher(e) {
  if (e.source !== window.parent || !e.data) return;
  const d = e.data;
  if (d.type === "rapport:init") {
    state.settings = d.settings || {};
    if (state.config) applyConfig(state.config);
    document.documentElement.lang = state.settings.locale || "en";
    identifyFromSite();
  }
  if (d.type === "rapport:init" || d.type === "rapport:visible") {
    // What was displayed until now is marked before the panel hides.
    if (!d.open) ctx.flushSeen();
    state.open = !!d.open;
    document.body.classList.toggle("phone", !!d.phone);
    // Opened from a reply's preview: show that conversation.
    const find = () => state.conversations.find((c) => c.id === d.conversation);
    const asked = d.conversation && (find() || (await ctx.loadConversations(), find()));
    if (state.open && asked && (asked.id !== state.conversation || $("chat").hidden)) await ctx.openConversation(asked);
    ctx.shown();
    if (state.open) { $("text").focus(); greetKnown().catch((err) => ctx.showError(err.message)); }
  }
}
window.removeEventListener("message", keep);
window.addEventListener("message", fromLauncher);
for (const e of early) fromLauncher(e);

document.addEventListener("visibilitychange", () => { if (document.hidden) ctx.flushSeen(); else ctx.shown(); });
$("close").append(icon("close"));
$("close").addEventListener("click", () => toParent({ type: "rapport:close" }));
$("back").append(icon("back"));
$("back").addEventListener("click", () => ctx.showList());
$("send").append(icon("send"));
$("attach").append(icon("attach"));
$("new").prepend(icon("plus"));
$("size").addEventListener("click", () => {
  const large = $("size").getAttribute("aria-label") === "Enlarge";
  $("size").setAttribute("aria-label", large ? "Shrink" : "Enlarge");
  $("size").classList.toggle("large", large);
  toParent({ type: "rapport:size", size: large ? "large" : "normal" });
});
$("new").addEventListener("click", () => {
  ctx.flushSeen();
  state.conversation = null;
  ctx.clearLog();
  ctx.showChat();
  $("text").focus();
});

(async function start() {
  try {
    state.config = await api("/api/v1/widget/config");
    applyConfig(state.config);
    if (state.token) {
      const conversations = await ctx.loadConversations().catch((e) => {
        if (e.code === "unauthenticated") { localStorage.removeItem(KEY); state.token = null; }
        return [];
      });
      tellVisitor();
      if (conversations.length) await ctx.openConversation(conversations[0]);
      ctx.countOthers();
      ctx.connect();
      previewWaiting(conversations[0]);
    }
  } catch (e) { ctx.showError(e.message); }
})();

// A returning visitor with a reply they have not seen gets its preview once, not on every page.
function previewWaiting(c) {
  if (!c || state.open || !(c.replies_unread > 0) || !c.preview || c.preview.author_kind === "customer") return;
  const mark = `${c.id}:${c.last_seq}`;
  if (localStorage.getItem(KEY + ".previewed") === mark) return;
  localStorage.setItem(KEY + ".previewed", mark);
  ctx.replied({ author: { ...(c.face || {}), kind: c.preview.author_kind }, body: c.preview.body }, c.id);
}
