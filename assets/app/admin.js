// The admin area: agents, projects and their members, and the widget (with the snippet).

import { api } from "./api.js";
import { h, $ } from "./dom.js";

const dialog = () => $("#admin");

export async function openAdmin(tab = "agents") {
  const body = $("#admin-body");
  const tabs = h("div", { class: "switch", role: "tablist" },
    ...[["agents", "Agents"], ["projects", "Projects"], ["widget", "Widget"], ["email", "Email"]].map(([id, label]) =>
      h("button", { type: "button", role: "tab", "aria-pressed": String(id === tab), onclick: () => openAdmin(id), text: label })));
  const content = h("div", {});
  body.replaceChildren(tabs, content);
  if (!dialog().open) dialog().showModal();
  await { agents, projects, widget, email }[tab](content);
}

function errorLine() { return h("p", { class: "error", role: "alert" }); }

async function agents(box) {
  const users = await api("/api/v1/users");
  const error = errorLine();
  const rows = users.map((u) => h("tr", {},
    h("td", { text: u.name }), h("td", { text: u.email }),
    h("td", {}, h("select", { "aria-label": `Role of ${u.name}`, onchange: (e) => change(u, { role: e.target.value }) },
      ...["agent", "admin"].map((r) => h("option", { value: r, selected: u.role === r, text: r })))),
    h("td", {}, h("button", { class: "link", onclick: () => change(u, { active: !u.active }), text: u.active ? "Deactivate" : "Reactivate" }))));
  async function change(u, patch) {
    try { await api(`/api/v1/users/${u.id}`, { method: "PATCH", json: patch }); openAdmin("agents"); } catch (e) { error.textContent = e.message; }
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
    field("away_message", "Away message"),
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
  const auto = await api("/api/v1/settings/auto-reply");
  const autoForm = h("form", {}, h("h3", { text: "Auto-responder" }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "enabled", checked: auto.enabled }), "Reply automatically when a customer starts a conversation"),
    h("textarea", { name: "text", rows: 3, "aria-label": "Auto-reply text", text: auto.text }),
    h("button", { class: "primary", text: "Save auto-responder" }));
  autoForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("/api/v1/settings/auto-reply", { method: "PUT", json: { enabled: autoForm.elements.enabled.checked, text: autoForm.elements.text.value } });
      openAdmin("widget");
    } catch (err) { error.textContent = err.message; }
  });
  const snippet = `<script src="${location.origin}/widget.js" async></script>`;
  box.replaceChildren(
    h("h3", { text: "Add the widget to your site" }), h("pre", { text: snippet }),
    h("button", { class: "link", type: "button", onclick: () => navigator.clipboard.writeText(snippet), text: "Copy the snippet" }),
    h("h3", { text: "Identity secret (sign identities on your server)" }), h("pre", { text: s.identity_secret }),
    h("button", { class: "link", type: "button", onclick: async () => { await api("/api/v1/settings/widget/rotate-secret", { method: "POST" }); openAdmin("widget"); }, text: "Make a new secret" }),
    form, autoForm);
}

async function email(box) {
  const { smtp } = await api("/api/v1/settings/email");
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
  const rows = smtp ? [["Server", `${smtp.host}:${smtp.port}`], ["Encryption", smtp.tls], ["User", smtp.username || "none"], ["From", smtp.from]] : [];
  box.replaceChildren(
    h("h3", { text: "Outgoing email (SMTP)" }),
    smtp ? h("table", {}, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v })))))
      : h("p", { text: "Not configured. Set smtp_url and smtp_from in the config file, or RAPPORT_SMTP_URL and RAPPORT_SMTP_FROM, and restart." }),
    form);
}
