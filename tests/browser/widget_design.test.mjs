// The widget's design pass of issue 17: a launcher that becomes a close button, reply previews
// that are not "seen", a list worth reading, a contact form asked only when useful, and a
// widget that costs a page view almost nothing.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, hostPage, launch, widgetFrame, eventually, artifacts } from "./lib.mjs";

let rapport, host, browser;
before(async () => {
  rapport = await startRapport();
  host = await hostPage(rapport.base);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await host?.close();
  await rapport?.stop();
});

// The loader draws in a closed shadow root; this keeps a handle on it for the test to read.
const KEEP_SHADOW_ROOTS = () => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    (window.__roots ||= []).push(root);
    return root;
  };
};

async function customerPage(options = {}) {
  const context = options.context ?? await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  await context.addInitScript(KEEP_SHADOW_ROOTS);
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
  await page.goto(host.url);
  return { context, page };
}

/** The launcher and the preview bubble as the visitor sees them. */
const launcher = (page) => eventually("the launcher is drawn", () => page.evaluate(() => {
  const root = window.__roots?.[0];
  const button = root?.querySelector("button");
  if (!button) return null;
  const bubble = root.querySelector(".p");
  const x = button.querySelector("svg.x");
  return {
    label: button.getAttribute("aria-label"), expanded: button.getAttribute("aria-expanded"),
    box: button.getBoundingClientRect().toJSON(), closeIcon: +getComputedStyle(x).opacity,
    transition: getComputedStyle(x).transitionDuration,
    badge: button.querySelector("b").hidden ? null : button.querySelector("b").textContent,
    bubble: bubble.hidden ? null : { name: bubble.querySelector("strong").textContent, text: bubble.querySelector("span").textContent, box: bubble.getBoundingClientRect().toJSON() },
  };
}));

async function clickLauncher(page) {
  const { box } = await launcher(page);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

async function open(page) {
  await clickLauncher(page);
  return widgetFrame(page);
}

/** Every seen mark the page sends, by socket or by request, in order with `notes`. */
function recordSeen(page, events = []) {
  page.on("request", (r) => { if (r.url().endsWith("/seen")) events.push({ seen: JSON.parse(r.postData()).seq }); });
  page.on("websocket", (ws) => ws.on("framesent", (f) => {
    const frame = JSON.parse(f.payload);
    if (frame.type === "seen") events.push({ seen: frame.seq });
  }));
  return events;
}

async function startChat(frame, text = "Hello") {
  await frame.fill("#text", text);
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq]");
  const token = await frame.evaluate(() => localStorage.getItem("rapport.visitor"));
  const [conversation] = await asVisitor(token, "/api/v1/widget/conversations");
  return { id: conversation.id, token };
}

const asVisitor = async (token, path) => (await fetch(rapport.base + path, { headers: { "x-rapport-visitor": token } })).json();
const unseen = async (token, id) => (await asVisitor(token, "/api/v1/widget/conversations")).find((c) => c.id === id).unread;
const reply = (id, body) => rapport.api(`/api/v1/conversations/${id}/messages`, { method: "POST", json: { body } });

test("the launcher turns into a close button while the panel is open", async () => {
  const { context, page } = await customerPage();
  assert.deepEqual(Object.values(await launcher(page)).slice(0, 2), ["Open chat", "false"]);
  const frame = await open(page);
  await eventually("the launcher shows the close icon", async () => (await launcher(page)).closeIcon === 1);
  const opened = await launcher(page);
  assert.equal(opened.label, "Close chat");
  assert.equal(opened.expanded, "true");
  await clickLauncher(page);
  await eventually("the launcher closes the panel", async () => (await (await frame.frameElement()).boundingBox()) === null);
  await eventually("and shows the chat icon again", async () => (await launcher(page)).closeIcon === 0);
  assert.equal((await launcher(page)).label, "Open chat");
  await context.close();

  // Reduced motion: the icons change without animating.
  const still = await customerPage({ reducedMotion: "reduce" });
  assert.equal((await launcher(still.page)).transition, "0s");
  await still.context.close();
});

