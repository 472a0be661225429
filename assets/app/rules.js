// The admin's Automations tab: business hours, the rules (the default notification flow is rules
// too), their editor with a dry run against recent events, and the log of what the rules did.
// Every list of choices comes from /rules/vocabulary.

import { api } from "./api.js";
import { h } from "../shared/dom.js";
import { card, savedMark, flash, unflash, fail, actions } from "./admin_ui.js";

const RULES = "/api/v1/rules";
const UNITS = [["days", 1440], ["hours", 60], ["minutes", 1]];
const stamp = (ms) => new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
const words = (s) => String(s).replaceAll("_", " ");
const errorLine = () => h("p", { class: "error", role: "alert" });
const ruleInput = ({ name, enabled, trigger, conditions, actions }) => ({ name, enabled, trigger, conditions, actions });

function unitOf(minutes) {
  return UNITS.find(([, size]) => minutes >= size && minutes % size === 0) || UNITS[2];
}

function duration(minutes) {
  const [unit, size] = unitOf(minutes);
  const n = minutes / size;
  return `${n} ${n === 1 ? unit.slice(0, -1) : unit}`;
}

const WHEN = {
  conversation_started: () => "When a conversation is started",
  message_posted: () => "When a message is posted",
  item_created: () => "When an item is created",
  status_changed: () => "When a conversation or item is closed or reopened",
  item_closed: () => "When an item is closed",
  no_reply: (t) => `When no reply for ${duration(t.after_minutes)}`,
  item_open: (t) => `When an item is open for ${duration(t.after_minutes)}`,
  schedule: (t) => `Every ${t.days.length === 7 ? "day" : t.days.join(", ")} at ${t.at}`,
};

/** One line a person reads: "When no reply for 30 minutes". */
function summary(trigger, vocab) {
  return WHEN[trigger.kind]?.(trigger) ?? vocab.triggers.find((t) => t.kind === trigger.kind)?.label ?? words(trigger.kind);
}

/** Rows drawn from an array the form edits in place, with a button that adds one. */
function rows(items, row, fresh, addLabel) {
  const box = h("div", { class: "rule-list" });
  const draw = () => box.replaceChildren(
    ...items.map((x, i) => row(x, { remove: () => { items.splice(i, 1); draw(); }, replace: (y) => { items[i] = y; draw(); }, redraw: draw })),
    h("button", { type: "button", class: "link", text: addLabel, onclick: () => { items.push(fresh()); draw(); } }));
  draw();
  return box;
}

export async function automations(box) {
  const [vocab, rules, runs, scheduler, hours, projects, users] = await Promise.all([
    api(`${RULES}/vocabulary`), api(RULES), api(`${RULES}/runs?limit=50`), api(`${RULES}/scheduler`),
    api("/api/v1/settings/business-hours"), api("/api/v1/projects"), api("/api/v1/users")]);
  const ctx = { vocab, projects, users, back: () => automations(box) };
  const error = errorLine();
  const list = rules.map((r) => {
    const mark = savedMark(); // "Saved" beside the row's Enabled box
    return h("tr", {},
    h("td", { text: r.name }), h("td", { class: "meta", text: summary(r.trigger, vocab) }),
    h("td", {}, h("label", { class: "check" }, h("input", { type: "checkbox", "aria-label": `Enabled: ${r.name}`, checked: r.enabled,
      onchange: async (e) => {
        error.textContent = "";
        unflash(mark);
        try { Object.assign(r, await api(`${RULES}/${r.id}`, { method: "PUT", json: { ...ruleInput(r), enabled: e.target.checked } })); flash(mark); }
        catch (err) { e.target.checked = r.enabled; fail(error, err); }
      } }), "Enabled"), mark),
    h("td", { class: "actions" },
      h("button", { type: "button", class: "link", "aria-label": `Edit: ${r.name}`, text: "Edit", onclick: () => editor(box, ctx, r) }),
      h("button", { type: "button", class: "link", "aria-label": `Delete: ${r.name}`, text: "Delete", onclick: async () => {
        if (!confirm(`Delete the rule "${r.name}"?`)) return;
        try { await api(`${RULES}/${r.id}`, { method: "DELETE" }); automations(box); } catch (err) { fail(error, err); }
      } })));
  });
  const subject = (r) => r.conversation_id ? ` · conversation #${r.conversation_id}` : r.item_id ? ` · item #${r.item_id}` : "";
  const log = runs.length
    ? h("table", { class: "runs" }, h("tbody", {}, runs.map((r) => h("tr", {},
      h("td", { text: stamp(r.at) }), h("td", { text: r.rule_name }), h("td", { text: words(r.event) + subject(r) }),
      h("td", { class: `outcome ${r.outcome}`, text: r.outcome }), h("td", { text: r.detail.join("; ") })))))
    : h("p", { class: "hint", text: "No runs yet." });
  box.replaceChildren(
    card("Rules", "Each rule waits for its trigger, checks its conditions, then acts. The default notification flow is rules too.",
      list.length ? h("table", { class: "rules" }, h("tbody", {}, list)) : h("p", { class: "hint", text: "No rules yet." }), error,
      actions(h("button", { type: "button", class: "primary", text: "New rule", onclick: () => editor(box, ctx, null) }))),
    businessHours(hours, vocab.days),
    card("What the rules did", `Time rules last checked: ${scheduler.checked_through ? stamp(scheduler.checked_through) : "not yet"}.`,
      h("div", { class: "scroll-x" }, log)));
}

