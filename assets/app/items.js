// Tickets and tasks in the agents' app: the list rows of the item views, the item page's header
// (the title, one close action, a properties panel, the description) and the New item dialog
// with its requester picker. main.js owns the state and the threads.

import { api } from "./api.js";
import { h, $ } from "../shared/dom.js";
import { when, avatar, sentence, toast } from "./dom.js";
import { icon } from "../shared/icons.js";

export const PRIORITIES = ["low", "normal", "high", "urgent"];
export const ITEM_VIEWS = {
  items_open: { title: "Open items", query: () => "status=open" },
  items_mine: { title: "Assigned to me", query: (me) => `status=open&assignee_id=${me.id}` },
  items_closed: { title: "Closed items", query: () => "status=closed" },
};

// ---- shared look-ups: the team and the projects the agent may see ---------------------------

let teamList = null;
let projectList = null;
/** GET /api/v1/users, cached; `fresh` fetches again. */
export function team(fresh = false) {
  if (fresh || !teamList) teamList = api("/api/v1/users").catch(() => { teamList = null; return []; });
  return teamList;
}
export function projects(fresh = false) {
  if (fresh || !projectList) projectList = api("/api/v1/projects").catch(() => { projectList = null; return []; });
  return projectList;
}
export const userName = (users, id) => users.find((u) => u.id === id)?.name || `User #${id}`;
export const customerName = (c) => c ? c.name || c.email || c.contact_email || `Visitor #${c.id}` : "";
const kindLabel = (kind) => (kind === "task" ? "Task" : "Ticket");

// ---- small badges ------------------------------------------------------------------------------

/** The channel a conversation or item came in by: chat, email, portal, form, app or api. */
export function channelBadge(channel) {
  return channel ? h("span", { class: `channel ch-${channel}`, title: `Channel: ${channel}`, text: channel }) : null;
}

/** Marks an item or conversation whose customer's only email was typed in (a form, the widget)
 * and never verified: it may not be theirs, so it is emailed neutral notices only. */
export function unverifiedBadge(entry) {
  return entry?.unverified_email
    ? h("span", { class: "badge unverified", title: "This email address was typed in and never verified: it may belong to someone else.", text: "Unverified email" })
    : null;
}

/** The priority; high and urgent are marked (colour and a sign drawn by the stylesheet). */
export function priorityMark(priority) {
  return priority ? h("span", { class: `priority p-${priority}`, title: `Priority: ${priority}`, text: priority }) : null;
}

// ---- list rows ---------------------------------------------------------------------------------

/** One row of Unanswered items / Open items / Assigned to me / Closed items, shaped like a
 * conversation's row: a face (the requester's, else the assignee's), the title, the time, a
 * preview, then tags. */
export function itemRow(item, { selected, onclick, users, requester, preview }) {
  const who = h("span", { class: "requester" });
  const assignee = item.assignee_id ? userName(users, item.assignee_id) : null;
  const face = avatar(assignee || kindLabel(item.kind));
  requester.then((c) => {
    who.textContent = c ? `From ${customerName(c)}` : "";
    if (c) face.replaceWith(avatar(customerName(c)));
  });
  const button = h("button", { type: "button", "aria-current": String(selected), "data-item": item.id, onclick },
    face,
    h("span", { class: "title", text: item.title }),
    h("span", { class: "when", text: when(item.updated_at || item.created_at) }),
    h("span", { class: "preview", text: preview }),
    h("span", { class: "tags" },
      priorityMark(item.priority),
      h("span", { class: `badge kind-${item.kind}`, text: kindLabel(item.kind) }),
      item.status === "closed" ? h("span", { class: `badge status-${item.status}`, text: item.status }) : null,
      channelBadge(item.channel),
      h("span", { class: "assignee", text: assignee ? `→ ${assignee}` : "Unassigned" }),
      who));
  return h("li", { class: `item priority-${item.priority}` }, button);
}

/** The tag line of a conversation that hangs off an item: its title, and its priority when it
 * stands out (high, urgent). */
export function itemRef(item) {
  const marked = item.priority === "high" || item.priority === "urgent";
  const ref = h("span", { class: "item-ref", title: `${kindLabel(item.kind)}: ${item.title}`, text: `${kindLabel(item.kind)}: ${item.title}` });
  return marked ? [ref, priorityMark(item.priority)] : [ref];
}

// ---- the item page's header -----------------------------------------------------------------

let descriptionOpen = false; // the agent's last choice, kept while the app is open

/**
 * The top of the item page: a header (back, the title editable in place, the one Close item /
 * Reopen item action) and a properties panel (status, priority, assignee, requester, project,
 * kind, channel, followers), then the description, folded. `ctx`: {item, me, users, projects,
 * requester (promise), patch(changes), setStatus(), follow(), back(), redraw(), details() (a
 * button showing the requester's details where their column is hidden, or null)}.
 */
