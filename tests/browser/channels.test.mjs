// The web form channel end to end in real Chromium: an admin makes a form in Admin → Forms, a
// customer fills it in where another site embeds it, the ticket waits live in Unanswered items,
// an agent answers, and the customer reads the answer in the portal (signed in by an emailed
// one-time link) and in the widget (as the same, signed, person). Bots are refused: the honeypot
// and a submission faster than a person can type.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { startRapport, launch, openWidget, artifacts, PASSWORD, smtpSink, eventually, shooting, logIn } from "./lib.mjs";

let rapport, browser, smtp, site, project, form;
before(async () => {
  smtp = await smtpSink();
  process.env.RAPPORT_SMTP_URL = `smtp://127.0.0.1:${smtp.port}`;
  process.env.RAPPORT_SMTP_FROM = "support@example.com";
  rapport = await startRapport();
  site = await customerSite(rapport.base);
  browser = await launch();
  project = await rapport.api("/api/v1/projects", { method: "POST", json: { name: "Acme support" } });
});
after(async () => {
  await browser?.close();
  await site?.close();
  await rapport?.stop();
  smtp?.close();
});

/** The customer's site on another origin: /contact embeds the form by its snippet, /account
 * has the widget and tells it who is signed in (the identity signed as the site's server would). */
