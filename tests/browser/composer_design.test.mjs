// The conversation pane's design pass (issue 17): Enter sends (Shift+Enter, the setting and touch
// screens make new lines), pictures show as thumbnails that can be removed, the emoji picker
// works by keyboard and fits a phone, the internal-note switch is only where a note can be
// written, and an item page has one close action. Screenshots at 390 and 1440 px, light and dark,
// go to artifacts/ for a person to look at.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, launch, logIn, restVisitor, eventually, artifacts } from "./lib.mjs";

let rapport, browser, carl;
before(async () => {
  rapport = await startRapport();
  browser = await launch();
  carl = await rapport.api("/api/v1/customers", { method: "POST", json: { name: "Carl Requester", email: "carl@example.com" } });
});
after(async () => {
  await browser?.close();
  await rapport?.stop();
});

const PIXEL = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
const messages = (id) => rapport.api(`/api/v1/conversations/${id}/messages?before=${Number.MAX_SAFE_INTEGER}&limit=50`);

/** A signed-in agent in a context of its own; errors in the page fail the test. */
async function agent({ viewport = { width: 1440, height: 900 }, colorScheme = "light", touch = false, enterToSend } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, hasTouch: touch, isMobile: touch });
  if (enterToSend !== undefined) await context.addInitScript((v) => localStorage.setItem("rapport.enterToSend", v), enterToSend);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await logIn(page, rapport.base, "agent@example.com");
  return { context, page, errors };
}

/** Opens a customer's conversation from Open conversations (on a phone, through the views). */
async function openConversation(page, id, text) {
  if (!(await page.isVisible("[data-view=open]"))) await page.click("#list [data-back=nav]");
  await page.click("[data-view=open]");
  await page.click(`#entries button[data-id="${id}"]`);
  await page.waitForSelector(`#thread >> text=${text}`);
}

