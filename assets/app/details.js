// The right column: who the customer is (face, name, email and whether it was verified), where
// they wrote from and when it is for them, their other conversations and items, and for admins
// the data-protection tools (privacy.js, loaded when an admin first needs them).

import { api } from "./api.js";
import { h, $ } from "../shared/dom.js";
import { when, relTime, displayName, avatar } from "./dom.js";
import { icon } from "../shared/icons.js";
import { channelBadge } from "./items.js";
import { state, app } from "./state.js";
import { select, clearPane } from "./conversation.js";
import { showView, drawList, refreshCounts } from "./list.js";

/** "Europe/Berlin" -> "Berlin"; the city a browser's time zone is named after. */
export const zoneCity = (zone) => zone.split("/").pop().replace(/_/g, " ");

/** Browser and system from a user agent, roughly ("Firefox on Windows"); "" when unknown. */
export function browserOf(ua) {
  if (!ua) return "";
  const browser = /Edg\//.test(ua) ? "Edge" : /OPR\//.test(ua) ? "Opera" : /Firefox\//.test(ua) ? "Firefox"
    : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "";
  const os = /iPhone|iPad/.test(ua) ? "iOS" : /Android/.test(ua) ? "Android" : /Windows/.test(ua) ? "Windows"
    : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return [browser, os].filter(Boolean).join(" on ");
}

/** The customer's time now, in their time zone. */
function localTime(zone) {
  try {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: zone });
  } catch { return ""; }
}

const closeButton = () => h("button", { type: "button", class: "icon details-toggle", "aria-label": "Close the details", onclick: () => app.classList.remove("show-details") }, icon("close"));

let drawing = 0;
export async function drawDetails() {
  const box = $("#details");
  const ticket = ++drawing;
  const id = state.selected?.customer_id ?? state.item?.requester_id;
  if (!id) {
    if (state.selected?.kind === "internal") box.replaceChildren(h("p", { class: "hint", text: "Internal conversation: no customer." }));
    else box.replaceChildren();
    return;
  }
  const a = await api(`/api/v1/customers/${id}/activity`).catch(() => null);
  if (ticket !== drawing) return;
  if (!a) { box.replaceChildren(closeButton(), h("p", { class: "hint", text: "The customer's details could not be loaded." })); return; }
  const cu = a.customer;
  const c = state.selected;
  const name = displayName(cu);
  // Fields the API may carry (a time zone and user agent the widget reported); shown when present.
  const zone = cu.time_zone || c?.time_zone;
  const ua = cu.user_agent || c?.user_agent;
  const facts = [
    ["Name", cu.name],
    ["Email", cu.email, h("span", { class: "badge ok", title: "They proved this address is theirs", text: "Verified" })],
    ["Contact email", cu.contact_email && cu.contact_email !== cu.email ? cu.contact_email : null,
      h("span", { class: "badge warn", title: "Typed in, never verified: it may belong to someone else", text: "Unverified" })],
    ["Their id", cu.external_id],
    ["Local time", zone && localTime(zone) ? `${localTime(zone)} · ${zoneCity(zone)}` : null],
    ["Location", zone ? `${zoneCity(zone)} (from the browser's time zone)` : null],
    ["Browser", browserOf(ua) || null],
    ["Page", c?.page_url, null, true],
    ["Customer since", when(cu.created_at)],
  ].filter(([, v]) => v);
  const dl = h("dl", { class: "facts" }, facts.flatMap(([k, v, mark, link]) => [h("dt", { text: k }),
    h("dd", {}, link ? h("a", { href: v, target: "_blank", rel: "noopener noreferrer", text: v }) : h("span", { text: String(v) }), mark ? " " : null, mark || null)]));
  const others = a.conversations.map((o) => h("li", {}, h("button", {
    type: "button", class: `other${o.id === c?.id ? " current" : ""}`, "data-conversation": o.id, "aria-current": String(o.id === c?.id), onclick: () => select(o, false),
  }, icon(o.kind === "internal" ? "lock" : "chat"), h("span", { class: "other-title", text: `#${o.id} · ${o.status}` }),
  channelBadge(o.channel), h("time", { class: "when", title: when(o.last_activity_at), text: relTime(o.last_activity_at) }))));
  const items = a.items.map((i) => h("li", {}, h("button", { type: "button", class: "other", "data-item": i.id, onclick: () => select(i, true) },
    icon(i.kind === "task" ? "task" : "ticket"), h("span", { class: "other-title", text: i.title }),
    h("span", { class: `badge${i.status === "open" ? " ok" : ""}`, text: i.status }))));
  const parts = [
    closeButton(),
    h("section", { class: "customer-card" }, avatar(name, cu.photo_url, "lg"),
      h("div", {}, h("p", { class: "customer-name", text: name }),
        h("p", { class: "hint", text: cu.known ? (cu.email ? "Known customer" : "Gave their details") : "Anonymous visitor" }))),
    h("h2", { text: "Customer" }), dl,
    h("h2", { text: "Conversations" }), h("ul", { class: "others" }, others),
    h("h2", { text: "Items" }), items.length ? h("ul", { class: "others" }, items) : h("p", { class: "hint", text: "None yet." }),
  ];
  if (state.me.role === "admin") {
    const { customerTools } = await import("./privacy.js");
    if (ticket !== drawing) return;
    parts.push(h("h2", { text: "Data protection" }), customerTools(cu, { erased: customerErased }));
  }
  box.replaceChildren(...parts);
}

/** The customer is gone, and with them what is open: back to the list, without their rows. */
function customerErased(id) {
  clearPane("Pick a conversation.");
  state.customers.delete(id);
  state.entries = state.entries.filter((e) => e.customer_id !== id && e.requester_id !== id);
  drawList();
  app.classList.remove("show-pane", "show-details");
  showView(state.view);
  refreshCounts();
}
