// The Admin page's channel sections: the widget (its look with a live preview of the launcher,
// the snippet, where it may run) and email (connected or not, the flow, what needs a look).

import { api } from "./api.js";
import { h } from "../shared/dom.js";
import { toast } from "./dom.js";
import { icon } from "../shared/icons.js";
import { card, savedMark, flash, unflash, errorLine, fail, actions, copy } from "./admin_ui.js";

const toAutomations = (text, navigate) => h("p", { class: "hint" }, text,
  h("a", { href: "#admin/automations", onclick: (e) => { e.preventDefault(); navigate("#admin/automations"); }, text: "Automations" }), ".");

/** What the server stores, with the fields of `form` changed. */
function widgetValue(s, f) {
  const value = { ...s, identity_secret: "" };
  if (f.team_name) Object.assign(value, { team_name: f.team_name.value, color: f.color.value, greeting: f.greeting.value, away_message: f.away_message.value, position: f.position.value });
  if (f.allowed_origins) {
    Object.assign(value, { require_verification: f.require_verification.checked,
      allowed_origins: f.allowed_origins.value.split("\n").map((o) => o.trim()).filter(Boolean) });
  }
  return value;
}

export async function widget(box, { again, navigate }) {
  const s = await api("/api/v1/settings/widget");
  const save = (form, mark, error) => async (e) => {
    e.preventDefault();
    error.textContent = "";
    unflash(mark);
    try {
      const stored = await api("/api/v1/settings/widget", { method: "PUT", json: widgetValue(s, form.elements) });
      if (stored && typeof stored === "object") Object.assign(s, stored);
      flash(mark);
    } catch (err) { fail(error, err); }
  };

  // The look, with the launcher drawn as the site will show it.
  const launcher = h("span", { class: "launcher", "aria-hidden": "true" }, icon("chat"));
  const bubble = h("span", { class: "preview-bubble" });
  const preview = h("div", { class: "widget-preview", role: "img", "aria-label": "Preview of the launcher on a page" });
  const lines = [[20, 60], [40, 45], [60, 52]].map(([top, width]) => { const l = h("span", { class: "fake-line" }); l.style.top = `${top}px`; l.style.width = `${width}%`; return l; });
  preview.replaceChildren(...lines, bubble, launcher);
  const looks = savedMark();
  const looksError = errorLine();
  const hex = h("input", { "aria-label": "Colour as hex", value: s.color, maxlength: 7, pattern: "#[0-9a-fA-F]{6}", spellcheck: "false" });
  const position = (p, label) => h("label", {}, h("input", { type: "radio", name: "position", value: p, checked: s.position === p }), h("span", { text: label }));
  const look = h("form", {},
    h("div", { class: "field-grid" },
      h("label", {}, "Team name", h("input", { name: "team_name", value: s.team_name, required: true })),
      h("label", {}, "Colour", h("div", { class: "color-field" }, h("input", { type: "color", name: "color", value: s.color, "aria-label": "Colour" }), hex))),
    h("label", {}, "Greeting", h("input", { name: "greeting", value: s.greeting }), h("span", { class: "hint", text: "The first thing a visitor reads when they open the chat." })),
    h("label", {}, "Away note", h("input", { name: "away_message", value: s.away_message }), h("span", { class: "hint", text: "Shown in the widget while no agent is online." })),
    h("div", { class: "field" }, h("span", { class: "label", text: "Position" }),
      h("div", { class: "pick", role: "radiogroup", "aria-label": "Position" }, position("left", "Bottom left"), position("right", "Bottom right"))),
    preview,
    looksError, actions(h("button", { class: "primary", text: "Save" }), looks));
  const draw = () => {
    const f = look.elements;
    launcher.style.background = f.color.value;
    preview.className = `widget-preview ${f.position.value || "right"}`;
    bubble.textContent = f.greeting.value || `Hi! Ask ${f.team_name.value || "us"} anything.`;
  };
  look.addEventListener("input", (e) => {
    unflash(looks);
    if (e.target === hex && /^#[0-9a-fA-F]{6}$/.test(hex.value)) look.elements.color.value = hex.value.toLowerCase();
    if (e.target.name === "color") hex.value = e.target.value;
    draw();
  });
  look.addEventListener("submit", save(look, looks, looksError));
  draw();

  // The snippet.
  const snippet = `<script src="${location.origin}/widget.js" async></script>`;
  const code = h("pre", { class: "code", id: "widget-snippet", text: snippet });
  const copied = savedMark();
  const select = () => getSelection().selectAllChildren(code);

  // Where it runs, and signed identities.
  const safe = savedMark();
  const safeError = errorLine();
  const security = h("form", {},
    h("label", {}, "Sites that may show the widget",
      h("textarea", { name: "allowed_origins", rows: 3, placeholder: "https://www.example.com", text: s.allowed_origins.join("\n") }),
      h("span", { class: "hint", text: "One address per line, like https://www.example.com. Empty: any site." })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "require_verification", checked: s.require_verification }),
      "Require signed identities (your server signs who the visitor is)"),
    safeError, actions(h("button", { class: "primary", text: "Save" }), safe));
  security.addEventListener("input", () => unflash(safe));
  security.addEventListener("submit", save(security, safe, safeError));
  const secretError = errorLine();
  const rotate = h("button", { class: "ghost danger", type: "button", text: "Make a new secret", onclick: async () => {
    if (!confirm("Identities signed with the old secret stop being accepted. Continue?")) return;
    secretError.textContent = "";
    try { await api("/api/v1/settings/widget/rotate-secret", { method: "POST" }); again(); } catch (err) { fail(secretError, err); }
  } });

  box.replaceChildren(
    card("Look", null, look),
    card("Add the widget to your site", "Paste this before </body> on every page where the chat should appear.", code,
      actions(h("button", { type: "button", class: "tool", onclick: () => copy(snippet, copied, select) }, icon("file"), "Copy"), copied)),
    card("Where it runs", null, security),
    card("Identity secret", "Your server signs identities with it, so a visitor cannot pose as one of your users.",
      h("pre", { class: "code", text: s.identity_secret }), secretError, actions(rotate)),
    toAutomations("The greeting bot and the away message are rules: see ", navigate));
}

