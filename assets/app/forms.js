// The admin's Forms tab: web forms (list, editor with the extra fields, their link and embed
// snippet) and the customer portal's settings.

import { api } from "./api.js";
import { h } from "../shared/dom.js";
import { card, savedMark, flash, unflash, errorLine, fail, actions, copy } from "./admin_ui.js";

const FORMS = "/api/v1/forms";
const KINDS = [["text", "Short text"], ["long_text", "Long text"], ["choice", "Choice"], ["checkbox", "Checkbox"]];
const MAX_FIELDS = 20;
const formInput = ({ name, project_id, item_kind, intro, thank_you, enabled, fields }) =>
  ({ name, project_id, item_kind, intro, thank_you, enabled, fields });

export async function forms(box) {
  const [list, projects, portal] = await Promise.all([api(FORMS), api("/api/v1/projects"), api("/api/v1/settings/portal")]);
  const ctx = { projects, back: () => forms(box) };
  const error = errorLine();
  const projectName = (id) => projects.find((p) => p.id === id)?.name ?? `#${id}`;
  const rows = list.map((f) => {
    const mark = savedMark(); // "Saved" beside the row's Enabled box
    return h("tr", { "data-form-id": f.id },
    h("td", { text: f.name }),
    h("td", { class: "meta", text: projectName(f.project_id) }),
    h("td", {}, h("label", { class: "check" }, h("input", { type: "checkbox", "aria-label": `Enabled: ${f.name}`, checked: f.enabled,
      onchange: async (e) => {
        error.textContent = "";
        unflash(mark);
        try { Object.assign(f, await api(`${FORMS}/${f.id}`, { method: "PUT", json: { ...formInput(f), enabled: e.target.checked } })); flash(mark); }
        catch (err) { e.target.checked = f.enabled; fail(error, err); }
      } }), "Enabled"), mark),
    h("td", {}, h("a", { href: f.url, target: "_blank", rel: "noopener", text: "Open page" })),
    h("td", { class: "actions" },
      h("button", { type: "button", class: "link", "aria-label": `Edit: ${f.name}`, text: "Edit", onclick: () => editor(box, ctx, f) }),
      h("button", { type: "button", class: "link", "aria-label": `Delete: ${f.name}`, text: "Delete", onclick: async () => {
        if (!confirm(`Delete the form "${f.name}"? Pages that embed it will show it as unavailable.`)) return;
        try { await api(`${FORMS}/${f.id}`, { method: "DELETE" }); forms(box); } catch (err) { fail(error, err); }
      } })));
  });
  box.replaceChildren(
    card("Web forms", "Each form has its own page and a snippet to embed it in your site. A submission becomes a ticket or task from the person who sent it.",
      list.length ? h("table", { class: "forms-list" }, h("tbody", {}, rows)) : h("p", { class: "hint", text: "No forms yet." }),
      error,
      actions(h("button", { type: "button", class: "primary", text: "New form", disabled: !projects.length, onclick: () => editor(box, ctx, null) }),
        projects.length ? null : h("span", { class: "hint", text: "Create a project first (Admin → Projects)." }))),
    portalBox(portal, projects));
}

/** The page's address and the embed snippet, each with a way to copy it. */
function share(form) {
  const status = savedMark();
  const snippet = h("textarea", { class: "forms-snippet", readonly: true, rows: 3, "aria-label": "Embed snippet", text: form.snippet,
    onfocus: (e) => e.target.select() });
  return h("section", { class: "forms-share" },
    h("h4", { text: "Share" }),
    h("p", {}, "Link: ", h("a", { class: "forms-url", href: form.url, target: "_blank", rel: "noopener", text: form.url })),
    h("label", {}, "Paste this where the form should appear on your site", snippet),
    actions(h("button", { type: "button", class: "tool", text: "Copy", onclick: () => copy(form.snippet, status, () => { snippet.focus(); snippet.select(); }) }), status));
}

const select = (label, choices, current, onchange, attrs = {}) => h("select", { "aria-label": label, ...attrs, onchange: (e) => onchange(e.target.value) },
  choices.map(([value, text]) => h("option", { value, selected: String(value) === String(current), text })));