const select = (label, choices, current, onchange) => h("select", { "aria-label": label, onchange: (e) => onchange(e.target.value) },
  choices.map(([value, text]) => h("option", { value, selected: String(value) === String(current), text })));

function businessHours(settings, days) {
  const hours = settings.hours.map(({ day, open, close }) => ({ day, open, close }));
  const error = errorLine();
  const saved = savedMark();
  const row = (x, { remove }) => h("div", { class: "rule-row" },
    select("Day", days.map((d) => [d, d]), x.day, (d) => { x.day = d; }),
    h("input", { type: "time", "aria-label": "Opens", value: x.open, required: true, oninput: (e) => { x.open = e.target.value; } }), "to",
    h("input", { type: "time", "aria-label": "Closes", value: x.close, required: true, oninput: (e) => { x.close = e.target.value; } }),
    h("button", { type: "button", class: "link", text: "Remove", onclick: remove }));
  const form = h("form", { class: "business-hours card admin-card" }, h("h3", { text: "Business hours" }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "enabled", checked: settings.enabled }),
      "Use business hours (when off, every hour counts as inside them)"),
    h("label", {}, "Time zone", h("input", { name: "timezone", value: settings.timezone, placeholder: "Europe/Berlin", required: true }),
      h("span", { class: "hint", text: "A name from the time zone database, like Europe/Berlin or America/New_York." })),
    rows(hours, row, () => ({ day: days[0], open: "09:00", close: "17:00" }), "Add hours"),
    error, actions(h("button", { class: "primary", text: "Save hours" }), saved));
  form.addEventListener("input", () => unflash(saved));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    unflash(saved);
    const value = { enabled: form.elements.enabled.checked, timezone: form.elements.timezone.value.trim(), hours };
    try { await api("/api/v1/settings/business-hours", { method: "PUT", json: value }); flash(saved); }
    catch (err) { fail(error, err); }
  });
  return form;
}

// ---- the editor ------------------------------------------------------------------------------

function newTrigger(kind, vocab, prev = {}) {
  if (kind === "schedule") return { kind, days: prev.days ?? vocab.days.slice(0, 5), at: prev.at ?? "09:00" };
  return vocab.triggers.find((t) => t.kind === kind)?.timed ? { kind, after_minutes: prev.after_minutes ?? 60 } : { kind };
}

function valueChoices(field, { projects, users }) {
  if (field.type === "project") return projects.map((p) => [String(p.id), p.name]);
  if (field.type === "user") return users.map((u) => [String(u.id), u.name]);
  if (field.type === "enum") return (field.values || []).map((v) => [v, words(v)]);
  return null;
}

function newCondition(field, ctx) {
  return { field: field.name, op: field.ops[0], value: valueChoices(field, ctx)?.[0]?.[0] ?? "" };
}

function newAction(kind, { vocab, users }) {
  const user = (users.find((u) => u.active) ?? users[0])?.id ?? null;
  return {
    bot_reply: { kind, text: "" }, internal_note: { kind, text: "" },
    notify: { kind, to: vocab.recipients[0]?.value, user_ids: [], app: true, email: false, text: null },
    set_status: { kind, of: "conversation", status: "closed" },
    assign: { kind, user_id: user }, add_follower: { kind, user_id: user },
  }[kind] ?? { kind };
}

