// The Admin page: a header, the section nav (each section has its own address, #admin/NAME) and
// one column with the section: agents, projects and their members, the widget and email
// (admin_channels.js), automations (rules.js), web forms and the portal (forms.js), health.

import { api } from "./api.js";
import { h } from "../shared/dom.js";
import { avatar, sentence } from "./dom.js";
import { icon } from "../shared/icons.js";
import { automations } from "./rules.js";
import { forms } from "./forms.js";
import { widget, email } from "./admin_channels.js";
import { adminStyles, card, sectionHead, savedMark, flash, unflash, errorLine, fail, actions } from "./admin_ui.js";

const SECTIONS = [
  ["agents", "Agents", "team", "Who works in Rapport, and who may change its settings."],
  ["projects", "Projects", "inbox", "Projects hold conversations and tickets; members see them."],
  ["widget", "Widget", "chat", "The chat on your site: how it looks and where it may run."],
  ["email", "Email", "mail", "Email out to customers and agents, and email in as tickets."],
  ["automations", "Automations", "clock", "Business hours and the rules that reply, notify and close for you."],
  ["forms", "Forms", "file", "Web forms on your site and the customers' portal."],
  ["health", "Health", "admin", "Whether Rapport is well: email, disk and queues."],
];
const DRAW = { agents, projects, widget, email, automations, forms, health };

/** Draws the Admin page into `root` with `section` open; section links go through `navigate`. */
export async function showAdmin(root, section = "agents", navigate = (hash) => { location.hash = hash; }) {
  await adminStyles();
  if (!DRAW[section]) section = "agents";
  let page = root.querySelector(":scope > #admin");
  if (!page) {
    // Inside the app's page frame its bar already says "Admin"; elsewhere the page says it.
    const framed = !!document.getElementById("page-title");
    page = h("div", { id: "admin", class: framed ? "admin-page framed" : "admin-page" },
      framed ? null : h("header", { class: "page-head" }, h("h1", { text: "Admin" }), h("p", { class: "hint", text: "Your team, your channels and how Rapport runs." })),
      h("nav", { class: "admin-nav", "aria-label": "Admin sections" }, SECTIONS.map(([id, label, glyph]) =>
        h("a", { href: `#admin/${id}`, "data-section": id, onclick: (e) => {
          e.preventDefault();
          // The open section's own link draws it anew (what the server holds now).
          if (page.querySelector(`[data-section="${id}"][aria-current]`)) showAdmin(root, id, navigate); else navigate(`#admin/${id}`);
        } }, icon(glyph), label))),
      h("div", { id: "admin-body" }));
    root.replaceChildren(page);
  }
  for (const a of page.querySelectorAll(".admin-nav a")) {
    if (a.dataset.section === section) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const body = page.querySelector("#admin-body");
  const [, title, , hint] = SECTIONS.find(([id]) => id === section);
  const content = h("div", { class: "section-content" });
  body.setAttribute("aria-busy", "true");
  const again = () => showAdmin(root, section, navigate);
  try {
    await DRAW[section](content, { again, navigate });
    body.replaceChildren(sectionHead(title, hint), content);
  } catch (e) {
    body.replaceChildren(sectionHead(title, hint), h("p", { class: "error", role: "alert", text: `This section could not be shown: ${sentence(e.message)} Reload to try again.` }));
  } finally {
    body.removeAttribute("aria-busy");
  }
}

const roleBadge = (u) => u.role === "admin" ? h("span", { class: "badge role-admin", text: "Admin" }) : h("span", { class: "badge", text: "Agent" });

async function agents(box) {
  const users = await api("/api/v1/users");
  const error = errorLine();
  const list = h("ul", { class: "people" });
  const row = (u, mark = savedMark()) => {
    const role = h("select", { "aria-label": `Role of ${u.name}`, onchange: (e) => change(u, { role: e.target.value }, e.target, mark) },
      ["agent", "admin"].map((r) => h("option", { value: r, selected: u.role === r, text: r === "admin" ? "Admin" : "Agent" })));
    return h("li", { class: u.active ? "" : "inactive", "data-user": u.id },
      avatar(u.name, u.photo_url ?? null),
      h("div", { class: "person" }, h("strong", { text: u.name }), h("span", { text: u.email })),
      roleBadge(u), u.active ? null : h("span", { class: "badge", text: "Deactivated" }),
      h("div", { class: "controls" }, role,
        h("button", { type: "button", class: u.active ? "link danger" : "link", onclick: () => change(u, { active: !u.active }, null, mark),
          text: u.active ? "Deactivate" : "Reactivate" }), mark));
  };
  /** A refused change leaves the row as stored: the selector goes back to the stored role. */
  async function change(u, patch, select, mark) {
    error.textContent = "";
    unflash(mark);
    try {
      const stored = await api(`/api/v1/users/${u.id}`, { method: "PATCH", json: patch });
      Object.assign(u, stored && typeof stored === "object" ? stored : patch);
      const fresh = row(u, mark);
      list.querySelector(`[data-user="${u.id}"]`)?.replaceWith(fresh);
      flash(mark);
    } catch (e) {
      if (select) select.value = u.role;
      fail(error, e);
    }
  }
  list.append(...users.map((u) => row(u)));

  const invited = savedMark();
  const inviteError = errorLine();
  const form = h("form", {},
    h("div", { class: "field-grid" },
      h("label", {}, "Name", h("input", { name: "name", required: true, autocomplete: "off" })),
      h("label", {}, "Email", h("input", { name: "email", type: "email", required: true, autocomplete: "off" }))),
    h("div", { class: "field-grid" },
      h("label", {}, "First password", h("input", { name: "password", type: "password", minlength: 8, required: true, autocomplete: "new-password" }),
        h("span", { class: "hint", text: "8 characters or more. Pass it on to them in person or by phone." })),
      h("label", {}, "Role", h("select", { name: "role" }, h("option", { value: "agent", text: "Agent" }), h("option", { value: "admin", text: "Admin (may change these settings)" })))),
    inviteError, actions(h("button", { class: "primary", text: "Add agent" }), invited));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    inviteError.textContent = "";
    const f = new FormData(form);
    try {
      const made = await api("/api/v1/users", { method: "POST", json: { name: f.get("name"), email: f.get("email"), password: f.get("password"), role: f.get("role") } });
      list.append(row(made ?? { name: f.get("name"), email: f.get("email"), role: f.get("role"), active: true }));
      form.reset();
      flash(invited, "Added");
    } catch (err) { fail(inviteError, err); }
  });
  box.replaceChildren(card("Team", `${users.filter((u) => u.active).length} active`, list, error), card("Invite an agent", null, form));
}

