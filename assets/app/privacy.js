// Data protection, for admins, in the customer's details: export everything Rapport holds about
// the customer as a JSON file, and erase them, behind a dialog that makes the admin type who.

import { api } from "./api.js";
import { h } from "../shared/dom.js";
import { sentence } from "./dom.js";
import { icon } from "../shared/icons.js";
import { customerName } from "./items.js";

/** The "Export data" and "Delete customer…" buttons; `erased(id, counts)` runs after an erasure. */
export function customerTools(customer, { erased }) {
  const error = h("p", { class: "error", role: "alert" });
  const exportButton = h("button", { type: "button", class: "tool", id: "export-customer", onclick: async () => {
    error.textContent = "";
    exportButton.disabled = true;
    try { await download(customer.id); } catch (e) { error.textContent = sentence(e.message); } finally { exportButton.disabled = false; }
  } }, icon("down"), "Export data");
  return h("div", { class: "customer-tools" },
    h("div", { class: "row" }, exportButton,
      h("button", { type: "button", class: "tool danger", id: "delete-customer", onclick: () => confirmErase(customer, erased) }, icon("trash"), "Delete customer…")),
    error);
}

/** Fetches the export and saves it as customer-ID.json. */
async function download(id) {
  const res = await fetch(`/api/v1/customers/${id}/export`, { credentials: "same-origin" });
  if (!res.ok) throw new Error((await res.json().catch(() => null))?.error?.message || res.statusText);
  const url = URL.createObjectURL(await res.blob());
  const a = h("a", { href: url, download: `customer-${id}.json`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The confirm dialog: the red button waits for the customer's email (or name, or DELETE). */
function confirmErase(customer, erased) {
  const word = customer.email || customer.contact_email || customer.name || "DELETE";
  const input = h("input", { name: "confirm", autocomplete: "off", spellcheck: "false" });
  const submit = h("button", { class: "primary danger", type: "submit", disabled: true, text: "Delete customer and their data" });
  const error = h("p", { class: "error", role: "alert" });
  const close = () => dialog.close();
  const form = h("form", {},
    h("h2", { id: "erase-title", text: `Delete ${customerName(customer)}?` }),
    h("p", { text: "This erases, for good:" }),
    h("ul", {},
      h("li", { text: "the customer and their widget and portal sessions" }),
      h("li", { text: "their conversations, with every message and file" }),
      h("li", { text: "the tickets they asked for, with those tickets' internal notes" }),
      h("li", { text: "the emails sent to them and received from them" })),
    h("p", { class: "warning", text: "It cannot be undone. Export the data first if you must hand it to them." }),
    h("label", {}, h("span", {}, "Type ", h("b", { text: word }), " to confirm"), input),
    error,
    h("div", { class: "row" }, submit, h("button", { type: "button", class: "ghost", onclick: close, text: "Cancel" })));
  const dialog = h("dialog", { id: "erase-dialog", "aria-labelledby": "erase-title" }, form);
  input.addEventListener("input", () => { submit.disabled = input.value.trim().toLowerCase() !== word.toLowerCase(); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    error.textContent = "";
    try {
      const n = await api(`/api/v1/customers/${customer.id}`, { method: "DELETE" });
      form.replaceChildren(
        h("h2", { text: "Customer deleted" }),
        h("p", { class: "erased", role: "status", text: `Erased ${plural(n.conversations, "conversation")}, ${plural(n.messages, "message")}, ${plural(n.items, "ticket or task", "tickets or tasks")}, ${plural(n.emails, "email")}.` }),
        h("div", { class: "row" }, h("button", { type: "button", class: "primary", onclick: close, text: "Close" })));
      erased(customer.id, n);
    } catch (err) {
      error.textContent = sentence(err.message);
      submit.disabled = false;
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}