function triggerFields(draft, vocab, redraw) {
  const t = draft.trigger;
  const kind = select("Trigger", vocab.triggers.map((x) => [x.kind, x.label]), t.kind, (k) => { draft.trigger = newTrigger(k, vocab, t); redraw(); });
  if (t.kind === "schedule") {
    return [kind, h("div", { class: "days" }, vocab.days.map((d) => h("label", { class: "check" },
      h("input", { type: "checkbox", checked: t.days.includes(d),
        onchange: (e) => { t.days = vocab.days.filter((x) => x === d ? e.target.checked : t.days.includes(x)); } }), d))),
    "at", h("input", { type: "time", "aria-label": "At", value: t.at, required: true, oninput: (e) => { t.at = e.target.value; } })];
  }
  if (!("after_minutes" in t)) return [kind];
  const [unit, size] = unitOf(t.after_minutes);
  const update = () => { t.after_minutes = Math.round(Number(amount.value) * UNITS.find(([u]) => u === units.value)[1]); };
  const amount = h("input", { type: "number", min: 1, step: 1, required: true, "aria-label": "After", value: t.after_minutes / size, oninput: update });
  const units = select("Unit", UNITS.map(([u]) => [u, u]), unit, update);
  return [kind, "after", amount, units];
}

function conditionRow(c, ctx, { remove, redraw }) {
  const field = ctx.vocab.fields.find((f) => f.name === c.field) ?? ctx.vocab.fields[0];
  const choices = valueChoices(field, ctx);
  // What the form shows is what gets saved.
  c.field = field.name;
  if (!field.ops.includes(c.op)) c.op = field.ops[0];
  if (choices && !choices.some(([v]) => v === c.value)) c.value = choices[0]?.[0] ?? "";
  return h("div", { class: "rule-row condition" },
    select("Field", ctx.vocab.fields.map((f) => [f.name, f.label]), c.field, (name) => {
      Object.assign(c, newCondition(ctx.vocab.fields.find((f) => f.name === name), ctx)); redraw();
    }),
    select("Test", field.ops.map((o) => [o, words(o)]), c.op, (op) => { c.op = op; }),
    choices ? select("Value", choices, c.value, (v) => { c.value = v; })
      : h("input", { "aria-label": "Value", value: c.value, oninput: (e) => { c.value = e.target.value; } }),
    h("button", { type: "button", class: "link", text: "Remove", onclick: remove }));
}

function actionRow(a, ctx, { remove, replace, redraw }) {
  const { vocab, users } = ctx;
  // Rules may only name active users (and keep showing the ones they already name).
  const people = users.filter((u) => u.active || u.id === a.user_id || a.user_ids?.includes(u.id)).map((u) => [u.id, u.name]);
  if ("user_id" in a && !people.some(([id]) => id === a.user_id)) a.user_id = people[0]?.[0] ?? null;
  const variables = h("p", { class: "meta", text: `You can use ${vocab.variables.map((v) => `{{${v}}}`).join(" ")}` });
  const text = (label, placeholder) => [h("textarea", { name: "text", rows: 3, "aria-label": label, placeholder, text: a.text ?? "",
    oninput: (e) => { a.text = placeholder && !e.target.value ? null : e.target.value; } }), variables];
  const check = (key, label) => h("label", { class: "check" },
    h("input", { type: "checkbox", checked: a[key], onchange: (e) => { a[key] = e.target.checked; } }), label);
  const parts = {
    bot_reply: () => text("Reply text"),
    internal_note: () => text("Note text"),
    notify: () => [h("div", { class: "rule-row" },
      select("Recipients", vocab.recipients.map((r) => [r.value, r.label]), a.to, (to) => {
        a.to = to;
        if (to !== "users") a.user_ids = [];
        // Customers are only emailed: in the messenger they get bot replies.
        if (to === "customer") Object.assign(a, { app: false, email: true });
        redraw();
      }),
      a.to === "users" ? h("select", { multiple: true, "aria-label": "Users to notify",
        onchange: (e) => { a.user_ids = [...e.target.selectedOptions].map((o) => Number(o.value)); } },
      people.map(([id, name]) => h("option", { value: id, selected: a.user_ids?.includes(id), text: name }))) : null,
      a.to === "customer" ? null : check("app", "App"), check("email", "Email")),
    ...text("Notification text", "Empty: the message itself")],
    set_status: () => [h("div", { class: "rule-row" },
      select("Of", [["conversation", "the conversation"], ["item", "the item"]], a.of, (v) => { a.of = v; }),
      select("Status", [["open", "open"], ["closed", "closed"]], a.status, (v) => { a.status = v; }))],
    assign: () => [select("Assign to", people, a.user_id, (v) => { a.user_id = Number(v); })],
    add_follower: () => [select("Follower", people, a.user_id, (v) => { a.user_id = Number(v); })],
  }[a.kind]?.() ?? [];
  return h("fieldset", { class: "action" },
    h("div", { class: "rule-row" }, select("Action", vocab.actions.map((x) => [x.kind, x.label]), a.kind, (k) => replace(newAction(k, ctx))),
      h("button", { type: "button", class: "link", text: "Remove", onclick: remove })),
    ...parts);
}