test("a reply while the panel is closed shows a preview bubble and does not mark it seen", async () => {
  const { context, page } = await customerPage();
  const events = recordSeen(page);
  const frame = await open(page);
  const { id, token } = await startChat(frame);
  await frame.waitForSelector(".msg[data-seq='2']");
  await eventually("the bot's reply is seen", async () => (await unseen(token, id)) === 0);
  await frame.press("#text", "Escape");

  await reply(id, "Your parcel left today.\nTracking follows.");
  const { bubble, badge } = await eventually("a preview shows", async () => { const l = await launcher(page); return l.bubble && l; });
  assert.deepEqual([bubble.name, bubble.text], ["Ada Agent", "Your parcel left today."], "the agent's name and the first line");
  assert.equal(badge, "1");
  assert.equal(await unseen(token, id), 1, "a preview is not seen");
  assert.ok(!events.some((e) => e.seen >= 3), `no seen mark for the reply: ${JSON.stringify(events)}`);

  // Clicking it opens the conversation, where the reply is displayed and so seen.
  events.push({ clicked: true });
  await page.mouse.click(bubble.box.x + 40, bubble.box.y + bubble.box.height / 2);
  await frame.waitForSelector("#chat:not([hidden]) .msg[data-seq='3']");
  await eventually("seen once displayed", async () => (await unseen(token, id)) === 0);
  const clicked = events.findIndex((e) => e.clicked);
  assert.ok(events.findIndex((e) => e.seen >= 3) > clicked, `seen only after opening: ${JSON.stringify(events)}`);
  assert.equal((await launcher(page)).bubble, null);

  // A preview can be dismissed with its ×, and the panel stays closed.
  await frame.press("#text", "Escape");
  await reply(id, "One more thing");
  const next = await eventually("another preview", async () => (await launcher(page)).bubble);
  await page.mouse.click(next.box.x + next.box.width - 18, next.box.y + 18);
  await eventually("the preview is gone", async () => (await launcher(page)).bubble === null);
  assert.equal((await launcher(page)).expanded, "false");
  assert.equal(await unseen(token, id), 1);
  await context.close();
});

test("the list shows previews, unread marks and times, newest first", async () => {
  const { context, page } = await customerPage();
  const frame = await open(page);
  const first = await startChat(frame, "About my invoice");
  await frame.click("#back");
  await frame.click("#new");
  await frame.fill("#text", "And a question about sizes");
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq='1']");
  await frame.click("#back");
  await frame.waitForSelector("#list:not([hidden]) .conv");

  // A reply in the older conversation, while the list is shown, brings it to the top, unread.
  await reply(first.id, "The invoice is attached now.");
  await frame.waitForSelector(`.conv.unread[data-id='${first.id}']`);
  const rows = await frame.$$eval(".conv", (els) => els.map((b) => ({
    id: +b.dataset.id, who: b.querySelector("strong").textContent, text: b.querySelector(".text").textContent,
    time: b.querySelector("time").textContent, unread: !!b.querySelector(".unread-dot"), face: !!b.querySelector(".avatar"),
  })));
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0], { id: first.id, who: "Ada Agent", text: "The invoice is attached now.", time: "now", unread: true, face: true });
  assert.equal(rows[1].unread, false, "the bot's reply there was displayed");
  assert.equal(rows[1].who, "Assistant", "the bot has one name");
  assert.match(rows[1].text, /^Hi there, thanks for getting in touch/);
  assert.equal(await frame.textContent("#new"), "New conversation");
  assert.ok(await frame.$eval("#new", (b) => b.classList.contains("primary")));
  await page.screenshot({ path: join(artifacts, "widget-design-list.png") });
  await context.close();
});

test("the contact form is not asked before the visitor writes, and once dismissed is not asked again", async () => {
  const { context, page } = await customerPage();
  let frame = await open(page);
  await frame.waitForFunction(() => document.getElementById("status-text").textContent !== "");
  assert.equal(await frame.textContent("#status-text"), "Away — we'll reply by email");
  assert.equal(await frame.isVisible("#identify"), false, "not before the visitor has written");
  await startChat(frame);
  // Nobody of the team is online: the form is useful at once, on one line.
  await frame.waitForSelector("#identify:not([hidden])");
  const middle = (selector) => frame.$eval(selector, (e) => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; });
  const [email, save] = [await middle("#identify [name=email]"), await middle("#identify [type=submit]")];
  assert.ok(Math.abs(email - save) < 2, `the email and its button share one line: ${email} ${save}`);
  await frame.click("#skip");
  await frame.waitForSelector("#identify", { state: "hidden" });
  await frame.fill("#text", "Still there?");
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq='3']");
  assert.equal(await frame.isVisible("#identify"), false, "not again in this page");

  await page.reload();
  frame = await open(page);
  await frame.waitForSelector(".msg.mine[data-seq='3']");
  await frame.click("#back");
  await frame.click("#new");
  await frame.fill("#text", "A new topic");
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq='1']");
  assert.equal(await frame.isVisible("#identify"), false, "not again for this visitor");
  await context.close();
});