async function projects(box, { again }) {
  const [list, users] = await Promise.all([api("/api/v1/projects"), api("/api/v1/users")]);
  const error = errorLine();
  const blocks = await Promise.all(list.map(async (p) => {
    const members = new Set(await api(`/api/v1/projects/${p.id}/members`));
    const mark = savedMark();
    const count = h("span", { class: "badge" });
    const recount = () => { count.textContent = `${members.size} ${members.size === 1 ? "member" : "members"}`; };
    recount();
    return h("div", { class: "project", "data-project": p.id },
      h("div", { class: "project-head" }, h("strong", { text: p.name }), count, mark),
      h("div", { class: "members", role: "group", "aria-label": `Members of ${p.name}` }, users.filter((u) => u.active || members.has(u.id)).map((u) =>
        h("label", { class: "check" }, h("input", { type: "checkbox", checked: members.has(u.id), onchange: async (e) => {
          error.textContent = "";
          unflash(mark);
          try {
            await api(`/api/v1/projects/${p.id}/members/${u.id}`, { method: e.target.checked ? "PUT" : "DELETE" });
            if (e.target.checked) members.add(u.id); else members.delete(u.id);
            recount();
            flash(mark);
          } catch (err) { e.target.checked = !e.target.checked; fail(error, err); }
        } }), avatar(u.name, u.photo_url ?? null, "sm"), u.name))));
  }));
  const createError = errorLine();
  const form = h("form", {},
    h("label", {}, "Name", h("input", { name: "name", required: true, autocomplete: "off", placeholder: "Billing, Shop, Partners…" })),
    createError, actions(h("button", { class: "primary", text: "Create project" })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    createError.textContent = "";
    try { await api("/api/v1/projects", { method: "POST", json: { name: new FormData(form).get("name") } }); again(); } catch (err) { fail(createError, err); }
  });
  box.replaceChildren(
    card("Projects and members", "Tick who works in each project. Admins who turn on “See conversations across projects” see them all.",
      blocks.length ? blocks : h("p", { class: "hint", text: "No project yet: create the first one below." }), error),
    card("New project", null, form));
}

/** 1536 -> "1.5 KiB". */
function size(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (; bytes >= 1024 && i < units.length - 1; i++) bytes /= 1024;
  return `${i ? bytes.toFixed(bytes < 10 ? 1 : 0) : bytes} ${units[i]}`;
}

function duration(s) {
  const [d, hours, min] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  return d ? `${d} d ${hours} h` : hours ? `${hours} h ${min} min` : min ? `${min} min` : `${s} s`;
}

const STEP_SECTION = { project: "projects", email: "email", widget: "widget", teammate: "agents", test_message: "widget" };

