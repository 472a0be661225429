// The widget's fixes of issue 17: seen only when displayed, the admin's launcher, an honest
// badge, nothing drawn on a site that is not allowed, one seen mark, and light page views.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startRapport, hostPage, launch, widgetFrame, eventually, smtpSink } from "./lib.mjs";

let rapport, host, browser, smtp;
before(async () => {
  smtp = await smtpSink();
  process.env.RAPPORT_SMTP_URL = `smtp://127.0.0.1:${smtp.port}`;
  process.env.RAPPORT_SMTP_FROM = "support@example.com";
  // Unseen messages are emailed after 2 s rather than a minute.
  process.env.RAPPORT_NOTIFY_DELAY_SECS = "2";
  rapport = await startRapport();
  host = await hostPage(rapport.base);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await host?.close();
  await rapport?.stop();
  smtp?.close();
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

async function customerPage(context) {
  context ??= await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(KEEP_SHADOW_ROOTS);
  const page = await context.newPage();
  await page.goto(host.url);
  return { context, page };
}

/** The launcher as the visitor sees it, once drawn: its colour, box and badge. */
async function launcher(page) {
  return eventually("the launcher is drawn", () => page.evaluate(() => {
    const button = window.__roots?.[0]?.querySelector("button");
    if (!button) return null;
    const badge = button.querySelector("b");
    return { color: getComputedStyle(button).backgroundColor, box: button.getBoundingClientRect().toJSON(),
      badge: badge.hidden ? null : badge.textContent };
  }));
}

/** The panel's frame once loaded, open or not (lib's widgetFrame wants it shown). */
async function loadedFrame(page) {
  const frame = await eventually("the panel loads", () => page.frames().find((f) => f.url().includes("/widget/frame")));
  await frame.waitForSelector("#composer", { state: "attached" });
  return frame;
}

async function open(page) {
  const { box } = await launcher(page);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  return widgetFrame(page);
}

async function settings(change) {
  const current = await rapport.api("/api/v1/settings/widget");
  return rapport.api("/api/v1/settings/widget", { method: "PUT", json: { ...current, ...change } });
}

/** A conversation started in the widget: its id and the visitor's token. */
async function startChat(frame, text = "Hello") {
  await frame.fill("#text", text);
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq]");
  const token = await frame.evaluate(() => localStorage.getItem("rapport.visitor"));
  const [conversation] = await asVisitor(token, "/api/v1/widget/conversations");
  return { id: conversation.id, token };
}

async function asVisitor(token, path) {
  return (await fetch(rapport.base + path, { headers: { "x-rapport-visitor": token } })).json();
}

/** What the visitor has not seen in conversation `id`, as the server counts it. */
async function unseen(token, id) {
  return (await asVisitor(token, "/api/v1/widget/conversations")).find((c) => c.id === id).unread;
}

const reply = (id, body) => rapport.api(`/api/v1/conversations/${id}/messages`, { method: "POST", json: { body } });

test("a reply that arrives while the widget shows its list is not marked seen and is emailed, and is seen once the conversation is shown", async () => {
  const { context, page } = await customerPage();
  const frame = await open(page);
  const { id, token } = await startChat(frame);
  await frame.waitForSelector(".msg:not(.mine)[data-seq='2']"); // the auto-responder
  await eventually("the bot's reply is seen", async () => (await unseen(token, id)) === 0);
  await frame.fill("#identify [name=email]", "lena@example.com");
  await frame.click("#identify button[type=submit]");
  await frame.waitForSelector("#identify", { state: "hidden" });

  await frame.click("#back");
  await frame.waitForSelector("#list:not([hidden])");
  await reply(id, "Here is your answer");
  await frame.waitForSelector("#log .msg[data-seq='3']", { state: "attached" });
  await page.waitForTimeout(700);
  assert.equal(await unseen(token, id), 1, "shown nowhere, so not seen");
  await eventually("the unseen reply is emailed", () => smtp.mails().some((m) => m.to.includes("lena@example.com") && m.text.includes("Here is your answer")), 75);

  await frame.click("#conversations button");
  await frame.waitForSelector("#chat:not([hidden]) .msg[data-seq='3']");
  await eventually("the newest message is seen once shown", async () => (await unseen(token, id)) === 0);
  await context.close();
});

test("a reply that arrives while the panel is closed or the page is hidden is not marked seen", async () => {
  const { context, page } = await customerPage();
  const frame = await open(page);
  const { id, token } = await startChat(frame);
  await eventually("the bot's reply is seen", async () => (await unseen(token, id)) === 0);
  await frame.press("#text", "Escape");
  await reply(id, "While you were away");
  await frame.waitForSelector("#log .msg[data-seq='3']", { state: "attached" });
  await page.waitForTimeout(700);
  assert.equal(await unseen(token, id), 1, "the panel is closed");
  assert.equal((await launcher(page)).badge, "1");

  // Open again, but with the page hidden (another tab in front).
  await frame.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  });
  const { box } = await launcher(page);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForTimeout(500);
  assert.equal(await unseen(token, id), 1, "the page is hidden");
  await frame.evaluate(() => {
    delete document.hidden;
    delete document.visibilityState;
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await eventually("seen once the page is visible", async () => (await unseen(token, id)) === 0);
  await context.close();
});

test("the launcher takes the admin's colour and position", async () => {
  await settings({ color: "#d53f8c", position: "left" });
  try {
    const { context, page } = await customerPage();
    const { color, box } = await launcher(page);
    assert.equal(color, "rgb(213, 63, 140)");
    assert.ok(box.x < 100, `on the left: ${JSON.stringify(box)}`);
    const frame = await open(page);
    const panel = await (await frame.frameElement()).boundingBox();
    assert.ok(panel.x < 100, `the panel opens on the same side: ${JSON.stringify(panel)}`);
    await context.close();
  } finally {
    await settings({ color: "#2b6cb0", position: "right" });
  }
});

test("a returning visitor's badge counts only what they have not seen, and clears once it is shown", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const { page } = await customerPage(context);
  const frame = await open(page);
  const { id, token } = await startChat(frame);
  await reply(id, "First answer");
  await frame.waitForSelector(".msg[data-seq='3']");
  await eventually("all seen", async () => (await unseen(token, id)) === 0);
  await page.close();

  // Back later: nothing new, no badge.
  const { page: again } = await customerPage(context);
  await loadedFrame(again); // a returning visitor's panel loads by itself, for the badge
  await again.waitForTimeout(800);
  assert.equal((await launcher(again)).badge, null);
  await again.close();

  await reply(id, "Second answer");
  await reply(id, "Third answer");
  const { page: third } = await customerPage(context);
  await eventually("the badge shows the two new replies", async () => (await launcher(third)).badge === "2");
  const shown = await open(third);
  await shown.waitForSelector(".msg[data-seq='5']");
  await eventually("both are seen", async () => (await unseen(token, id)) === 0);
  await shown.press("#text", "Escape");
  await third.waitForTimeout(300);
  assert.equal((await launcher(third)).badge, null, "the badge is cleared");
  await context.close();
});