test("the frame is not loaded until the visitor shows interest", async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(KEEP_SHADOW_ROOTS);
  const page = await context.newPage();
  const requests = [];
  page.on("requestfinished", async (r) => {
    const sizes = await r.sizes();
    requests.push({ url: r.url(), bytes: sizes.responseHeadersSize + sizes.responseBodySize });
  });
  await page.goto(host.url);
  const { box } = await launcher(page);
  // The browser has been idle since the page loaded: nothing more is coming by itself.
  await page.evaluate(() => new Promise((ok) => requestIdleCallback(ok)));
  await eventually("every request finished", () => requests.some((r) => r.url.endsWith("/widget.js")));
  const widget = requests.filter((r) => r.url.startsWith(rapport.base));
  assert.deepEqual(widget.map((r) => new URL(r.url).pathname), ["/widget.js"], "one request for the widget");
  const atLoad = widget.reduce((n, r) => n + r.bytes, 0);
  assert.ok(atLoad < 5120, `the host page pays ${atLoad} bytes for the widget at load`);

  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const frame = await eventually("hovering loads the panel", () => page.frames().find((f) => f.url().includes("/widget/frame")));
  await frame.waitForFunction(() => document.getElementById("status-text").textContent !== "");
  const all = requests.filter((r) => r.url.startsWith(rapport.base));
  const preloaded = all.reduce((n, r) => n + r.bytes, 0);
  t.diagnostic(`widget bytes at load: ${atLoad} (1 request); after the preload: ${preloaded} (${all.length} requests)`);
  await context.close();
});

test("five messages displayed send one seen mark", async () => {
  const { context, page } = await customerPage();
  const events = recordSeen(page);
  const frame = await open(page);
  const { id, token } = await startChat(frame);
  await frame.waitForSelector(".msg[data-seq='2']");
  await eventually("the bot's reply is seen", async () => (await unseen(token, id)) === 0);
  events.length = 0;
  for (let i = 1; i <= 5; i++) await reply(id, `Answer ${i}`);
  await frame.waitForSelector(".msg[data-seq='7']");
  await eventually("the newest is seen", async () => (await unseen(token, id)) === 0);
  assert.deepEqual(events, [{ seen: 7 }], "one mark, for the newest message displayed");
  await context.close();
});

test("the widget never scrolls sideways at 390 px", async () => {
  const { context, page } = await customerPage({ viewport: { width: 390, height: 844 } });
  const frame = await open(page);
  const { id } = await startChat(frame, "x".repeat(300));
  await reply(id, `A very long link: https://example.com/${"segment/".repeat(30)}`);
  await frame.waitForSelector(".msg[data-seq='3']");
  const sideways = async () => ({
    panel: await frame.evaluate(() => document.documentElement.scrollWidth - innerWidth),
    log: await frame.evaluate(() => document.getElementById("log").scrollWidth - document.getElementById("log").clientWidth),
    page: await page.evaluate(() => document.documentElement.scrollWidth - innerWidth),
  });
  assert.deepEqual(await sideways(), { panel: 0, log: 0, page: 0 }, "the conversation");
  await frame.click("#back");
  await frame.waitForSelector("#list:not([hidden]) .conv");
  assert.deepEqual(await sideways(), { panel: 0, log: 0, page: 0 }, "the list");
  await frame.evaluate(() => window.parent.postMessage({ type: "rapport:close" }, "*"));
  await reply(id, "A preview that is long enough to need two lines in the bubble beside the launcher");
  await eventually("a preview shows", async () => (await launcher(page)).bubble);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth - innerWidth), 0, "the preview");
  const { bubble } = await launcher(page);
  assert.ok(bubble.box.x >= 0 && bubble.box.x + bubble.box.width <= 390, JSON.stringify(bubble.box));
  await context.close();
});
