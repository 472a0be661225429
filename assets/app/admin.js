// The admin area: agents, projects and their members, the widget (with the snippet), email and
// the automations (rules.js), web forms and the portal (forms.js), and the server's health.

import { api } from "./api.js";
import { h, $, sentence } from "./dom.js";
import { automations } from "./rules.js";
import { forms } from "./forms.js";

const dialog = () => $("#admin");

export async function openAdmin(tab = "agents") {
  const body = $("#admin-body");
  const tabs = h("div", { class: "switch", role: "tablist" },
    ...[["agents", "Agents"], ["projects", "Projects"], ["widget", "Widget"], ["email", "Email"], ["automations", "Automations"], ["forms", "Forms"], ["health", "Health"]].map(([id, label]) =>
      h("button", { type: "button", role: "tab", "aria-pressed": String(id === tab), onclick: () => openAdmin(id), text: label })));
  const content = h("div", {});
  body.replaceChildren(tabs, content);
  if (!dialog().open) dialog().showModal();
  await { agents, projects, widget, email, automations, forms, health }[tab](content);
}

function errorLine() { return h("p", { class: "error", role: "alert" }); }
const toAutomations = (text) => h("p", { class: "meta" }, text,
  h("button", { type: "button", class: "link", onclick: () => openAdmin("automations"), text: "Automations" }));

async function agents(box) {
  const users = await api("/api/v1/users");
  const error = errorLine();
  const rows = users.map((u) => h("tr", {},
    h("td", { text: u.name }), h("td", { text: u.email }),
    h("td", {}, h("select", { "aria-label": `Role of ${u.name}`, onchange: (e) => change(u, { role: e.target.value }, e.target) },
      ...["agent", "admin"].map((r) => h("option", { value: r, selected: u.role === r, text: r })))),
    h("td", {}, h("button", { class: "link", onclick: () => change(u, { active: !u.active }), text: u.active ? "Deactivate" : "Reactivate" }))));
  /** A refused change leaves the row as stored: the selector goes back to the stored role. */
  async function change(u, patch, select) {
    error.textContent = "";
    try { await api(`/api/v1/users/${u.id}`, { method: "PATCH", json: patch }); openAdmin("agents"); } catch (e) {
      if (select) select.value = u.role;
      error.textContent = sentence(e.message);
    }
  }
  const form = h("form", {},
    h("h3", { text: "Invite an agent" }),
    h("input", { name: "name", placeholder: "Name", required: true }),
    h("input", { name: "email", type: "email", placeholder: "Email", required: true }),
    h("input", { name: "password", type: "password", placeholder: "First password (8+ characters)", minlength: 8, required: true }),
    h("select", { name: "role" }, h("option", { value: "agent", text: "agent" }), h("option", { value: "admin", text: "admin" })),
    h("button", { class: "primary", text: "Add agent" }), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      await api("/api/v1/users", { method: "POST", json: { name: f.get("name"), email: f.get("email"), password: f.get("password"), role: f.get("role") } });
      openAdmin("agents");
    } catch (err) { error.textContent = err.message; }
  });
  box.replaceChildren(h("table", {}, h("tbody", {}, rows)), form);
}

async function projects(box) {
  const [list, users] = await Promise.all([api("/api/v1/projects"), api("/api/v1/users")]);
  const error = errorLine();
  const sections = await Promise.all(list.map(async (p) => {
    const members = new Set(await api(`/api/v1/projects/${p.id}/members`));
    return h("tr", {}, h("td", { text: p.name }), h("td", {}, ...users.map((u) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", checked: members.has(u.id), onchange: async (e) => {
        try { await api(`/api/v1/projects/${p.id}/members/${u.id}`, { method: e.target.checked ? "PUT" : "DELETE" }); } catch (err) { error.textContent = err.message; }
      } }), u.name))));
  }));
  const form = h("form", {}, h("h3", { text: "New project" }), h("input", { name: "name", placeholder: "Name", required: true }),
    h("button", { class: "primary", text: "Create project" }), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await api("/api/v1/projects", { method: "POST", json: { name: new FormData(form).get("name") } }); openAdmin("projects"); } catch (err) { error.textContent = err.message; }
  });
  box.replaceChildren(h("table", {}, h("tbody", {}, sections)), form);
}