test("on a site that is not allowed the launcher is not drawn and the console says why", async () => {
  await settings({ allowed_origins: ["https://shop.example.com"] });
  try {
    const context = await browser.newContext();
    await context.addInitScript(KEEP_SHADOW_ROOTS);
    const page = await context.newPage();
    const warnings = [];
    page.on("console", (m) => { if (m.type() === "warning") warnings.push(m.text()); });
    await page.goto(host.url);
    await eventually("the console says why", () => warnings.some((w) => /^rapport: .*not among the widget's allowed sites/.test(w)));
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => (window.__roots || []).length), 0, "no launcher");
    assert.ok(!page.frames().some((f) => f.url().includes("/widget/frame")), "no frame");
    await context.close();
  } finally {
    await settings({ allowed_origins: [] });
  }
  // Allowed again, it draws.
  const { context, page } = await customerPage();
  await launcher(page);
  await context.close();
});

test("opening a conversation with many messages sends one seen mark", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const { page } = await customerPage(context);
  const frame = await open(page);
  const { id, token } = await startChat(frame);
  await frame.press("#text", "Escape");
  await page.close();
  for (let i = 1; i <= 5; i++) await reply(id, `Answer ${i}`);

  const { page: again } = await customerPage(context);
  const marks = [];
  again.on("request", (r) => { if (r.url().endsWith("/seen")) marks.push(JSON.parse(r.postData()).seq); });
  again.on("websocket", (ws) => ws.on("framesent", (f) => {
    const frame = JSON.parse(f.payload);
    if (frame.type === "seen") marks.push(frame.seq);
  }));
  const shown = await open(again);
  await shown.waitForSelector(".msg[data-seq='7']");
  await eventually("seen", async () => (await unseen(token, id)) === 0);
  await again.waitForTimeout(500);
  assert.deepEqual(marks, [7], "one mark, for the newest message");
  await context.close();
});