export function itemTop(ctx) {
  const { item, me, users } = ctx;
  const error = h("p", { class: "error", role: "alert" });
  const fail = (e) => { error.textContent = sentence(e.message); };

  const title = h("h1", {}, h("button", { type: "button", id: "item-title", class: "title-edit", title: "Rename", text: item.title, onclick: editTitle }));
  function editTitle() {
    const input = h("input", { id: "item-title-input", value: item.title, "aria-label": "Title", maxlength: 200 });
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const value = input.value.trim();
      if (!save || !value || value === item.title) { ctx.redraw(); return; }
      try { await ctx.patch({ title: value }); } catch (e) { ctx.redraw(); $("#item-top .error").textContent = sentence(e.message); }
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); } else if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
    title.replaceChildren(input);
    input.focus();
    input.select();
  }

  const closed = item.status === "closed";
  const status = h("button", { type: "button", class: closed ? "ghost" : "ghost close-item", id: "item-status",
    title: closed ? "Reopen the item and its conversations" : "Close the item and its conversations",
    onclick: () => closeOrReopen(ctx, status).catch(fail) }, closed ? null : icon("check"), closed ? "Reopen item" : "Close item");
  const header = h("header", { class: "item-header" },
    h("button", { class: "icon back", "aria-label": "Back to the list", onclick: ctx.back }, icon("back")),
    h("span", { class: "kind-icon", title: kindLabel(item.kind) }, icon(item.kind === "task" ? "task" : "ticket")),
    title, status, ctx.details?.());

  const priority = h("select", { id: "item-priority", "aria-label": "Priority", class: `p-${item.priority}`, onchange: (e) => ctx.patch({ priority: e.target.value }).catch(fail) },
    ...PRIORITIES.map((p) => h("option", { value: p, selected: p === item.priority, text: p.charAt(0).toUpperCase() + p.slice(1) })));
  const people = users.filter((u) => u.active || u.id === item.assignee_id);
  const assignee = h("select", { id: "item-assignee", "aria-label": "Assignee",
    onchange: (e) => ctx.patch({ assignee_id: e.target.value ? Number(e.target.value) : null }).catch(fail) },
  h("option", { value: "", text: "Unassigned" }),
  ...people.map((u) => h("option", { value: u.id, selected: u.id === item.assignee_id, text: u.id === me.id ? `${u.name} (you)` : u.name })));

  const requester = h("dd", { class: "requester" }, h("span", { class: "muted", text: item.requester_id ? "…" : "None" }));
  ctx.requester.then((c) => {
    if (!c) { requester.textContent = item.requester_id ? `Customer #${item.requester_id}` : "None"; return; }
    const email = c.email || c.contact_email;
    requester.replaceChildren(avatar(customerName(c), null, "sm"),
      h("span", { class: "who" }, h("span", { class: "name", text: customerName(c) }), c.name && email ? h("span", { class: "email", text: email }) : ""),
      unverifiedBadge(item) || "");
  });
  const project = ctx.projects.find((p) => p.id === item.project_id);
  const following = item.followers.includes(me.id);
  const followers = item.followers.length ? item.followers.map((id) => userName(users, id)).join(", ") : "Nobody";

  const prop = (label, value, wide = false) => h("div", { class: wide ? "prop wide" : "prop" }, h("dt", { text: label }), value.tagName === "DD" ? value : h("dd", {}, value));
  const fields = h("dl", { class: "fields" },
    prop("Status", h("span", { class: `badge status-${item.status}${closed ? "" : " ok"}`, id: "item-status-badge", text: item.status })),
    prop("Priority", priority),
    prop("Assignee", assignee),
    prop("Requester", requester),
    prop("Project", h("span", { class: "project", text: project ? project.name : `Project #${item.project_id}` })),
    prop("Kind", h("span", { class: "kind", text: kindLabel(item.kind) })),
    prop("Channel", h("span", { class: "channel-line" }, channelBadge(item.channel), h("span", { class: "muted", text: `opened ${when(item.created_at)}` }))),
    prop("Followers", h("dd", { class: "follow-line" }, h("span", { class: "followers", text: followers }),
      h("button", { type: "button", class: "link", id: "toggle-follow", onclick: () => ctx.follow().catch(fail), text: following ? "Unfollow" : "Follow" })), true));
  const description = h("details", { class: "description-box", open: descriptionOpen && !!item.description },
    h("summary", {}, h("span", { class: "label", text: "Description" }),
      h("span", { class: "peek", text: item.description ? item.description.split("\n")[0] : "None" })),
    item.description ? h("div", { class: "description", "aria-label": "Description", text: item.description }) : h("p", { class: "description muted", text: "No description." }));
  description.addEventListener("toggle", () => { descriptionOpen = description.open; });
  return h("div", { id: "item-top", class: closed ? "closed" : "" }, header, h("section", { id: "item-head", "aria-label": "Item" }, fields, description, error));
}