/** The extra fields, edited in place: add, remove, move up or down. */
function fieldsEditor(fields) {
  const box = h("div", { class: "forms-fields" });
  const draw = () => box.replaceChildren(
    ...fields.map((f, i) => {
      const move = (by) => { fields.splice(i + by, 0, fields.splice(i, 1)[0]); draw(); };
      const n = i + 1;
      return h("fieldset", { class: "forms-field", "data-field": i },
        h("legend", { text: `Field ${n}` }),
        h("div", { class: "rule-row" },
          h("input", { name: "label", "aria-label": `Label of field ${n}`, placeholder: "Label", value: f.label, required: true, maxlength: 200,
            oninput: (e) => { f.label = e.target.value; } }),
          select(`Kind of field ${n}`, KINDS, f.kind, (kind) => { f.kind = kind; if (kind !== "choice") f.options = []; draw(); }, { name: "kind" }),
          h("label", { class: "check" }, h("input", { type: "checkbox", name: "required", checked: f.required,
            onchange: (e) => { f.required = e.target.checked; } }), "Required")),
        f.kind === "choice" ? h("label", {}, "Choices (one per line)",
          h("textarea", { name: "options", rows: 3, "aria-label": `Choices of field ${n}`, text: f.options.join("\n"),
            oninput: (e) => { f.options = e.target.value.split("\n").map((o) => o.trim()).filter(Boolean); } })) : null,
        h("div", { class: "row" },
          h("button", { type: "button", class: "link", text: "Move up", "aria-label": `Move field ${n} up`, disabled: i === 0, onclick: () => move(-1) }),
          h("button", { type: "button", class: "link", text: "Move down", "aria-label": `Move field ${n} down`, disabled: i === fields.length - 1, onclick: () => move(1) }),
          h("button", { type: "button", class: "link", text: "Remove", "aria-label": `Remove field ${n}`, onclick: () => { fields.splice(i, 1); draw(); } })));
    }),
    h("button", { type: "button", class: "link", text: "Add field", disabled: fields.length >= MAX_FIELDS,
      onclick: () => { fields.push({ label: "", kind: "text", required: false, options: [] }); draw(); box.querySelector("fieldset:last-of-type input")?.focus(); } }));
  draw();
  return box;
}

function editor(box, ctx, form) {
  const draft = structuredClone(form ? formInput(form) : {
    name: "", project_id: ctx.projects[0]?.id, item_kind: "ticket", intro: "",
    thank_you: "Thank you! We got your message and will get back to you soon.", enabled: true, fields: [],
  });
  draft.fields = draft.fields.map((f) => ({ label: f.label, kind: f.kind, required: !!f.required, options: f.options || [] }));
  const error = errorLine();
  const saved = savedMark();
  const text = (name, label, tag = "input") => h("label", {}, label, h(tag, {
    name, ...(tag === "textarea" ? { rows: 3, text: draft[name] } : { value: draft[name], required: true }),
    oninput: (e) => { draft[name] = e.target.value; } }));
  const el = h("form", { class: "forms-editor card admin-card" },
    h("h3", { text: form ? `Edit "${form.name}"` : "New form" }),
    form ? share(form) : null,
    text("name", "Name"),
    h("label", {}, "Project", select("Project", ctx.projects.map((p) => [p.id, p.name]), draft.project_id,
      (v) => { draft.project_id = Number(v); }, { name: "project_id" })),
    h("label", {}, "Each submission becomes a", select("Item type", [["ticket", "ticket"], ["task", "task"]], draft.item_kind,
      (v) => { draft.item_kind = v; }, { name: "item_kind" })),
    text("intro", "Introduction (shown above the fields)", "textarea"),
    text("thank_you", "Thank-you text (shown after sending)", "textarea"),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "enabled", checked: draft.enabled,
      onchange: (e) => { draft.enabled = e.target.checked; } }), "Enabled"),
    h("h4", { text: "Fields" }),
    h("p", { class: "hint", text: "Every form asks for a name, an email, a subject and a message. Add up to 20 more fields:" }),
    fieldsEditor(draft.fields),
    error,
    actions(h("button", { class: "primary", text: "Save" }), saved,
      h("button", { type: "button", class: "link", text: form ? "Back to the forms" : "Cancel", onclick: ctx.back })));
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const result = await api(form ? `${FORMS}/${form.id}` : FORMS, { method: form ? "PUT" : "POST", json: draft });
      // Back to the editor of the saved form: it shows the link and the snippet to paste.
      flash(editor(box, ctx, result).saved);
    } catch (err) { fail(error, err); }
  });
  box.replaceChildren(el);
  if (!form) el.elements.name.focus();
  return { saved };
}

/** The customer portal: its address, on or off, and the project its new tickets go to. */
function portalBox(settings, projects) {
  const url = `${location.origin}/portal/`;
  const saved = savedMark();
  const error = errorLine();
  const form = h("form", { class: "forms-portal card admin-card" },
    h("h3", { text: "Customer portal" }),
    h("p", {}, "Customers sign in at ", h("a", { href: url, target: "_blank", rel: "noopener", text: url }),
      " to follow their tickets and open new ones."),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "enabled", checked: settings.enabled }), "Portal enabled"),
    h("label", {}, "Project for new portal tickets",
      h("select", { name: "project" }, h("option", { value: "", text: "The oldest project" }),
        projects.map((p) => h("option", { value: p.id, text: p.name, selected: p.id === settings.project_id })))),
    error,
    actions(h("button", { class: "primary", text: "Save portal" }), saved));
  form.addEventListener("input", () => unflash(saved));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    unflash(saved);
    const f = form.elements;
    try {
      await api("/api/v1/settings/portal", { method: "PUT", json: { enabled: f.enabled.checked, project_id: f.project.value ? Number(f.project.value) : null } });
      flash(saved);
    } catch (err) { fail(error, err); }
  });
  return form;
}