async function customerSite(rapportBase) {
  const pages = { contact: "", account: "" };
  const server = createHttpServer((req, res) => {
    const body = pages[req.url.slice(1)];
    if (body === undefined) { res.statusCode = 404; res.end(); return; }
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
      <title>Acme shop</title></head>
      <body style="font-family:sans-serif;margin:40px"><h1>Acme shop</h1>${body}<footer><p>Acme Ltd.</p></footer></body></html>`);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    setSnippet(snippet) { pages.contact = `<h2>Contact us</h2>${snippet}`; },
    setUser(user) {
      pages.account = `<p>Your account</p><script>window.rapportSettings = ${JSON.stringify({ user }).replace(/</g, "\\u003c")};</script>
        <script src="${rapportBase}/widget.js" async></script>`;
    },
    close: () => new Promise((ok) => server.close(ok)),
  };
}

/** hex(HMAC-SHA256(secret, id \n email \n name \n expires)), as the identity docs say. */
function signedIdentity(secret, { id, email, name }) {
  const expires = Math.floor(Date.now() / 1000) + 3600;
  const signature = createHmac("sha256", secret).update(`${id}\n${email}\n${name}\n${expires}`).digest("hex");
  return { id, email, name, expires, signature };
}


async function newPage(pages, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  pages.push(page);
  page.on("pageerror", (e) => { throw e; });
  return { context, page };
}

/** The embedded form's frame on the customer's contact page, once the form is drawn. */
async function formFrame(page) {
  await page.goto(`${site.url}/contact`);
  const frame = await eventually("the form's iframe loads", () => page.frames().find((f) => f.url().includes("/forms/")), 100);
  await frame.waitForSelector("#rapport-form:not([hidden])");
  return frame;
}

/** Fills in the built-in fields and the extra choice field. */
async function fillIn(frame, { name, email, subject, message, topic }) {
  await frame.fill("#rapport-form [name=name]", name);
  await frame.fill("#rapport-form [name=email]", email);
  await frame.fill("#rapport-form [name=subject]", subject);
  await frame.fill("#rapport-form [name=message]", message);
  await frame.selectOption('#rapport-form [data-field-index="0"]', topic);
}

/** Submits and returns the API's answer to the submission. */
async function submit(frame, page) {
  const answer = page.waitForResponse((r) => r.url().includes("/submissions") && r.request().method() === "POST");
  await frame.click("#rapport-form button[type=submit]");
  const res = await answer;
  return { status: res.status(), body: await res.json() };
}

const items = async () => (await rapport.api("/api/v1/items?view=all&limit=100")).entries;

test("an admin makes a form in Admin → Forms; the portal box saves its settings", () => shooting("channels-admin", async (pages) => {
  const { context, page } = await newPage(pages, { width: 1400, height: 900 });
  page.on("dialog", (d) => d.accept());
  await logIn(page, rapport.base, "agent@example.com");
  await page.goto(`${rapport.base}/app/#admin/forms`);
  await page.waitForSelector("#admin >> text=New form");

  await page.click("#admin >> text=New form");
  const editor = "#admin form.forms-editor";
  await page.fill(`${editor} [name=name]`, "Contact Acme");
  await page.selectOption(`${editor} select[name=project_id]`, String(project.id));
  await page.fill(`${editor} [name=intro]`, "Tell us what went wrong and we will answer by email.");
  await page.fill(`${editor} [name=thank_you]`, "Thanks! Your request is with our team.");
  await page.click(`${editor} >> text=Add field`);
  await page.fill(`${editor} [aria-label="Label of field 1"]`, "Topic");
  await page.selectOption(`${editor} [aria-label="Kind of field 1"]`, "choice");
  await page.fill(`${editor} [aria-label="Choices of field 1"]`, "Billing\nDelivery\nSomething else");
  await page.check(`${editor} .forms-field [name=required]`);
  await page.click(`${editor} button.primary`);
  // Saved: the editor now shows where the form lives and the snippet to paste.
  await page.waitForSelector(`${editor} .forms-share textarea.forms-snippet`);
  const snippet = await page.inputValue(`${editor} .forms-snippet`);
  const link = await page.getAttribute(`${editor} a.forms-url`, "href");

  [form] = await rapport.api("/api/v1/forms");
  assert.equal(form.name, "Contact Acme");
  assert.equal(form.project_id, project.id);
  assert.equal(form.item_kind, "ticket");
  assert.equal(form.enabled, true);
  assert.deepEqual(form.fields, [{ label: "Topic", kind: "choice", required: true, options: ["Billing", "Delivery", "Something else"] }]);
  assert.equal(snippet, form.snippet);
  assert.equal(link, form.url);
  assert.match(snippet, new RegExp(`^<script async src="${rapport.base}/forms/embed\\.js" data-rapport-form="${form.key}"></script>$`));
  site.setSnippet(snippet);

  // The list shows it with its project and link.
  await page.click(`${editor} >> text=Back to the forms`);
  const row = `#admin tr[data-form-id="${form.id}"]`;
  await page.waitForSelector(row);
  assert.match(await page.textContent(row), /Contact Acme.*Acme support/);
  assert.equal(await page.isChecked(`${row} [aria-label="Enabled: Contact Acme"]`), true);

  // The portal box: on, and new portal tickets go to the project.
  await page.selectOption("#admin form.forms-portal select[name=project]", String(project.id));
  await page.check("#admin form.forms-portal [name=enabled]");
  await page.click("#admin form.forms-portal button.primary");
  await page.waitForSelector("#admin form.forms-portal .saved >> text=Saved");
  assert.deepEqual(await rapport.api("/api/v1/settings/portal"), { project_id: project.id, enabled: true });
  assert.match(await page.getAttribute("#admin form.forms-portal a", "href"), /\/portal\/$/);
  await page.screenshot({ path: join(artifacts, "admin-forms.png") });
  await context.close();
}));