/** The one close action: an item and its conversations close together (so its customer thread
 * leaves Open conversations), and reopen together. */
async function closeOrReopen(ctx, button) {
  const closing = ctx.item.status !== "closed";
  button.disabled = true;
  try {
    await ctx.setStatus();
    // The header is drawn again by now: a failure from here on is said in a toast.
    try {
      const threads = await api(`/api/v1/items/${ctx.item.id}/conversations`);
      await Promise.all(threads.filter((c) => c.status === (closing ? "open" : "closed"))
        .map((c) => api(`/api/v1/conversations/${c.id}/${closing ? "close" : "reopen"}`, { method: "POST", json: {} })));
    } catch (e) {
      toast(`The item is ${closing ? "closed" : "open again"}, but its conversations could not follow: ${sentence(e.message)}`, { bad: true });
    }
  } finally {
    button.disabled = false;
  }
}

// ---- the New item dialog --------------------------------------------------------------------

/** Wires #item-dialog once; `created(item)` runs after the server made the item. */
export function setupNewItem({ me, created }) {
  const dialog = $("#item-dialog");
  const form = $("#item-form");
  const f = form.elements;
  const results = $("#item-form .requester-results");
  const chosen = $("#item-form .requester-chosen");
  const error = $("#item-form .error");

  function choose(c) {
    f.requester_id.value = c ? String(c.id) : "";
    f.requester_q.value = "";
    results.replaceChildren();
    f.requester_q.hidden = !!c;
    chosen.hidden = !c;
    if (c) {
      const email = c.email || c.contact_email;
      chosen.querySelector("span").textContent = c.name && email ? `${c.name} <${email}>` : customerName(c);
    } else f.requester_q.focus();
  }
  chosen.querySelector("button").addEventListener("click", () => choose(null));

  let searchTimer;
  let asked = 0;
  f.requester_q.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = f.requester_q.value.trim();
      const ticket = ++asked;
      if (!q) { results.replaceChildren(); return; }
      const page = await api(`/api/v1/customers?q=${encodeURIComponent(q)}&limit=8`).catch(() => ({ entries: [] }));
      if (ticket !== asked) return;
      const rows = page.entries.map((c) => h("li", {}, h("button", { type: "button", class: "requester-option", "data-customer": c.id, onclick: () => choose(c) },
        h("span", { text: c.name || c.email || c.contact_email || `Visitor #${c.id}` }), c.name && (c.email || c.contact_email) ? h("span", { class: "meta", text: ` ${c.email || c.contact_email}` }) : "")));
      const email = /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(q) ? q : null;
      if (email && !page.entries.some((c) => c.email?.toLowerCase() === email.toLowerCase())) {
        rows.push(h("li", {}, h("button", { type: "button", class: "requester-new link", text: `Add ${email} as a new customer`, onclick: async () => {
          try { choose(await api("/api/v1/customers", { method: "POST", json: { email } })); } catch (e) { error.textContent = e.message; }
        } })));
      }
      if (!rows.length) rows.push(h("li", { class: "meta", text: "No customer found. Type a full email to add one." }));
      results.replaceChildren(...rows);
    }, 200);
  });
  // Enter in the search box picks the first match instead of submitting the form.
  f.requester_q.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    results.querySelector("button")?.click();
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const json = {
      project_id: Number(f.project_id.value), kind: f.kind.value, title: f.title.value.trim(), description: f.description.value,
      priority: f.priority.value,
      requester_id: f.requester_id.value ? Number(f.requester_id.value) : undefined,
      assignee_id: f.assignee_id.value ? Number(f.assignee_id.value) : undefined,
    };
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const item = await api("/api/v1/items", { method: "POST", json });
      dialog.close();
      created(item);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  form.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());

  return async function open() {
    form.reset();
    choose(null);
    error.textContent = "";
    const [list, users] = await Promise.all([projects(true), team(true)]);
    f.project_id.replaceChildren(...list.map((p) => h("option", { value: p.id, text: p.name })));
    f.assignee_id.replaceChildren(h("option", { value: "", text: "Unassigned" }),
      ...users.filter((u) => u.active).map((u) => h("option", { value: u.id, text: u.id === me().id ? `${u.name} (you)` : u.name })));
    f.priority.value = "normal";
    if (!list.length) error.textContent = "You are not a member of any project: ask an admin to add you to one (Admin → Projects).";
    dialog.showModal();
    f.title.focus();
  };
}