function dryRunEntry(x) {
  return h("li", { class: x.matched ? "matched" : "unmatched", "data-conversation": x.event.conversation_id, "data-item": x.event.item_id },
    h("div", {}, h("strong", { text: x.event.summary }), ` · ${stamp(x.event.at)}`),
    h("div", { text: x.matched ? "Matched: yes" : "Matched: no" }),
    x.reasons.length ? h("div", { class: "meta", text: x.reasons.join("; ") }) : null,
    x.actions.length ? h("div", { text: `Would: ${x.actions.join("; ")}` }) : null);
}

function editor(box, ctx, rule) {
  const { vocab } = ctx;
  const fresh = { name: "", enabled: true, trigger: newTrigger(vocab.triggers[0].kind, vocab),
    conditions: [], actions: [newAction(vocab.actions[0].kind, ctx)] };
  const draft = structuredClone(rule ? ruleInput(rule) : fresh);
  const error = errorLine();
  const results = h("div", { class: "dry-run", "aria-live": "polite" });
  const trigger = h("div", { class: "rule-row" });
  const drawTrigger = () => trigger.replaceChildren(...triggerFields(draft, vocab, drawTrigger));
  drawTrigger();
  const form = h("form", { class: "rule-editor card admin-card" },
    h("h3", { text: rule ? `Edit "${rule.name}"` : "New rule" }),
    h("label", {}, "Name", h("input", { name: "name", required: true, value: draft.name, oninput: (e) => { draft.name = e.target.value; } })),
    h("label", { class: "check" },
      h("input", { type: "checkbox", name: "enabled", checked: draft.enabled, onchange: (e) => { draft.enabled = e.target.checked; } }), "Enabled"),
    h("h4", { text: "When" }), trigger,
    h("h4", { text: "Only if all of these hold" }),
    rows(draft.conditions, (c, row) => conditionRow(c, ctx, row), () => newCondition(vocab.fields[0], ctx), "Add condition"),
    h("h4", { text: "Do" }),
    rows(draft.actions, (a, row) => actionRow(a, ctx, row), () => newAction(vocab.actions[0].kind, ctx), "Add action"),
    error,
    actions(h("button", { class: "primary", text: "Save" }),
      h("button", { type: "button", class: "ghost", text: "Dry run", onclick: dryRun }),
      h("button", { type: "button", class: "link", text: "Cancel", onclick: ctx.back })),
    results);
  async function dryRun() {
    error.textContent = "";
    results.replaceChildren(h("p", { class: "meta", text: "Running…" }));
    try {
      const { entries } = await api(`${RULES}/dry-run`, { method: "POST", json: draft });
      results.replaceChildren(h("h4", { text: "What this rule would have done to recent events (nothing was changed)" }),
        entries.length ? h("ul", {}, entries.map(dryRunEntry)) : h("p", { text: "No recent events" }));
    } catch (err) { results.replaceChildren(); fail(error, err); }
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      await api(rule ? `${RULES}/${rule.id}` : RULES, { method: rule ? "PUT" : "POST", json: draft });
      ctx.back();
    } catch (err) { fail(error, err); }
  });
  box.replaceChildren(form);
  form.elements.name.focus();
}