async function widget(box) {
  const s = await api("/api/v1/settings/widget");
  const error = errorLine();
  const field = (name, label, attrs = {}) => h("label", {}, label, h("input", { name, value: s[name], ...attrs }));
  const form = h("form", {},
    field("team_name", "Team name"), field("color", "Colour", { type: "color" }), field("greeting", "Greeting"),
    field("away_message", "Away note (shown in the widget when no agent is online)"),
    h("label", {}, "Position", h("select", { name: "position" }, ...["right", "left"].map((p) => h("option", { value: p, selected: s.position === p, text: p })))),
    h("label", {}, "Sites that may embed the widget (one origin per line; empty: any)",
      h("textarea", { name: "allowed_origins", rows: 3, text: s.allowed_origins.join("\n") })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "require_verification", checked: s.require_verification }), "Require signed identities"),
    h("button", { class: "primary", text: "Save" }), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const value = {
      team_name: f.team_name.value, color: f.color.value, greeting: f.greeting.value, away_message: f.away_message.value,
      position: f.position.value, require_verification: f.require_verification.checked, identity_secret: "",
      allowed_origins: f.allowed_origins.value.split("\n").map((o) => o.trim()).filter(Boolean),
    };
    try { await api("/api/v1/settings/widget", { method: "PUT", json: value }); openAdmin("widget"); } catch (err) { error.textContent = err.message; }
  });
  const snippet = `<script src="${location.origin}/widget.js" async></script>`;
  box.replaceChildren(
    h("h3", { text: "Add the widget to your site" }), h("pre", { text: snippet }),
    h("button", { class: "link", type: "button", onclick: () => navigator.clipboard.writeText(snippet), text: "Copy the snippet" }),
    h("h3", { text: "Identity secret (sign identities on your server)" }), h("pre", { text: s.identity_secret }),
    h("button", { class: "link", type: "button", onclick: async () => { await api("/api/v1/settings/widget/rotate-secret", { method: "POST" }); openAdmin("widget"); }, text: "Make a new secret" }),
    form, toAutomations("The auto-reply and away message are rules: see "));
}

