// The customer widget in real Chromium, embedded in a page on another origin.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startRapport, hostPage, launch, openWidget, widgetFrame, artifacts, repo } from "./lib.mjs";

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

const shots = process.env.UPDATE_SCREENSHOTS ? join(repo, "docs", "screenshots") : artifacts;

async function customerPage(viewport = { width: 1280, height: 800 }, context) {
  context ??= await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("dialog", (d) => { throw new Error(`a dialog opened: ${d.message()}`); });
  await page.goto(host.url);
  return { context, page };
}

async function lastConversation() {
  const open = await rapport.api("/api/v1/conversations?view=open");
  return open.entries[0];
}

async function messages(frame) {
  return frame.$$eval("#log .msg .bubble", (els) => els.map((e) => e.firstChild?.textContent ?? ""));
}

test("a customer chats, sees the agent's reply live, and finds the history after a reload", async () => {
  const { context, page } = await customerPage();
  const frame = await openWidget(page);
  // The greeting comes with the widget's settings, fetched as the panel starts.
  await frame.waitForFunction(() => /help/i.test(document.getElementById("greeting").textContent));
  await frame.fill("#text", "Hello, my order is late");
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq='1']");
  // The auto-responder answers at once.
  await frame.waitForSelector(".msg:not(.mine)[data-seq='2'] >> text=Thanks for getting in touch");
  const conversation = await lastConversation();
  assert.equal(conversation.channel, "chat");
  assert.equal(conversation.page_url, host.url);

  await rapport.api(`/api/v1/conversations/${conversation.id}/messages`, { method: "POST", json: { body: "Sorry! It ships today." } });
  await frame.waitForSelector(".msg:not(.mine) >> text=Sorry! It ships today.");
  assert.match(await frame.textContent(".msg[data-seq='3'] .meta"), /Ada Agent/);
  await page.screenshot({ path: join(shots, "widget-desktop.png") });

  await page.reload();
  const again = await openWidget(page);
  await again.waitForSelector(".msg:not(.mine) >> text=Sorry! It ships today.");
  const history = await messages(again);
  assert.equal(history.length, 3);
  assert.equal(history[0], "Hello, my order is late");
  assert.match(history[1], /^Hi there, thanks for getting in touch/);
  assert.equal(history[2], "Sorry! It ships today.");
  await context.close();
});

test("pasting an image and attaching a file send both, shown inline and as a download", async () => {
  const { context, page } = await customerPage();
  const frame = await openWidget(page);
  await frame.evaluate(async () => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 40, height: 30 });
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#e53e3e";
    ctx.fillRect(0, 0, 40, 30);
    const blob = await new Promise((ok) => canvas.toBlob(ok, "image/png"));
    const data = new DataTransfer();
    data.items.add(new File([blob], "screenshot.png", { type: "image/png" }));
    document.getElementById("text").dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
  });
  await frame.waitForSelector("#previews .preview img");
  await frame.setInputFiles("#files", { name: "invoice.txt", mimeType: "text/plain", buffer: Buffer.from("invoice 42") });
  assert.equal((await frame.$$("#previews .preview")).length, 2);
  await frame.fill("#text", "Here you go");
  await frame.click("#composer .send");
  await frame.waitForSelector(".msg.mine[data-seq] .bubble img[src^='blob:']");
  await frame.waitForSelector(".msg.mine[data-seq] .file >> text=invoice.txt");
  const conversation = await lastConversation();
  const [message] = await rapport.api(`/api/v1/conversations/${conversation.id}/messages`);
  assert.deepEqual(message.attachments.map((a) => [a.filename, a.content_type]).sort(),
    [["invoice.txt", "text/plain"], ["screenshot.png", "image/png"]]);
  await context.close();
});

test("a file over the size limit gets a clear message and is not sent", async () => {
  const { context, page } = await customerPage();
  const frame = await openWidget(page);
  const config = await (await fetch(`${rapport.base}/api/v1/widget/config`)).json();
  await frame.setInputFiles("#files", { name: "huge.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(config.max_upload_bytes + 1) });
  assert.match(await frame.textContent("#error"), /huge\.bin is larger than/);
  assert.equal((await frame.$$("#previews .preview")).length, 0);
  await context.close();
});

test("text that looks like HTML is shown as text", async () => {
  const { context, page } = await customerPage();
  const frame = await openWidget(page);
  await frame.fill("#text", "hi");
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq]");
  const conversation = await lastConversation();
  const evil = "<img src=x onerror=alert(1)>";
  await rapport.api(`/api/v1/conversations/${conversation.id}/messages`, { method: "POST", json: { body: evil } });
  await frame.waitForFunction((t) => [...document.querySelectorAll(".bubble")].some((b) => b.textContent === t), evil);
  assert.equal(await frame.$$eval(".bubble img[src='x']", (x) => x.length), 0);
  await context.close();
});

test("on a phone the panel fills the screen", async () => {
  const { context, page } = await customerPage({ width: 390, height: 844 });
  const frame = await openWidget(page);
  const box = await (await frame.frameElement()).boundingBox();
  assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, 390, 844]);
  await frame.fill("#text", "Typing on my phone");
  await page.screenshot({ path: join(shots, "widget-phone.png") });
  await context.close();
});

test("the panel can be enlarged and shrunk, and closed with Escape", async () => {
  const { context, page } = await customerPage();
  const frame = await openWidget(page);
  const element = await frame.frameElement();
  const small = await element.boundingBox();
  await frame.click("#size");
  await page.waitForFunction(() => true);
  await frame.waitForTimeout(100);
  const large = await element.boundingBox();
  assert.ok(large.width > small.width && large.height >= small.height, `${JSON.stringify(small)} -> ${JSON.stringify(large)}`);
  await frame.click("#size");
  await frame.waitForTimeout(100);
  assert.equal((await element.boundingBox()).width, small.width);
  await frame.press("#text", "Escape");
  await frame.waitForTimeout(100);
  assert.equal(await element.boundingBox(), null);
  await context.close();
});