test("a bot that fills the honeypot, or sends before a person could, is refused with a clear message", () => shooting("channels-spam", async (pages) => {
  assert.ok(form, "the first test made a form");
  const { context, page } = await newPage(pages);
  const before = (await items()).length;
  const person = { name: "Rob Bot", email: "rob@example.com", subject: "Cheap watches", message: "Buy now", topic: "Billing" };

  // The honeypot is out of sight and out of reach, but present for bots.
  let frame = await formFrame(page);
  const trap = await frame.$eval("#rapport-form [name=website]", (el) => {
    const box = el.getBoundingClientRect();
    const hidden = el.closest("[aria-hidden=true]");
    return { right: box.right, tabIndex: el.tabIndex, autocomplete: el.getAttribute("autocomplete"), hidden: !!hidden, display: getComputedStyle(el).display };
  });
  assert.ok(trap.right <= 0 && trap.tabIndex === -1 && trap.autocomplete === "off" && trap.hidden && trap.display !== "none", JSON.stringify(trap));
  await fillIn(frame, person);
  await frame.evaluate(() => { document.querySelector("#rapport-form [name=website]").value = "http://spam.example"; });
  await page.waitForTimeout(3300); // not too fast: only the honeypot gives it away
  let answer = await submit(frame, page);
  assert.equal(answer.status, 422);
  assert.equal(answer.body.error.code, "spam_detected");
  await frame.waitForFunction((t) => document.getElementById("form-error").textContent === t, answer.body.error.message);
  assert.equal(await frame.getAttribute("#form-error", "role"), "alert");
  assert.equal(await frame.inputValue("#rapport-form [name=subject]"), person.subject, "what was typed is kept");
  assert.equal(await frame.isVisible("#form-done"), false);

  // Sent within three seconds of the page loading.
  frame = await formFrame(page);
  await fillIn(frame, person);
  answer = await submit(frame, page);
  assert.equal(answer.status, 422);
  assert.equal(answer.body.error.code, "submitted_too_fast");
  await frame.waitForFunction((t) => document.getElementById("form-error").textContent === t, answer.body.error.message);
  assert.equal(await frame.inputValue("#rapport-form [name=message]"), person.message, "what was typed is kept");

  await page.waitForTimeout(300);
  assert.equal((await items()).length, before, "no item was made");
  await context.close();
}));