test("the panel loads only when the launcher is about to be used, and its page is revalidated, not downloaded again", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(KEEP_SHADOW_ROOTS);
  const page = await context.newPage();
  const frames = [];
  page.on("requestfinished", async (r) => {
    if (!r.url().includes("/widget/frame")) return;
    const etag = (await r.response()).headers().etag;
    frames.push({ asked: (await r.allHeaders())["if-none-match"] ?? null, etag, body: (await r.sizes()).responseBodySize });
  });
  await page.goto(host.url);
  const { box } = await launcher(page);
  await page.waitForTimeout(2000);
  assert.deepEqual(frames, [], "a new visitor's page view does not load the panel");
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await loadedFrame(page);
  await eventually("the frame was requested", () => frames.length === 1);
  assert.equal(frames[0].asked, null, "hovering the launcher preloads it");
  assert.ok(frames[0].body > 0 && frames[0].etag);

  // The next page view revalidates the panel's page by its ETag.
  await page.reload();
  const again = await launcher(page);
  await page.mouse.move(0, 0);
  await page.mouse.move(again.box.x + again.box.width / 2, again.box.y + again.box.height / 2);
  await loadedFrame(page);
  await eventually("the frame was requested again", () => frames.length === 2);
  // Chromium shows the cached copy as a 200; what went over the wire is a 304, without a body.
  assert.equal(frames[1].asked, frames[0].etag);
  assert.equal(frames[1].body, 0);
  await context.close();
});

test("a message over the limit is not cut: the widget says how long it may be and keeps the text", async () => {
  const { context, page } = await customerPage();
  const frame = await open(page);
  const long = "x".repeat(20005);
  await frame.fill("#text", long);
  await frame.click("#composer .send");
  await frame.waitForSelector("#error >> text=at most 20,000 characters, and this has 20,005");
  assert.equal((await frame.inputValue("#text")).length, 20005, "the text is kept, whole");
  await context.close();
});

test("a message sent while the server cannot be reached is marked not sent, and Retry sends it once, as the same message, its file uploaded once", async () => {
  const { context, page } = await customerPage();
  const frame = await open(page);
  const { id } = await startChat(frame);
  const posted = [];
  let uploads = 0;
  let offline = true;
  await page.route("**/api/v1/widget/attachments?*", (route) => { uploads++; return route.continue(); });
  await page.route("**/api/v1/widget/conversations/*/messages", (route) => {
    if (route.request().method() !== "POST") return route.continue();
    posted.push(route.request().postDataJSON().client_id);
    return offline ? route.abort("internetdisconnected") : route.continue();
  });
  await frame.setInputFiles("#files", { name: "receipt.txt", mimeType: "text/plain", buffer: Buffer.from("receipt 7") });
  await frame.fill("#text", "Are you still there?");
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine.pending.failed >> text=Are you still there?");
  assert.equal(await frame.textContent(".msg.failed .meta"), "Not sent · Retry");
  assert.match(await frame.textContent("#error"), /could not reach the server/);
  assert.equal(await frame.inputValue("#text"), "", "the message waits in its bubble, not twice");

  offline = false;
  await frame.click(".msg.failed .retry");
  await frame.waitForSelector(".msg.mine[data-seq]:not(.pending) >> text=Are you still there?");
  assert.equal(await frame.$$eval(".msg.pending", (n) => n.length), 0);
  assert.equal(await frame.textContent("#error"), "");
  assert.equal(posted.length, 2);
  assert.equal(posted[0], posted[1], "the retry is the same message");
  assert.equal(uploads, 1, "its file is not uploaded again");
  const stored = (await rapport.api(`/api/v1/conversations/${id}/messages`)).filter((m) => m.body === "Are you still there?");
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0].attachments.map((a) => a.filename), ["receipt.txt"]);
  await context.close();
});

test("a message the server refuses goes back to the composer with the server's reason", async () => {
  const { context, page } = await customerPage();
  const frame = await open(page);
  await startChat(frame);
  await page.route("**/api/v1/widget/conversations/*/messages", (route) => route.request().method() !== "POST" ? route.continue() : route.fulfill({
    status: 422, contentType: "application/json", body: JSON.stringify({ error: { code: "invalid_message", message: "That message cannot be sent here." } }) }));
  await frame.fill("#text", "Refused words");
  await frame.press("#text", "Enter");
  await frame.waitForSelector("#error >> text=That message cannot be sent here.");
  assert.equal(await frame.inputValue("#text"), "Refused words");
  assert.equal(await frame.$$eval(".msg.pending", (n) => n.length), 0, "no bubble is left");
  await context.close();
});