const status = (on, yes = "Connected", no = "Not set up") => h("span", { class: on ? "badge ok" : "badge warn", text: on ? yes : no });
const facts = (rows) => h("dl", { class: "facts" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
const head = (title, badge) => h("div", { class: "admin-card-head" }, h("h3", { text: title }), badge);

export async function email(box, { again, navigate }) {
  const [settings, projectList, failed, held] = await Promise.all([
    api("/api/v1/settings/email"), api("/api/v1/projects"),
    api("/api/v1/email/outbox?status=failed"), api("/api/v1/email/inbound?outcome=held")]);
  const { smtp, imap, inbound_smtp, flow, counts } = settings;

  // Sending, with a test email.
  const result = h("span", { role: "status", class: "hint" });
  const testError = errorLine();
  const test = h("form", {},
    h("label", {}, "Send a test email to", h("input", { name: "to", type: "email", placeholder: "you@example.com", required: true })),
    testError, actions(h("button", { class: "primary", text: "Send test email" }), result));
  test.addEventListener("submit", async (e) => {
    e.preventDefault();
    testError.textContent = "";
    result.textContent = "Sending…";
    try {
      await api("/api/v1/settings/email/test", { method: "POST", json: { to: test.elements.to.value } });
      result.textContent = "";
      flash(result, "Sent. Check the inbox.");
    } catch (err) { result.textContent = ""; fail(testError, err); }
  });
  const sending = h("section", { class: "card admin-card", id: "email-smtp" }, head("Sending (SMTP)", status(!!smtp)),
    ...(smtp ? [facts([["Server", `${smtp.host}:${smtp.port}`], ["Encryption", smtp.tls], ["User", smtp.username || "none"], ["From", smtp.from]]), test]
      : [h("p", { text: "Rapport sends no email yet: no replies by email, no portal sign-in links, no emails about unseen messages." }),
        h("p", { class: "hint", text: "Set smtp_url and smtp_from in the config file (or RAPPORT_SMTP_URL and RAPPORT_SMTP_FROM), then restart Rapport." })]));

  // Receiving, and where new email goes.
  const receiving = !!(imap || inbound_smtp);
  const flowSaved = savedMark();
  const flowError = errorLine();
  const flowForm = h("form", {},
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "inbound", checked: flow.inbound }), "Turn new email to the support address into tickets"),
    h("label", {}, "Project for email tickets",
      h("select", { name: "project" }, h("option", { value: "", text: "The oldest project" }),
        projectList.map((p) => h("option", { value: p.id, text: p.name, selected: p.id === flow.inbound_project_id })))),
    toAutomations("Who is emailed, and when, is set by rules in ", navigate),
    flowError, actions(h("button", { class: "primary", text: "Save" }), flowSaved));
  flowForm.addEventListener("input", () => unflash(flowSaved));
  flowForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    flowError.textContent = "";
    const f = flowForm.elements;
    try {
      await api("/api/v1/settings/email/flow", { method: "PUT", json: {
        inbound: f.inbound.checked, inbound_project_id: f.project.value ? Number(f.project.value) : null } });
      flash(flowSaved);
    } catch (err) { fail(flowError, err); }
  });
  const incoming = h("section", { class: "card admin-card", id: "email-inbound" }, head("Receiving", status(receiving)),
    facts([["Support address", settings.support_address || "none"],
      ["IMAP mailbox", imap ? `${imap.username} @ ${imap.host}:${imap.port}/${imap.mailbox}${imap.tls ? " (TLS)" : ""}` : "not configured"],
      ["SMTP listener", inbound_smtp || "off"],
      ["Unseen for", `${settings.notify_delay_secs} s before emailing`],
      ["Outbox", `${counts.scheduled} waiting for their minute · ${counts.pending} to send · ${counts.sent} sent · ${counts.failed} failed`]]),
    receiving ? null : h("p", { class: "hint", text: "To receive email, set imap_url in the config file (or RAPPORT_IMAP_URL), or point your mail server at Rapport's SMTP listener, then restart." }),
    flowForm);

  // What needs a person: refused emails and held mail.
  const queueError = errorLine();
  const action = (label, path, cls = "tool") => h("button", { type: "button", class: cls, text: label, onclick: async () => {
    queueError.textContent = "";
    try { await api(path, { method: "POST" }); again(); } catch (err) { fail(queueError, err); }
  } });
  const queue = (rows) => h("div", { class: "scroll-x" }, h("table", { class: "queue" }, h("tbody", {}, rows)));
  const attention = card("Needs a look", null,
    h("h4", { text: "Emails the server refused" }),
    failed.length ? queue(failed.map((m) => h("tr", {},
      h("td", { text: m.to }), h("td", { text: m.subject }), h("td", { class: "meta", text: m.last_error || "" }),
      h("td", { class: "actions" }, action("Retry", `/api/v1/email/outbox/${m.id}/retry`)))))
      : h("p", { class: "hint", text: "None." }),
    h("h4", { text: "Mail held for review" }),
    held.length ? queue(held.map((m) => h("tr", {},
      h("td", { text: m.from }), h("td", { text: m.subject }), h("td", { class: "meta", text: m.reason.replaceAll("_", " ") }),
      h("td", { class: "actions" }, action("Post it", `/api/v1/email/inbound/${m.id}/release`), " ",
        action("Discard", `/api/v1/email/inbound/${m.id}/discard`, "tool danger")))))
      : h("p", { class: "hint", text: "None." }),
    queueError);

  const rotateError = errorLine();
  const rotate = card("Reply addresses", "Every email Rapport sends carries a reply address of its own. Make new ones if old emails leaked.",
    rotateError, actions(h("button", { type: "button", class: "ghost danger", text: "Rotate reply addresses", onclick: async () => {
      if (!confirm("Every reply address sent so far stops working. Continue?")) return;
      rotateError.textContent = "";
      try {
        await api("/api/v1/settings/email/rotate-reply-secret", { method: "POST" });
        toast("Done: replies to earlier emails now open new tickets or are held.");
      } catch (err) { fail(rotateError, err); }
    } })));

  box.replaceChildren(sending, incoming, attention, rotate);
}