/** The first-run checklist while some of it is still to do (GET /admin/setup), else nothing. */
async function gettingStarted(navigate) {
  const steps = (await api("/api/v1/admin/setup").catch(() => null))?.checklist ?? [];
  if (steps.every((s) => s.done)) return null;
  const go = (section) => h("a", { class: "link", href: `#admin/${section}`, onclick: (e) => { e.preventDefault(); navigate(`#admin/${section}`); }, text: "Open" });
  return card("Getting started", `${steps.filter((s) => s.done).length} of ${steps.length} done.`,
    h("ul", { class: "setup-steps" }, steps.map((s) => h("li", { class: s.done ? "done" : "", "data-step": s.key },
      h("span", { class: "tick", "aria-hidden": "true" }, s.done ? icon("check") : null),
      h("div", {}, h("strong", { text: s.title }), h("span", { class: "sr-only", text: s.done ? " (done)" : " (to do)" }),
        s.done ? null : h("p", { class: "hint", text: s.hint })),
      STEP_SECTION[s.key] ? go(STEP_SECTION[s.key]) : null))));
}

/** Is Rapport well: the server checks email now, which takes up to 10 s when a server does not answer. */
async function health(box, { navigate }) {
  const checked = h("span", { class: "hint", role: "status" });
  const refresh = h("button", { type: "button", class: "tool", id: "health-refresh", onclick: () => load() }, "Refresh");
  const report = h("div", { id: "health" });
  const head = h("div", { class: "admin-card-head" }, h("h3", { text: "Status" }), checked, refresh);
  box.replaceChildren(h("section", { class: "card admin-card" }, head, report));
  gettingStarted(navigate).then((steps) => { if (steps) box.prepend(steps); });
  async function load() {
    refresh.disabled = true;
    report.setAttribute("aria-busy", "true");
    checked.textContent = "Checking… (up to 10 s when a mail server does not answer)";
    try {
      report.replaceChildren(...healthReport(await api("/api/v1/admin/health")));
      checked.textContent = `Checked at ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      checked.textContent = "";
      report.replaceChildren(h("p", { class: "error", role: "alert", text: sentence(e.message) }));
    } finally {
      refresh.disabled = false;
      report.removeAttribute("aria-busy");
    }
  }
  // The section shows at once; the report fills in when the server has checked.
  load();
}

function healthReport(r) {
  const ok = r.status === "ok";
  const count = (pairs, key) => pairs.find(([k]) => k === key)?.[1] ?? 0;
  const reach = (x) => !x.configured ? ["not configured", ""] : x.reachable ? ["reachable", "good"] : [`not reachable: ${x.error || "no answer"}`, "bad"];
  const row = (key, label, value, cls = "", ...more) => h("tr", { "data-row": key }, h("th", { text: label }), h("td", { class: cls, text: value }, ...more));
  let disk = row("disk", "Disk", "cannot be read");
  if (r.disk) {
    const used = r.disk.total_bytes ? 1 - r.disk.free_bytes / r.disk.total_bytes : 0;
    const fill = h("span");
    fill.style.width = `${Math.round(used * 100)}%`;
    disk = row("disk", "Disk", `${size(r.disk.free_bytes)} free of ${size(r.disk.total_bytes)}`, "",
      h("span", { class: `bar${used > 0.9 ? " low" : ""}`, role: "img", "aria-label": `${Math.round(used * 100)}% used` }, fill));
  }
  const [outbox, inbound, q] = [r.queues.outbox, r.queues.inbound, r.queues];
  return [
    h("section", { id: "health-status", class: ok ? "ok" : "attention" },
      h("strong", { text: ok ? "All is well" : "Needs attention" }),
      ok ? null : h("ul", {}, r.problems.map((p) => h("li", { text: p.charAt(0).toUpperCase() + p.slice(1) })))),
    r.setup?.length ? h("section", { id: "health-setup", class: "attention" },
      h("strong", { text: "Not set up yet" }),
      h("ul", {}, r.setup.map((p) => h("li", { text: p })))) : null,
    h("table", {}, h("tbody", {},
      row("version", "Version", `${r.version} · commit ${r.commit} · schema ${r.schema_version}`),
      row("uptime", "Up for", duration(r.uptime_seconds)),
      row("database", "Database", `${size(r.database.bytes)} · WAL ${size(r.database.wal_bytes)}`, "", h("span", { class: "meta", text: ` ${r.database.path}` })),
      disk,
      row("smtp", "SMTP (sending)", ...reach(r.smtp)),
      row("imap", "IMAP (receiving)", ...reach(r.imap)),
      row("notifications", "Waiting to email", `${q.pending_notifications} unseen-message notifications · ${q.notices} rule notices`),
      row("outbox", "Outbox", `${count(outbox, "pending")} to send · ${count(outbox, "sent")} sent · ${count(outbox, "failed")} failed`,
        count(outbox, "failed") ? "bad" : ""),
      row("inbound", "Inbound mail", `${count(inbound, "held")} held for review · ${count(inbound, "posted")} posted · ${count(inbound, "ticket")} tickets · ${count(inbound, "dropped")} dropped`,
        count(inbound, "held") ? "bad" : ""),
      row("sockets", "Open sockets", `${r.sockets.agents} from agents · ${r.sockets.customers} from customers`))),
    h("p", { class: "meta", text: "Prometheus: scrape /metrics with an admin's API token." }),
  ];
}