async function shoot(page, name) {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: join(artifacts, `pane-${name}-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

test("Enter sends and Shift+Enter makes a new line", async () => {
  const id = await (await restVisitor(rapport.base)).say("Two lines, please");
  const { context, page, errors } = await agent();
  await openConversation(page, id, "Two lines, please");
  await page.click("#reply");
  await page.keyboard.type("Line one");
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("Line two");
  assert.equal(await page.inputValue("#reply"), "Line one\nLine two");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#thread .msg.mine >> text=Line two");
  assert.equal((await messages(id)).at(-1).body, "Line one\nLine two");
  assert.equal(await page.inputValue("#reply"), "", "the composer is empty after sending");
  const grown = await page.evaluate(() => document.querySelector("#reply").getBoundingClientRect().height);
  assert.ok(grown < 80, `the empty composer is short again (${grown}px)`);

  // A long draft grows the box up to 40% of the pane, then scrolls inside it.
  await page.fill("#reply", Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n"));
  const [height, pane, scrolls] = await page.evaluate(() => {
    const text = document.querySelector("#reply");
    return [text.getBoundingClientRect().height, document.querySelector("#pane").clientHeight, text.scrollHeight > text.clientHeight];
  });
  assert.ok(height > 150 && height <= pane * 0.4 + 1, `grown to ${height}px of a ${pane}px pane`);
  assert.ok(scrolls, "the rest scrolls inside the box");
  assert.deepEqual(errors.map(String), []);
  await context.close();
});

test("with Enter to send turned off, Enter makes a new line and Ctrl+Enter sends", async () => {
  const id = await (await restVisitor(rapport.base)).say("Setting off");
  const { context, page, errors } = await agent({ enterToSend: "0" });
  await openConversation(page, id, "Setting off");
  await page.click("#reply");
  await page.keyboard.type("First");
  await page.keyboard.press("Enter");
  await page.keyboard.type("Second");
  assert.equal(await page.inputValue("#reply"), "First\nSecond", "Enter made a new line");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("#thread .msg.mine >> text=Second");
  assert.deepEqual((await messages(id)).filter((m) => m.author.kind === "user").map((m) => m.body), ["First\nSecond"], "one message, with both lines");
  assert.deepEqual(errors.map(String), []);
  await context.close();
});

test("on a touch screen Enter makes a new line and Send sends", async () => {
  const id = await (await restVisitor(rapport.base)).say("From a phone");
  const { context, page, errors } = await agent({ viewport: { width: 390, height: 844 }, touch: true });
  await openConversation(page, id, "From a phone");
  await page.tap("#reply");
  await page.keyboard.type("Hi");
  await page.keyboard.press("Enter");
  await page.keyboard.type("there");
  assert.equal(await page.inputValue("#reply"), "Hi\nthere");
  await page.tap("#composer button[type=submit]");
  await page.waitForSelector("#thread .msg.mine >> text=there");
  assert.deepEqual(errors.map(String), []);
  await context.close();
});

test("an attached picture shows as a thumbnail, a file as a card with its size, and both can be removed", async () => {
  const id = await (await restVisitor(rapport.base)).say("Here is a photo of the damage");
  for (const viewport of [{ width: 1440, height: 900 }, { width: 390, height: 844 }]) {
    const { context, page, errors } = await agent({ viewport });
    await openConversation(page, id, "Here is a photo of the damage");
    await page.setInputFiles("#composer input[type=file]", [
      { name: "damage.png", mimeType: "image/png", buffer: PIXEL },
      { name: "receipt.pdf", mimeType: "application/pdf", buffer: Buffer.alloc(1258291, 1) },
    ]);
    const thumb = "#files-preview .thumb img[alt='damage.png']";
    await page.waitForSelector(thumb);
    const url = await page.getAttribute(thumb, "src");
    assert.match(url, /^blob:/, "the thumbnail is the file itself, not an upload");
    assert.ok(await page.evaluate((sel) => document.querySelector(sel).naturalWidth > 0, thumb), "the picture is drawn");
    assert.equal(await page.textContent("#files-preview .file .name"), "receipt.pdf");
    assert.equal(await page.textContent("#files-preview .file .size"), "1.2 MB");
    await page.fill("#reply", "Thanks, looking at it now");
    await shoot(page, `attachments-${viewport.width}`);
    if (viewport.width > 400) {
      await page.click("#files-preview button[aria-label='Remove damage.png']");
      await page.waitForSelector(thumb, { state: "detached" });
      assert.equal(await page.evaluate((u) => fetch(u).then(() => "kept", () => "freed"), url), "freed", "the picture's memory is freed");
      await page.click("#composer button[type=submit]");
      await page.waitForSelector("#thread >> text=Thanks, looking at it now");
      assert.deepEqual((await messages(id)).at(-1).attachments.map((a) => a.filename), ["receipt.pdf"], "only the file that stayed is sent");
      assert.equal(await page.locator("#files-preview .chip").count(), 0);
    }
    assert.deepEqual(errors.map(String), []);
    await context.close();
  }
});

test("a file dropped on the composer is attached to the open conversation's draft", async () => {
  const id = await (await restVisitor(rapport.base)).say("Dropping a file");
  const { context, page, errors } = await agent();
  await openConversation(page, id, "Dropping a file");
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(["a log"], "server.log", { type: "text/plain" }));
    const composer = document.querySelector("#composer");
    composer.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    composer.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector("#files-preview .file >> text=server.log");
  assert.equal(await page.locator("#composer.dropping").count(), 0, "the drop highlight is gone");
  assert.deepEqual(errors.map(String), []);
  await context.close();
});

test("the emoji picker inserts at the caret, is driven by the keyboard and fits a phone", async () => {
  const id = await (await restVisitor(rapport.base)).say("Thank you!");
  for (const viewport of [{ width: 1440, height: 900 }, { width: 390, height: 844 }]) {
    const { context, page, errors } = await agent({ viewport });
    await openConversation(page, id, "Thank you!");
    await page.fill("#reply", "Hello world");
    await page.evaluate(() => document.querySelector("#reply").setSelectionRange(5, 5));
    await page.focus("#composer button[aria-label='Insert emoji']");
    await page.keyboard.press("Enter");
    await page.waitForSelector(".emoji-picker:not([hidden])");
    assert.equal(await page.getAttribute("#composer button[aria-label='Insert emoji']", "aria-expanded"), "true");
    const first = await page.evaluate(() => document.activeElement.dataset.emoji);
    assert.equal(first, "😀", "the first emoji has the focus");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowDown");
    const chosen = await page.evaluate(() => document.activeElement.dataset.emoji);
    const [columns, index] = await page.evaluate(() => {
      const all = [...document.querySelectorAll(".emoji-picker .emoji")];
      const top = all[0].getBoundingClientRect().top;
      return [all.filter((b) => b.getBoundingClientRect().top === top).length, all.indexOf(document.activeElement)];
    });
    assert.equal(index, 1 + columns, "Right then Down lands on the second emoji of the next row");
    const box = await page.evaluate(() => { const r = document.querySelector(".emoji-picker").getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top }; });
    assert.ok(box.left >= 0 && box.right <= viewport.width && box.top >= 0, `the picker fits the screen (${JSON.stringify(box)})`);
    await shoot(page, `emoji-${viewport.width}`);
    await page.keyboard.press("Enter");
    await page.waitForSelector(".emoji-picker", { state: "hidden" });
    assert.equal(await page.inputValue("#reply"), `Hello${chosen} world`, "inserted where the caret was");
    assert.equal(await page.evaluate(() => document.activeElement.id), "reply", "back in the text");
    assert.equal(await page.evaluate(() => document.querySelector("#reply").selectionStart), 5 + chosen.length, "the caret is after the emoji");

    // Escape closes it and gives the focus back to its button.
    await page.focus("#composer button[aria-label='Insert emoji']");
    await page.keyboard.press("Enter");
    await page.waitForSelector(".emoji-picker:not([hidden])");
    await page.keyboard.press("Escape");
    await page.waitForSelector(".emoji-picker", { state: "hidden" });
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Insert emoji");
    assert.equal(await page.inputValue("#reply"), `Hello${chosen} world`, "Escape inserts nothing");
    assert.deepEqual(errors.map(String), []);
    await context.close();
  }
});

test("a plain conversation has no internal-note switch; a ticket's has one, and the placeholder says who reads", async () => {
  const id = await (await restVisitor(rapport.base)).say("Where is my order?");
  const { context, page, errors } = await agent();
  await openConversation(page, id, "Where is my order?");
  assert.equal(await page.locator("#composer .switch").count(), 0, "no switch where a note cannot be written");
  await page.waitForFunction(() => document.querySelector("#reply").placeholder.startsWith("Reply to Visitor"));
  await shoot(page, "conversation-1440");

  await page.click("#composer >> text=Make a ticket");
  await page.waitForSelector("#composer .switch .internal");
  await page.click("#composer .switch .internal");
  await page.waitForSelector("#composer.internal");
  assert.equal(await page.getAttribute("#reply", "placeholder"), "Internal note — customers never see this");
  assert.equal((await page.textContent("#composer button[type=submit]")).trim(), "Add note");
  await page.fill("#reply", "Checked with the warehouse: it left on Monday.");
  await shoot(page, "internal-1440");

  // An item whose requester has an email: the reply says it reaches them by email.
  const [project] = await rapport.api("/api/v1/projects");
  const item = await rapport.api("/api/v1/items", { method: "POST", json: { project_id: project.id, kind: "ticket", title: "Refund for order 1042", requester_id: carl.id, description: "Paid twice.\nCard ending 4242." } });
  await page.goto(`${rapport.base}/app/#item/${item.id}`);
  await page.waitForSelector("#item-title >> text=Refund for order 1042");
  await page.waitForFunction(() => document.querySelector("#reply")?.placeholder === "Reply to Carl Requester — they get it by email if they do not see it within a minute");
  assert.equal(await page.locator("#composer .switch").count(), 1);
  await page.click("#item-head .description-box summary");
  await page.waitForSelector("#item-head .description >> text=Card ending 4242.");
  await shoot(page, "item-description-1440");
  assert.deepEqual(errors.map(String), []);
  await context.close();
});

