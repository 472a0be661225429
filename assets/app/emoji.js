// The composer's emoji picker: a short curated list (no external data, no images), in a small
// popup that the keyboard drives (arrow keys move, Enter picks, Escape closes) and that fits a
// phone. `emojiPicker(pick)` returns the button and its popup; `pick(emoji)` inserts it.

import { h } from "../shared/dom.js";
import { icon } from "../shared/icons.js";

const CATEGORIES = [
  ["Smileys", [
    ["😀", "grinning face"], ["😃", "smiling face with big eyes"], ["😄", "smiling face with smiling eyes"], ["😁", "beaming face"],
    ["😅", "grinning face with sweat"], ["😂", "tears of joy"], ["🙂", "slightly smiling face"], ["😉", "winking face"],
    ["😊", "smiling face"], ["😍", "heart eyes"], ["🤩", "star-struck"], ["😘", "face blowing a kiss"],
    ["😎", "smiling face with sunglasses"], ["🤔", "thinking face"], ["🤗", "hugging face"], ["😮", "face with open mouth"],
    ["😐", "neutral face"], ["🙄", "face with rolling eyes"], ["😬", "grimacing face"], ["😴", "sleeping face"],
    ["😢", "crying face"], ["😭", "loudly crying face"], ["😡", "angry face"], ["🥳", "partying face"],
  ]],
  ["Gestures", [
    ["👍", "thumbs up"], ["👎", "thumbs down"], ["👌", "OK hand"], ["✌️", "victory hand"],
    ["🤞", "crossed fingers"], ["👋", "waving hand"], ["👏", "clapping hands"], ["🙌", "raising hands"],
    ["🙏", "folded hands"], ["💪", "flexed biceps"], ["🤝", "handshake"], ["👉", "pointing right"],
    ["👀", "eyes"], ["🫶", "heart hands"], ["🤷", "shrug"], ["🙋", "person raising hand"],
  ]],
  ["Hearts and symbols", [
    ["❤️", "red heart"], ["💙", "blue heart"], ["💚", "green heart"], ["💛", "yellow heart"],
    ["✅", "check mark"], ["❌", "cross mark"], ["⚠️", "warning"], ["❓", "question mark"],
    ["❗", "exclamation mark"], ["💯", "hundred points"], ["✨", "sparkles"], ["🔥", "fire"],
    ["⭐", "star"], ["🎉", "party popper"], ["💡", "light bulb"], ["🚀", "rocket"],
  ]],
  ["Objects", [
    ["📦", "package"], ["📧", "email"], ["📎", "paperclip"], ["📄", "page"],
    ["📅", "calendar"], ["⏰", "alarm clock"], ["💻", "laptop"], ["📱", "mobile phone"],
    ["🔒", "lock"], ["🔑", "key"], ["🛠️", "hammer and wrench"], ["🐛", "bug"],
    ["💳", "credit card"], ["🧾", "receipt"], ["🚚", "delivery truck"], ["☕", "hot beverage"],
  ]],
];

let opened = null; // the one open picker: {close()}

/** The button that opens the picker, and the popup, wrapped together (the popup sits above). */
export function emojiPicker(pick) {
  const button = h("button", { type: "button", class: "icon", "aria-label": "Insert emoji", title: "Emoji", "aria-haspopup": "dialog", "aria-expanded": "false" }, icon("smile"));
  const popup = h("div", { class: "emoji-picker", role: "dialog", "aria-label": "Emoji", hidden: true },
    ...CATEGORIES.map(([name, list]) => h("div", { class: "emoji-group", role: "group", "aria-label": name },
      h("p", { class: "emoji-heading", text: name }),
      h("div", { class: "emoji-grid" }, ...list.map(([char, label]) =>
        h("button", { type: "button", class: "emoji", tabindex: "-1", "aria-label": label, title: label, text: char, "data-emoji": char }))))));
  const wrap = h("span", { class: "emoji-wrap" }, button, popup);
  const all = () => [...popup.querySelectorAll("button.emoji")];

  function focusOn(target) {
    for (const b of all()) b.tabIndex = b === target ? 0 : -1;
    target.focus();
  }
  function open() {
    opened?.close(false);
    popup.hidden = false;
    button.setAttribute("aria-expanded", "true");
    opened = { close };
    focusOn(popup.querySelector("button.emoji[tabindex='0']") || all()[0]);
    document.addEventListener("pointerdown", outside, true);
  }
  function close(refocus = true) {
    if (popup.hidden) return;
    popup.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (opened?.close === close) opened = null;
    document.removeEventListener("pointerdown", outside, true);
    if (refocus) button.focus();
  }
  function outside(e) { if (!wrap.contains(e.target)) close(false); }

  button.addEventListener("click", () => (popup.hidden ? open() : close()));
  popup.addEventListener("click", (e) => {
    const b = e.target.closest("button.emoji");
    if (!b) return;
    close(false);
    pick(b.dataset.emoji);
  });
  popup.addEventListener("keydown", (e) => {
    e.stopPropagation(); // keys here pick emoji: they are not the app's shortcuts
    const current = document.activeElement?.closest?.("button.emoji");
    if (e.key === "Escape") { e.preventDefault(); close(); return; }
    if (e.key === "Tab") { close(false); return; }
    if (!current) return;
    const next = neighbour(all(), current, e.key);
    if (next) { e.preventDefault(); focusOn(next); }
  });
  return wrap;
}

/** The emoji the arrow key (or Home/End) leads to, by position on screen: across the rows of a
 * category and from one category to the next. */
function neighbour(buttons, from, key) {
  const i = buttons.indexOf(from);
  if (key === "ArrowRight") return buttons[i + 1];
  if (key === "ArrowLeft") return buttons[i - 1];
  if (key === "Home") return buttons[0];
  if (key === "End") return buttons.at(-1);
  if (key !== "ArrowDown" && key !== "ArrowUp") return null;
  const here = from.getBoundingClientRect();
  const down = key === "ArrowDown";
  const rows = buttons.map((b) => [b, b.getBoundingClientRect()]).filter(([, r]) => (down ? r.top > here.top + 2 : r.top < here.top - 2));
  if (!rows.length) return null;
  const rowTop = down ? Math.min(...rows.map(([, r]) => r.top)) : Math.max(...rows.map(([, r]) => r.top));
  const row = rows.filter(([, r]) => Math.abs(r.top - rowTop) < 2);
  row.sort(([, a], [, b]) => Math.abs(a.left - here.left) - Math.abs(b.left - here.left));
  return row[0][0];
}
