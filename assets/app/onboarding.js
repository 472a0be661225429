// What an empty view shows. For an admin whose install is not ready yet: the checklist "Get
// Rapport ready" (a project, email, the widget on the site, a teammate, a first message), each
// step with its state and a button to the admin page that does it. For everyone else, or once
// everything is done: a friendly word about the empty view.

import { api } from "./api.js";
import { h } from "../shared/dom.js";
import { sentence } from "./dom.js";
import { icon } from "../shared/icons.js";
import { state } from "./state.js";
import { navigate } from "./router.js";

const EMPTY = {
  open: ["inbox", "No open conversations", "When a customer writes from the widget, by email or through a form, it shows here."],
  customer_replies: ["chat", "No customer replies", "Conversations you follow show here when the customer answers."],
  internal: ["lock", "No internal messages", "Notes your team writes on the items you follow show here."],
  unanswered: ["ticket", "Nothing unanswered", "Every ticket has had an answer."],
  closed: ["check", "Nothing closed yet", "Conversations you close show here."],
  all_closed: ["check", "Nothing closed yet", "Conversations you close show here."],
  items_open: ["ticket", "No open items", "Tickets and tasks your team opens show here."],
  items_mine: ["task", "Nothing assigned to you", "Items assigned to you show here."],
  items_closed: ["check", "No closed items", "Items you close show here."],
};

function friendly(view) {
  const [name, title, text] = EMPTY[view] || EMPTY.open;
  return h("div", { class: "empty-state" }, icon(name), h("strong", { text: title }), h("p", { text }));
}

/** Where each step is done, and what its button says. */
const STEPS = {
  project: { route: "#admin/projects", action: "Create a project", title: "Create a project", hint: "Conversations and tickets belong to a project." },
  email: { route: "#admin/email", action: "Set up email", title: "Connect email", hint: "So customers get replies, sign-in links and the one-minute emails." },
  widget: { route: "#admin/widget", action: "Widget settings", title: "Install the widget on your site", hint: "Paste this snippet before </body> on every page:" },
  teammate: { route: "#admin/agents", action: "Invite a teammate", title: "Invite a teammate", hint: "Support is a team sport." },
  test_message: { route: "#admin/widget", action: "Preview the widget", title: "Send a test message", hint: "Write to yourself through the widget on your site, and answer it here." },
};

/**
 * The checklist from `GET /api/v1/admin/setup`: `checklist` when the server gives it, else made
 * from its `setup` sentences, the team and the conversations.
 */
export async function checklist() {
  const setup = await api("/api/v1/admin/setup").catch(() => null);
  if (!setup) return null;
  if (Array.isArray(setup.checklist)) return setup.checklist;
  const lacks = (word) => (setup.setup || []).some((s) => s.toLowerCase().includes(word));
  const [users, counts] = await Promise.all([api("/api/v1/users").catch(() => []), api("/api/v1/conversations/counts").catch(() => null)]);
  const conversations = counts ? (counts.open?.total || 0) + (counts.closed?.total || 0) : 0;
  return [
    { key: "project", done: !lacks("no project") },
    { key: "email", done: !lacks("email is not set up"), hint: howTo(setup.setup, "email is not set up") },
    { key: "widget", done: conversations > 0 },
    { key: "teammate", done: users.filter((u) => u.active !== false).length > 1 },
    { key: "test_message", done: conversations > 0 },
  ];
}

/** "Email is not set up: set smtp_url …" -> "Set smtp_url …." (what to do, as a sentence). */
function howTo(sentences = [], about) {
  const s = sentences.find((x) => x.toLowerCase().includes(about));
  const rest = s && s.includes(":") ? s.slice(s.indexOf(":") + 1).trim() : "";
  return rest ? sentence(rest) : undefined;
}

function step(s) {
  const known = STEPS[s.key] || { route: "#admin/health", title: s.title, hint: s.hint, action: "Open" };
  const snippet = `<script src="${location.origin}/widget.js" async></script>`;
  const extra = [];
  if (s.key === "widget" && !s.done) {
    const copied = h("span", { class: "saved", role: "status" });
    extra.push(h("div", { class: "snippet" }, h("code", { text: snippet }),
      h("button", { type: "button", class: "tool", onclick: async () => {
        try { await navigator.clipboard.writeText(snippet); copied.textContent = "Copied"; } catch { copied.textContent = "Select the text and copy it"; }
      } }, "Copy"), copied));
  }
  const go = h("a", { class: s.done ? "link" : "secondary", href: known.route, onclick: (e) => { e.preventDefault(); navigate(known.route); }, text: s.done ? "Open" : known.action });
  return h("li", { class: s.done ? "step done" : "step", "data-step": s.key },
    h("span", { class: "tick", "aria-hidden": "true" }, s.done ? icon("check") : null),
    h("div", { class: "step-text" }, h("strong", { text: s.title || known.title }),
      h("span", { class: "sr-only", text: s.done ? " (done)" : " (to do)" }),
      h("p", { class: "hint", text: s.done ? "Done." : s.hint || known.hint }), ...extra),
    go);
}

/** The checklist card, or null once everything on it is done. */
export async function checklistCard() {
  const steps = await checklist();
  if (!steps || steps.every((s) => s.done)) return null;
  const done = steps.filter((s) => s.done).length;
  return h("section", { class: "card checklist", "aria-labelledby": "checklist-title" },
    h("h2", { id: "checklist-title", text: "Get Rapport ready" }),
    h("p", { class: "hint", text: `${done} of ${steps.length} done. Each step takes a minute.` }),
    h("progress", { max: steps.length, value: done, "aria-label": `${done} of ${steps.length} steps done` }),
    h("ol", { class: "steps" }, steps.map(step)));
}

/** An empty view: the checklist for an admin while the install is not ready (on a phone, where
 * the pane is not in sight), and a friendly word. */
export function emptyView(view) {
  const box = h("div", { class: "empty-view" }, friendly(view));
  if (state.me?.role === "admin") checklistCard().then((card) => { if (card) box.prepend(card); });
  return box;
}

/** The pane with nothing open: the checklist for an admin while the install is not ready. */
export function emptyPane() {
  const items = state.view in { items_open: 1, items_mine: 1, items_closed: 1, unanswered: 1 };
  const box = h("div", { class: "pane-empty" }, h("div", { class: "empty-state" }, icon(items ? "ticket" : "chat"),
    h("p", { class: "empty", text: items ? "Pick an item." : "Pick a conversation." })));
  if (state.me?.role === "admin") checklistCard().then((card) => { if (card && box.isConnected) box.replaceChildren(card); });
  return box;
}
