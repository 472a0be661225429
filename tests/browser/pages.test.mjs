// Admin and Your settings are pages of the app, in real Chromium: a saved setting says "Saved"
// where the eye is and is still there after a reload; a photo uploaded in Your settings shows at
// once; every admin section has its own address and Back walks them; no page scrolls sideways
// on a phone, and the content column keeps one width from section to section.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, launch, agentPage, artifacts, shooting } from "./lib.mjs";

let rapport, browser;
before(async () => {
  rapport = await startRapport();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await rapport?.stop();
});

const PHONE = { width: 390, height: 844 };
const SECTIONS = { agents: "#admin .people", projects: "#admin .project", widget: "#widget-snippet", email: "#email-smtp",
  automations: "#admin table.rules", forms: "#admin form.forms-portal", health: "#health-status" };
// A 1×1 PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

async function open(pages, hash, viewport, colorScheme = "light") {
  const { page, context } = await agentPage(browser, rapport.base, "agent@example.com", viewport);
  await page.emulateMedia({ colorScheme });
  pages.push(page);
  page.on("dialog", (d) => d.accept());
  await page.goto(`${rapport.base}/app/${hash}`);
  return { page, context };
}

async function openSection(page, section) {
  await page.waitForFunction((s) => document.querySelector(`#admin .admin-nav a[data-section=${s}]`)?.getAttribute("aria-current") === "page", section);
  await page.waitForSelector(SECTIONS[section]);
}

/** What sticks out of the page sideways: the document's overflow, and elements past the column. */
function sideways(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [...document.querySelectorAll("#admin *, #settings-page *")]
      .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > width + 1 && !e.closest(".scroll-x"))
      .map((e) => e.outerHTML.slice(0, 80));
    return { scroll: document.documentElement.scrollWidth - width, out };
  });
}

test("a saved setting says Saved next to its button and is still there after a reload", () => shooting("pages-settings", async (pages) => {
  const { page, context } = await open(pages, "#settings");
  const form = "#settings-page #prefs";
  await page.waitForSelector(form);
  assert.equal(await page.isChecked(`${form} [name=enter_to_send]`), true, "Enter sends by default");
  await page.uncheck(`${form} [name=sound]`);
  await page.selectOption(`${form} [name=notify_customer_replies]`, "customers");
  await page.uncheck(`${form} [name=enter_to_send]`);
  await page.click(`${form} button.primary`);
  await page.waitForSelector(`${form} .actions-row .saved >> text=Saved`);
  const { preferences } = await rapport.api("/api/v1/me");
  assert.equal(preferences.sound, false);
  assert.equal(preferences.notify_customer_replies, "customers");
  assert.equal(await page.evaluate(() => localStorage.getItem("rapport.enterToSend")), "0");

  // A change after saving takes the mark away: it never says Saved about unsaved edits.
  await page.click(`${form} [name=notify_internal]`);
  assert.equal((await page.textContent(`${form} .saved`)).trim(), "");

  await page.reload();
  await page.waitForSelector(form);
  assert.equal(await page.isChecked(`${form} [name=sound]`), false);
  assert.equal(await page.inputValue(`${form} [name=notify_customer_replies]`), "customers");
  assert.equal(await page.isChecked(`${form} [name=enter_to_send]`), false);

  await page.check(`${form} [name=sound]`);
  await page.check(`${form} [name=enter_to_send]`);
  await page.selectOption(`${form} [name=notify_customer_replies]`, "both");
  await page.click(`${form} button.primary`);
  await page.waitForSelector(`${form} .saved >> text=Saved`);
  await context.close();
}));

test("a photo uploaded in Your settings shows at once and after a reload, and Remove takes it away", async (t) => {
  const { user } = await rapport.api("/api/v1/me");
  if (!("photo_url" in user)) { t.skip("this server keeps no photos (no photo_url)"); return; }
  await shooting("pages-photo", async (pages) => {
    const { page, context } = await open(pages, "#settings");
    await page.waitForSelector("#settings-page .profile");
    // Too large is refused before any upload, in a sentence.
    await page.setInputFiles("#photo-file", { name: "huge.png", mimeType: "image/png", buffer: Buffer.alloc(3 * 1024 * 1024) });
    await page.waitForSelector("#settings-page .error >> text=at most 2 MB");

    await page.setInputFiles("#photo-file", { name: "me.png", mimeType: "image/png", buffer: PNG });
    await page.waitForSelector("#settings-page .profile .avatar img");
    await page.waitForSelector("#settings-page .photo-actions .saved >> text=Saved");
    assert.equal(await page.textContent("#settings-page .error"), "", "the error went once a photo was taken");
    const stored = (await rapport.api("/api/v1/me")).user.photo_url;
    assert.ok(stored, "the server has the photo");
    assert.equal(await page.getAttribute("#settings-page .profile .avatar img", "src"), stored);
    await page.reload();
    await page.waitForSelector("#settings-page .profile .avatar img");

    await page.click("#photo-remove");
    await page.waitForSelector("#settings-page .profile .avatar img", { state: "detached" });
    assert.equal((await rapport.api("/api/v1/me")).user.photo_url, null);
    await context.close();
  });
});

