// A team's public web form at /forms/KEY (also framed by embed.js with ?embed=1). It draws the
// form's extra fields, submits JSON and shows the thank-you text or the server's reason for a
// refusal. Every text from the form's settings or the server is set with textContent.

import { h, byId as $ } from "../shared/dom.js";
import { client } from "../shared/api.js";

const request = client();
const key = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
const embedded = new URLSearchParams(location.search).get("embed") === "1";
const form = $("rapport-form");
let started = null;
let fields = [];

/** One extra field: its control carries data-field-index so answers go back in order. */
function extraField(f, i) {
  const id = `f-extra-${i}`;
  const attrs = { id, name: `field-${i}`, "data-field-index": i, required: f.required };
  const mark = f.required ? h("span", { class: "req", "aria-hidden": "true", text: "*" }) : null;
  if (f.kind === "checkbox") {
    return h("div", { class: "field check" }, h("input", { ...attrs, type: "checkbox", value: "true" }),
      h("label", { for: id }, f.label, mark ? " " : null, mark));
  }
  let control;
  if (f.kind === "long_text") control = h("textarea", { ...attrs, rows: 4, maxlength: 5000 });
  else if (f.kind === "choice") {
    control = h("select", attrs, h("option", { value: "", text: "Choose…" }),
      (f.options || []).map((o) => h("option", { value: o, text: o })));
  } else control = h("input", { ...attrs, maxlength: 1000 });
  return h("div", { class: "field" }, h("label", { for: id }, f.label, mark ? " " : null, mark), control);
}

function applyColor(color) {
  if (/^#[0-9a-f]{6}$/i.test(color || "")) document.documentElement.style.setProperty("--brand", color);
}

function showError(text) { $("form-error").textContent = text || ""; }

/** The first control the browser finds wrong: announced with its own message, and focused. */
function invalidControl() {
  for (const el of form.elements) {
    if (el.name === "website" || !el.willValidate || el.checkValidity()) continue;
    const label = form.querySelector(`label[for="${el.id}"]`)?.textContent.replace(/\s*\*\s*$/, "").trim();
    showError(label ? `${label}: ${el.validationMessage}` : el.validationMessage);
    el.setAttribute("aria-invalid", "true");
    el.focus();
    return el;
  }
  return null;
}

async function submit(e) {
  e.preventDefault();
  showError("");
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  if (invalidControl()) return;
  const el = form.elements;
  const values = fields.map((f, i) => {
    const control = form.querySelector(`[data-field-index="${i}"]`);
    return f.kind === "checkbox" ? (control.checked ? "true" : "") : control.value;
  });
  const body = {
    name: el.name.value.trim(), email: el.email.value.trim(), subject: el.subject.value.trim(), message: el.message.value,
    values, website: el.website.value, started,
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  button.textContent = "Sending…";
  try {
    const done = await request(`/api/v1/forms/${encodeURIComponent(key)}/submissions`, { method: "POST", json: body });
    $("thank-you").textContent = done?.thank_you || "We got your message and will get back to you soon.";
    form.hidden = true;
    $("intro").hidden = true;
    $("form-done").hidden = false;
    $("form-done").focus();
  } catch (err) {
    // What the person typed stays; only the reason is shown.
    showError(err.message);
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
    button.textContent = "Send";
  }
}

/** Framed by embed.js: tell the host page our height whenever it changes. */
function reportHeight() {
  if (!embedded || window.parent === window) return;
  document.documentElement.classList.add("embedded");
  let last = 0;
  const post = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ rapportForm: key, height }, "*");
  };
  if ("ResizeObserver" in window) new ResizeObserver(post).observe(document.documentElement);
  else window.addEventListener("resize", post);
  post();
}

async function start() {
  reportHeight();
  form.addEventListener("submit", submit);
  try {
    if (!key) throw new Error("This form does not exist.");
    const f = await request(`/api/v1/forms/${encodeURIComponent(key)}/public`);
    started = f.started;
    fields = f.fields || [];
    applyColor(f.color);
    document.title = f.team_name ? `${f.name} · ${f.team_name}` : f.name;
    $("team").textContent = f.team_name || "";
    $("form-title").textContent = f.name;
    $("intro").textContent = f.intro || "";
    $("intro").hidden = !f.intro;
    $("extra-fields").replaceChildren(...fields.map(extraField));
    $("thank-you").textContent = f.thank_you || "";
    $("form-loading").hidden = true;
    form.hidden = false;
  } catch (err) {
    $("form-loading").textContent = err.code === "form_not_found" ? "This form is not available." : err.message;
    $("form-loading").setAttribute("role", "alert");
  }
}

start();
