// DOM helpers shared by the app's screens. Text is always set with textContent.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function when(ms) {
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleDateString();
}

const palette = ["#2b6cb0", "#2f855a", "#b7791f", "#c53030", "#6b46c1", "#2c7a7b", "#b83280"];
/** A face: the photo when there is one, else initials on a colour that follows the name. */
export function avatar(name, photoUrl = null, size = "") {
  name = name || "?";
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const text = name.split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
  const el = h("span", { class: `avatar ${size}`.trim(), "aria-hidden": "true" });
  if (photoUrl) el.append(h("img", { src: photoUrl, alt: "", loading: "lazy", decoding: "async" }));
  else el.textContent = text;
  el.style.background = palette[hash % palette.length];
  return el;
}

/** A short confirmation or error in the toasts region, gone after a few seconds. */
export function toast(text, { bad = false } = {}) {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const el = h("div", { class: bad ? "toast bad" : "toast", text });
  region.append(el);
  setTimeout(() => el.remove(), bad ? 6000 : 2500);
}

/** A server's error message as a sentence: "the file is empty" -> "The file is empty." */
export function sentence(text) {
  text = String(text || "").trim();
  if (!text) return "";
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?…]$/.test(text) ? "" : ".");
}
