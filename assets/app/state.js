// What the app's screens share: the one state object, the app's element, and the customers
// met so far (cached).

import { api } from "./api.js";
import { $ } from "../shared/dom.js";
import { displayName } from "./dom.js";
import { ITEM_VIEWS } from "./items.js";

export const state = {
  me: null, prefs: null, view: "open", entries: [], cursor: null, searching: false, selected: null,
  item: null, threads: {}, mode: "public", customers: new Map(), users: [], projects: [],
  live: null, firstSeq: 0, lastSeq: 0, opening: 0, page: null,
};
export const app = $("#app");

/** Views whose rows are items (the rest list conversations). */
export const isItemView = (view) => view === "unanswered" || view in ITEM_VIEWS;

/** A customer by id, cached; `known` (a list entry's embedded customer) fills the cache. */
export function customer(id, known = null) {
  if (!id) return Promise.resolve(null);
  if (known) state.customers.set(id, Promise.resolve(known));
  if (!state.customers.has(id)) state.customers.set(id, api(`/api/v1/customers/${id}`).catch(() => { state.customers.delete(id); return null; }));
  return state.customers.get(id);
}


/** The customer as items.js shows them: with a name always (their display name when they gave
 * none), so a row or a header never falls back to an id. */
export const requesterOf = (id) => customer(id).then((c) => c && { ...c, name: c.name || displayName(c) });
