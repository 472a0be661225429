// The agents' composer and what the app records (issue 17): drafts and files belong to their
// conversation, the upload limit is checked before uploading, one click posts one message,
// "seen" means displayed; and two Admin details (a refused role change, a checkbox's layout).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startRapport, launch, eventually, PASSWORD, agentPage as sharedAgentPage, restVisitor } from "./lib.mjs";

let rapport, browser;
before(async () => {
  rapport = await startRapport();
  browser = await launch();
  await rapport.api("/api/v1/users", { method: "POST", json: { email: "bea@example.com", name: "Bea Agent", role: "agent", password: PASSWORD } });
});
after(async () => {
  await browser?.close();
  await rapport?.stop();
});

const agentPage = (email = "agent@example.com", viewport) => sharedAgentPage(browser, rapport.base, email, viewport);

const visitor = () => restVisitor(rapport.base);


const messages = (id) => rapport.api(`/api/v1/conversations/${id}/messages?before=${Number.MAX_SAFE_INTEGER}&limit=50`);
const unread = async (id) => (await rapport.api(`/api/v1/conversations/${id}`)).unread;

async function open(page, id, text) {
  await page.click(`#entries button[data-id="${id}"]`);
  await page.waitForSelector(`#thread >> text=${text}`);
}

async function hide(page, hidden) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

test("a file attached in one conversation is sent only there and survives switching back", async () => {
  const a = await (await visitor()).say("Conversation Alpha");
  const b = await (await visitor()).say("Conversation Bravo");
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  await open(page, a, "Conversation Alpha");
  await page.setInputFiles("#composer input[type=file]", { name: "alpha-invoice.txt", mimeType: "text/plain", buffer: Buffer.from("for Alpha only") });
  await page.waitForSelector("#files-preview >> text=alpha-invoice.txt");
  await page.fill("#reply", "Here is your invoice, Alpha");

  await open(page, b, "Conversation Bravo");
  assert.equal(await page.locator("#files-preview .chip").count(), 0, "Bravo's composer has no file");
  assert.equal(await page.inputValue("#reply"), "", "Bravo's composer has no text");
  await page.fill("#reply", "Hello Bravo");
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#thread >> text=Hello Bravo");
  const toBravo = (await messages(b)).find((m) => m.body === "Hello Bravo");
  assert.deepEqual(toBravo.attachments, [], "nothing attached in Alpha went to Bravo");

  await open(page, a, "Conversation Alpha");
  await page.waitForSelector("#files-preview >> text=alpha-invoice.txt");
  assert.equal(await page.inputValue("#reply"), "Here is your invoice, Alpha");
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#thread >> text=Here is your invoice, Alpha");
  const toAlpha = (await messages(a)).find((m) => m.body === "Here is your invoice, Alpha");
  assert.deepEqual(toAlpha.attachments.map((f) => f.filename), ["alpha-invoice.txt"]);
  assert.equal(await page.locator("#files-preview .chip").count(), 0, "sent: the chip is gone");
  assert.equal(await page.inputValue("#reply"), "");
  await context.close();
});

test("a file over the limit is refused before upload with a sentence, and the chip can be removed", async () => {
  const id = await (await visitor()).say("Can I send you a video?");
  const { context, page } = await agentPage();
  let uploads = 0;
  page.on("request", (r) => { if (r.method() === "POST" && r.url().includes("/api/v1/attachments")) uploads++; });
  await page.click("[data-view=open]");
  await open(page, id, "Can I send you a video?");
  // 30 MB, made in the page (the server's limit is 25 MB).
  await page.evaluate(() => {
    const input = document.querySelector("#composer input[type=file]");
    const files = new DataTransfer();
    files.items.add(new File([new Uint8Array(30 * 1048576)], "holiday.mp4", { type: "video/mp4" }));
    input.files = files.files;
    input.dispatchEvent(new Event("change"));
  });
  await page.waitForSelector("#composer .error >> text=at most 25 MB");
  const error = await page.textContent("#composer .error");
  assert.match(error, /^holiday\.mp4 is too large: files may be at most 25 MB\.$/);
  assert.equal(await page.locator("#files-preview .chip").count(), 0, "the refused file is not attached");

  // A file whose upload the server refuses: the send fails, and its chip can still be removed.
  await page.route("**/api/v1/attachments?*", (route) => route.fulfill({
    status: 413, contentType: "application/json", body: JSON.stringify({ error: { code: "attachment_too_large", message: "files may be at most 26214400 bytes" } }) }));
  await page.setInputFiles("#composer input[type=file]", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("notes") });
  await page.waitForSelector("#files-preview >> text=notes.txt");
  await page.fill("#reply", "Sending the notes");
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#composer .error >> text=Files may be at most");
  assert.ok(await page.isEnabled("#composer button[type=submit]"));
  await page.click("#files-preview button[aria-label='Remove notes.txt']");
  assert.equal(await page.locator("#files-preview .chip").count(), 0);
  await page.unroute("**/api/v1/attachments?*");

  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#thread >> text=Sending the notes");
  assert.deepEqual((await messages(id)).find((m) => m.body === "Sending the notes").attachments, []);
  assert.equal(uploads, 1, "only the small file was ever uploaded");
  assert.equal(await page.textContent("#composer .error"), "");
  await context.close();
});