async function email(box) {
  const [settings, projectList, failed, held] = await Promise.all([
    api("/api/v1/settings/email"), api("/api/v1/projects"),
    api("/api/v1/email/outbox?status=failed"), api("/api/v1/email/inbound?outcome=held")]);
  const { smtp, imap, inbound_smtp, flow, counts } = settings;
  const result = h("p", { role: "status" });
  const form = h("form", {}, h("h3", { text: "Send a test email" }),
    h("input", { name: "to", type: "email", placeholder: "you@example.com", required: true }),
    h("button", { class: "primary", text: "Send test email", disabled: !smtp }), result);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    result.textContent = "Sending…";
    try {
      await api("/api/v1/settings/email/test", { method: "POST", json: { to: form.elements.to.value } });
      result.textContent = "Sent. Check the inbox.";
    } catch (err) { result.textContent = err.message; }
  });
  const table = (rows) => h("table", {}, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v })))));
  const rows = smtp ? [["Server", `${smtp.host}:${smtp.port}`], ["Encryption", smtp.tls], ["User", smtp.username || "none"], ["From", smtp.from]] : [];
  const inbound = [["Support address", settings.support_address],
    ["IMAP mailbox", imap ? `${imap.username} @ ${imap.host}:${imap.port}/${imap.mailbox}${imap.tls ? " (TLS)" : ""}` : "not configured"],
    ["SMTP listener", inbound_smtp || "off"],
    ["Unseen for", `${settings.notify_delay_secs} s before emailing`],
    ["Outbox", `${counts.scheduled} waiting for their minute · ${counts.pending} to send · ${counts.sent} sent · ${counts.failed} failed`]];

  const saved = h("p", { role: "status" });
  const flowForm = h("form", {}, h("h3", { text: "Notification flow" }),
    toAutomations("Who is emailed, and when, is set by rules in "),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "inbound", checked: flow.inbound }), "Turn new email to the support address into tickets"),
    h("label", {}, "Project for email tickets ",
      h("select", { name: "project" }, h("option", { value: "", text: "The oldest project" }),
        projectList.map((p) => h("option", { value: p.id, text: p.name, selected: p.id === flow.inbound_project_id })))),
    h("button", { class: "primary", text: "Save" }), saved);
  flowForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = flowForm.elements;
    try {
      await api("/api/v1/settings/email/flow", { method: "PUT", json: {
        inbound: f.inbound.checked, inbound_project_id: f.project.value ? Number(f.project.value) : null } });
      saved.textContent = "Saved.";
    } catch (err) { saved.textContent = err.message; }
  });

  const action = (label, path) => h("button", { type: "button", text: label, onclick: async () => {
    await api(path, { method: "POST" }).catch((err) => alert(err.message));
    email(box);
  } });
  const failedList = h("section", {}, h("h3", { text: "Emails the server refused" }),
    failed.length ? h("table", {}, h("tbody", {}, failed.map((m) => h("tr", {},
      h("td", { text: m.to }), h("td", { text: m.subject }), h("td", { text: m.last_error || "" }),
      h("td", {}, action("Retry", `/api/v1/email/outbox/${m.id}/retry`))))))
      : h("p", { text: "None." }));
  const heldList = h("section", {}, h("h3", { text: "Mail held for review" }),
    held.length ? h("table", {}, h("tbody", {}, held.map((m) => h("tr", {},
      h("td", { text: m.from }), h("td", { text: m.subject }), h("td", { text: m.reason.replaceAll("_", " ") }),
      h("td", {}, action("Post it", `/api/v1/email/inbound/${m.id}/release`), " ",
        action("Discard", `/api/v1/email/inbound/${m.id}/discard`))))))
      : h("p", { text: "None." }));
  const rotate = h("p", {}, h("button", { type: "button", text: "Rotate reply addresses", onclick: async () => {
    if (!confirm("Every reply address sent so far stops working. Continue?")) return;
    await api("/api/v1/settings/email/rotate-reply-secret", { method: "POST" });
    alert("Done: replies to earlier emails now open new tickets or are held.");
  } }));

  box.replaceChildren(
    h("h3", { text: "Outgoing email (SMTP)" }),
    smtp ? table(rows)
      : h("p", { text: "Not configured. Set smtp_url and smtp_from in the config file, or RAPPORT_SMTP_URL and RAPPORT_SMTP_FROM, and restart." }),
    h("h3", { text: "Incoming email" }), table(inbound),
    flowForm, failedList, heldList, rotate, form);
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

/** Is Rapport well: the server checks email now, which takes up to 10 s when a server does not answer. */
async function health(box) {
  const checked = h("span", { class: "meta", role: "status" });
  const refresh = h("button", { type: "button", class: "tool", id: "health-refresh", text: "Refresh", onclick: () => load() });
  const report = h("div", { id: "health" });
  box.replaceChildren(h("div", { class: "row" }, h("h3", { text: "Health" }), refresh, checked), report);
  async function load() {
    refresh.disabled = true;
    report.setAttribute("aria-busy", "true");
    checked.textContent = "Checking… (up to 10 s when a mail server does not answer)";
    try {
      report.replaceChildren(...healthReport(await api("/api/v1/admin/health")));
      checked.textContent = `Checked at ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      checked.textContent = "";
      report.replaceChildren(h("p", { class: "error", role: "alert", text: e.message }));
    } finally {
      refresh.disabled = false;
      report.removeAttribute("aria-busy");
    }
  }
  await load();
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