test("an item page has one close action, and it closes and reopens the item with its conversation", async () => {
  const visitor = await restVisitor(rapport.base);
  const id = await visitor.say("My parcel is lost");
  for (const viewport of [{ width: 1440, height: 900 }, { width: 390, height: 844 }]) {
    const { context, page, errors } = await agent({ viewport });
    await openConversation(page, id, "My parcel is lost");
    if (viewport.width > 400) {
      await page.click("#composer >> text=Make a ticket");
      await page.waitForSelector("#item-top #item-status");
    }
    await page.waitForSelector("#item-top #item-status");
    const closers = await page.$$eval("#pane button", (all) => all.filter((b) => b.checkVisibility() && /close|reopen/i.test(b.textContent)).map((b) => b.textContent.trim()));
    assert.deepEqual(closers, ["Close item"], "one close action on the item page");
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= viewport.width, `nothing sticks out sideways (${wide}px)`);
    await shoot(page, `item-${viewport.width}`);
    if (viewport.width > 400) {
      const { item_id } = await rapport.api(`/api/v1/conversations/${id}`);
      await page.click("#item-status");
      await page.waitForSelector("#item-status >> text=Reopen item");
      await shoot(page, "item-closed-1440");
      await eventually("the item and its conversation are closed", async () =>
        (await rapport.api(`/api/v1/items/${item_id}`)).status === "closed" && (await rapport.api(`/api/v1/conversations/${id}`)).status === "closed");
      await page.click("#item-status");
      await page.waitForSelector("#item-status >> text=Close item");
      await eventually("the item and its conversation are open again", async () =>
        (await rapport.api(`/api/v1/items/${item_id}`)).status === "open" && (await rapport.api(`/api/v1/conversations/${id}`)).status === "open");
    }
    assert.deepEqual(errors.map(String), []);
    await context.close();
  }
});