test("a file within the limit uploads with its progress shown and is sent", async () => {
  const id = await (await visitor()).say("Please send the manual");
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  await open(page, id, "Please send the manual");
  // Hold the upload a moment to see its progress bar.
  await page.route("**/api/v1/attachments?*", async (route) => { await new Promise((ok) => setTimeout(ok, 800)); await route.continue(); });
  await page.setInputFiles("#composer input[type=file]", { name: "manual.pdf", mimeType: "application/pdf", buffer: Buffer.alloc(200 * 1024, 1) });
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#files-preview progress[aria-label='Uploading manual.pdf']");
  await page.waitForSelector("#thread >> text=manual.pdf");
  assert.deepEqual((await messages(id)).at(-1).attachments.map((f) => f.filename), ["manual.pdf"]);
  await context.close();
});

test("double-clicking Send posts one message", async () => {
  const id = await (await visitor()).say("Are you there?");
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  await open(page, id, "Are you there?");
  // A slow server: the second click lands while the first send is under way.
  await page.route("**/api/v1/conversations/*/messages", async (route) => {
    if (route.request().method() === "POST") await new Promise((ok) => setTimeout(ok, 600));
    await route.continue();
  });
  await page.fill("#reply", "Yes, one moment");
  await page.dblclick("#composer button[type=submit]");
  assert.ok(await page.isDisabled("#composer button[type=submit]"), "Send is disabled while sending");
  await page.waitForSelector("#thread >> text=Yes, one moment");
  await page.waitForTimeout(1000);
  assert.equal((await messages(id)).filter((m) => m.body === "Yes, one moment").length, 1);
  assert.ok(await page.isEnabled("#composer button[type=submit]"));
  await context.close();
});

test("a send that failed is resent with the same client_id, and posts once", async () => {
  const id = await (await visitor()).say("Hello?");
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  await open(page, id, "Hello?");
  const clientIds = [];
  let first = true;
  await page.route("**/api/v1/conversations/*/messages", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    clientIds.push(route.request().postDataJSON().client_id);
    // The server committed it, but the answer was lost on the way back.
    if (first) { first = false; await route.fetch(); return route.abort("connectionreset"); }
    return route.continue();
  });
  await page.fill("#reply", "Answer once");
  await page.click("#composer button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#composer .error")?.textContent);
  assert.equal(await page.inputValue("#reply"), "Answer once", "the draft stays until acknowledged");
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#thread >> text=Answer once");
  await page.fill("#reply", "A new message");
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#thread >> text=A new message");
  assert.equal(clientIds.length, 3);
  assert.equal(clientIds[0], clientIds[1], "the resend is the same message");
  assert.notEqual(clientIds[1], clientIds[2], "the next message is another one");
  assert.equal((await messages(id)).filter((m) => m.body === "Answer once").length, 1);
  await context.close();
});

test("on a phone, a message that arrives while the list is shown is not marked seen", async () => {
  const customer = await visitor();
  const id = await customer.say("First, on the phone");
  const { context, page } = await agentPage("agent@example.com", { width: 390, height: 844 });
  await open(page, id, "First, on the phone");
  await eventually("the shown message is seen", async () => (await unread(id)) === 0);

  await page.click("#pane header .back");
  await page.waitForSelector("#list", { state: "visible" });
  await customer.say("Written while the list is shown");
  // It reached the app (rendered in the hidden pane), and the list shows it.
  await page.waitForSelector("#thread >> text=Written while the list is shown", { state: "attached" });
  await page.waitForSelector(`#entries button[data-id="${id}"] >> text=Written while the list is shown`);
  await page.waitForTimeout(600);
  assert.equal(await unread(id), 1, "not displayed, so not seen");

  await open(page, id, "Written while the list is shown");
  await eventually("seen once displayed", async () => (await unread(id)) === 0);
  await context.close();
});

test("a message that arrives while the page is hidden is marked seen only when it is shown again", async () => {
  const customer = await visitor();
  const id = await customer.say("Before the break");
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  await open(page, id, "Before the break");
  await eventually("the shown message is seen", async () => (await unread(id)) === 0);
  await hide(page, true);
  await customer.say("During the break");
  await page.waitForSelector("#thread >> text=During the break");
  await page.waitForTimeout(600);
  assert.equal(await unread(id), 1, "the page was hidden");
  await hide(page, false);
  await eventually("seen once the page is visible", async () => (await unread(id)) === 0);
  await context.close();
});

test("a refused role change puts the selector back", async () => {
  const { context, page } = await agentPage();
  await page.goto(`${rapport.base}/app/#admin/agents`);
  const role = page.locator("select[aria-label='Role of Ada Agent']");
  await role.waitFor();
  assert.equal(await role.inputValue(), "admin");
  // Ada is the only admin: demoting her is refused (409 last_admin).
  await role.selectOption("agent");
  await page.waitForSelector("#admin-body .error >> text=The last active admin cannot be demoted or deactivated.");
  assert.equal(await role.inputValue(), "admin");
  const ada = (await rapport.api("/api/v1/users")).find((u) => u.email === "agent@example.com");
  assert.equal(ada.role, "admin");
  await context.close();
});

test("the email-to-ticket checkbox sits beside its label", async () => {
  const { context, page } = await agentPage();
  await page.goto(`${rapport.base}/app/#admin/email`);
  const box = page.locator("input[name=inbound]");
  await box.waitFor();
  const input = await box.boundingBox();
  const text = await box.evaluate((el) => {
    const range = document.createRange();
    range.selectNodeContents(el.parentElement);
    range.setStartAfter(el);
    const r = range.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  });
  assert.ok(text.x >= input.x + input.width, `the label's text starts right of the checkbox (${JSON.stringify({ input, text })})`);
  const middle = input.y + input.height / 2;
  assert.ok(middle > text.y && middle < text.y + text.height, `the checkbox is level with its label (${JSON.stringify({ input, text })})`);
  await context.close();
});