test("every admin section has its own address, Back walks them, and the column keeps its width", () => shooting("pages-admin", async (pages) => {
  const { page, context } = await open(pages, "#admin/agents", { width: 1440, height: 900 });
  await openSection(page, "agents");
  const width = async () => (await page.locator("#admin-body").boundingBox()).width;
  const agentsWidth = await width();
  for (const section of ["widget", "health", "automations"]) {
    await page.click(`#admin .admin-nav a[data-section=${section}]`);
    await page.waitForFunction((s) => location.hash === `#admin/${s}`, section);
    await openSection(page, section);
    assert.equal(await width(), agentsWidth, `${section} is as wide as agents`);
  }
  await page.goBack();
  await page.waitForFunction(() => location.hash === "#admin/health");
  await openSection(page, "health");
  // Health keeps the first-run checklist while some of it is to do: a project exists, email is not set up.
  await page.waitForSelector("#admin .setup-steps li.done[data-step=project]");
  assert.equal(await page.$("#admin .setup-steps li.done[data-step=email]"), null);
  assert.equal(await page.getAttribute("#admin .setup-steps [data-step=email] a", "href"), "#admin/email");
  await page.goBack();
  await openSection(page, "widget");
  assert.equal(await page.$("dialog[open]"), null, "a page, not a dialog");

  // The widget's preview follows the colour and position before they are saved; Save says so.
  await page.fill("#admin [aria-label='Colour as hex']", "#aa3355");
  await page.waitForFunction(() => getComputedStyle(document.querySelector(".widget-preview .launcher")).backgroundColor === "rgb(170, 51, 85)");
  await page.click("#admin .pick >> text=Bottom left");
  await page.waitForSelector(".widget-preview.left");
  await page.click("#admin .admin-card:has(.widget-preview) button.primary");
  await page.waitForSelector("#admin .admin-card:has(.widget-preview) .saved >> text=Saved");
  const saved = await rapport.api("/api/v1/settings/widget");
  assert.deepEqual([saved.color, saved.position], ["#aa3355", "left"]);
  await context.close();
}));

test("admin and settings pages fit a phone: nothing scrolls sideways, in light and dark", () => shooting("pages-phone", async (pages) => {
  for (const scheme of ["light", "dark"]) {
    const { page, context } = await open(pages, "#admin/agents", PHONE, scheme);
    for (const section of Object.keys(SECTIONS)) {
      await page.goto(`${rapport.base}/app/#admin/${section}`);
      await openSection(page, section);
      assert.deepEqual(await sideways(page), { scroll: 0, out: [] }, `Admin → ${section} at 390 px (${scheme})`);
      await page.screenshot({ path: join(artifacts, `pages-admin-${section}-phone-${scheme}.png`), fullPage: true });
    }
    await page.goto(`${rapport.base}/app/#settings`);
    await page.waitForSelector("#settings-page #prefs");
    assert.deepEqual(await sideways(page), { scroll: 0, out: [] }, `Your settings at 390 px (${scheme})`);
    await page.screenshot({ path: join(artifacts, `pages-settings-phone-${scheme}.png`), fullPage: true });
    await context.close();
  }
}));

test("the sign-in page does not load the admin pages' stylesheet", () => shooting("pages-login", async (pages) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  pages.push(page);
  const loaded = [];
  page.on("request", (r) => loaded.push(new URL(r.url()).pathname));
  await page.goto(`${rapport.base}/app/`);
  await page.waitForSelector("#login:not([hidden])");
  await page.waitForLoadState("networkidle");
  assert.ok(!loaded.some((p) => p.endsWith("/admin.css")), loaded.join(", "));
  assert.equal(await page.$("link[data-admin-css]"), null);
  await context.close();
}));