test("a customer's form submission waits live in Unanswered items, is answered, and the answer reaches the portal and the widget", () => shooting("channels-flow", async (pages) => {
  assert.ok(form, "the first test made a form");
  // Without the ticket auto-reply the ticket waits for a person.
  const autoReply = (await rapport.api("/api/v1/rules")).find((r) => r.template === "ticket_auto_reply");
  assert.ok(autoReply?.enabled, "the default ticket auto-reply exists and is on");
  const { name, trigger, conditions, actions } = autoReply;
  await rapport.api(`/api/v1/rules/${autoReply.id}`, { method: "PUT", json: { name, enabled: false, trigger, conditions, actions } });

  // The agent watches Unanswered items.
  const agent = await newPage(pages, { width: 1400, height: 900 });
  await agent.page.goto(`${rapport.base}/app/`);
  await agent.page.fill("#login [name=email]", "agent@example.com");
  await agent.page.fill("#login [name=password]", PASSWORD);
  await agent.page.click("#login button");
  await agent.page.waitForSelector("#app:not([hidden]) #entries");
  await agent.page.click('[data-view="unanswered"]');
  await agent.page.waitForSelector('[data-view="unanswered"][aria-current="page"]');
  await agent.page.evaluate(() => { window.notReloaded = true; });

  // The customer fills in the form on the customer's site.
  const stamp = Date.now().toString(36);
  const email = `carla-${stamp}@example.com`;
  const subject = `My parcel never came ${stamp}`;
  const customer = await newPage(pages, { width: 390, height: 844 });
  const frame = await formFrame(customer.page);
  assert.equal(await frame.textContent("#form-title"), "Contact Acme");
  assert.match(await frame.textContent("#intro"), /Tell us what went wrong/);
  // The iframe takes the form's height: no scrolling inside it.
  const iframe = await frame.frameElement();
  await eventually("the iframe fits the form", async () => {
    const inner = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
    return Math.abs((await iframe.boundingBox()).height - inner) <= 1 && inner > 300;
  }, 75);
  await fillIn(frame, { name: "Carla Customer", email, subject, message: "Ordered two weeks ago, still nothing.", topic: "Delivery" });
  await customer.page.waitForTimeout(3100);
  const answer = await submit(frame, customer.page);
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  await frame.waitForSelector("#form-done:not([hidden]) >> text=Thanks! Your request is with our team.");
  await customer.page.screenshot({ path: join(artifacts, "form-embedded-sent-phone.png"), fullPage: true });
  assert.equal(await frame.isVisible("#rapport-form"), false);

  const item = (await items()).find((i) => i.title === subject);
  assert.ok(item, "the submission made an item");
  assert.equal(item.channel, "form");
  assert.equal(item.kind, "ticket");
  assert.equal(item.project_id, project.id);
  assert.match(item.description, /Ordered two weeks ago, still nothing\./);
  assert.match(item.description, /Topic: Delivery/);
  assert.deepEqual(await rapport.api(`/api/v1/items/${item.id}/conversations`), [], "no auto-reply: nobody has answered");

  // It arrives live in the agent's Unanswered items, without a reload.
  const entry = `#entries li:has-text("${subject}")`;
  await agent.page.waitForSelector(entry);
  assert.equal(await agent.page.evaluate(() => window.notReloaded), true, "the list updated without a reload");
  await agent.page.click(entry);
  await agent.page.waitForSelector(`#pane >> text=${subject}`);
  const replyText = `We are sorry, Carla: a new parcel leaves today (${stamp}).`;
  await agent.page.click("#pane >> text=Reply to customer");
  await agent.page.fill("#reply", replyText);
  await agent.page.click("#pane button:has-text('Send')");
  // Answered: it leaves Unanswered items and its conversation is in Open conversations.
  await agent.page.waitForSelector(entry, { state: "detached" });
  await agent.page.click('[data-view="open"]');
  await agent.page.waitForSelector(`#entries li:has-text("${subject}")`);
  const [conversation] = (await rapport.api(`/api/v1/items/${item.id}/conversations`)).filter((c) => c.kind === "public");
  assert.ok(conversation, "the reply started the public conversation");
  await customer.context.close();

  // The customer signs in to the portal with a link emailed to them, and finds the answer.
  const portal = await newPage(pages, { width: 1280, height: 860 });
  await portal.page.goto(`${rapport.base}/portal/`);
  await portal.page.fill("#signin [name=email]", email);
  await portal.page.click("#send-link");
  const mail = await eventually("the sign-in link is emailed", () =>
    smtp.mails().find((m) => m.to.includes(email) && /#link=/.test(m.text)), 75);
  const link = /https?:\/\/[^\s"'<>]+\/portal\/#link=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  assert.ok(link?.startsWith(`${rapport.base}/portal/`), mail.text);
  await portal.page.goto(link);
  const ticket = `#tickets li[data-ticket-id="${item.id}"]`;
  await portal.page.waitForSelector(ticket);
  assert.match(await portal.page.textContent(ticket), new RegExp(subject));
  await portal.page.click(`${ticket} >> nth=0`);
  await portal.page.waitForSelector(`#messages .msg >> text=${replyText}`);
  await portal.context.close();

  // The same person on the site's account page, known to the widget by a signed identity.
  const { identity_secret } = await rapport.api("/api/v1/settings/widget");
  site.setUser(signedIdentity(identity_secret, { id: `acme-${stamp}`, email, name: "Carla Customer" }));
  const widget = await newPage(pages, { width: 1280, height: 860 });
  await widget.page.goto(`${site.url}/account`);
  const panel = await openWidget(widget.page);
  // The widget knows the signed person as soon as the panel opens: it shows their latest
  // conversation, the ticket's, with the answer; what they write there joins the same ticket.
  await panel.waitForSelector(`.msg:not(.mine) >> text=${replyText}`);
  await panel.fill("#text", "Thank you! Can I follow the parcel somewhere?");
  await panel.press("#text", "Enter");
  await panel.waitForSelector(".msg.mine[data-seq]");
  const messages = await rapport.api(`/api/v1/conversations/${conversation.id}/messages`);
  assert.equal(messages.at(-1).body, "Thank you! Can I follow the parcel somewhere?", "the widget wrote into the ticket's conversation");
  assert.equal(messages.at(-1).author.id, item.requester_id, "as the form's customer");
  await widget.context.close();
  await agent.context.close();
}));
