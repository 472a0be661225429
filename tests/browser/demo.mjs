// A small, believable support team with the same data every time, made through the real API:
// agents answer with their own tokens, customers write through the widget's and the portal's
// endpoints. The screenshot gallery and the layout tests both start from it.

import { createHmac } from "node:crypto";
import { deflateSync } from "node:zlib";
import { PASSWORD, fetchRetrying } from "./lib.mjs";

export const TEAM = "Fernhill Coffee";
export const COLOR = "#9a3412";

/** The agents (Ada is the admin startRapport made; she gets a full name). */
export const AGENTS = [
  { key: "ada", email: "agent@example.com", name: "Ada Moreno", role: "admin", color: [154, 52, 18] },
  { key: "ben", email: "ben@fernhill.example", name: "Ben Okafor", role: "agent", color: [21, 94, 117] },
  { key: "chloe", email: "chloe@fernhill.example", name: "Chloé Martin", role: "agent", color: [109, 40, 217] },
  { key: "dev", email: "dev@fernhill.example", name: "Dev Patel", role: "admin", color: [22, 101, 52] },
];

// ---- PNG images made in code (no binary files in the repository) ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
};

/** An RGB PNG of `width`×`height` whose pixels are `pixel(x, y) -> [r, g, b]`. */
export function png(width, height, pixel) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** An avatar: a disc of the agent's colour on a light ground. */
const avatar = ([r, g, b]) => png(96, 96, (x, y) => ((x - 47.5) ** 2 + (y - 47.5) ** 2 < 46 ** 2 ? [r, g, b] : [245, 243, 240]));

/** A "photo" of a worn grinder burr: a grey ring with teeth, on a wooden table. */
const burrPhoto = () => png(320, 220, (x, y) => {
  const [dx, dy] = [x - 160, y - 110];
  const d = Math.hypot(dx, dy);
  const teeth = Math.sin(Math.atan2(dy, dx) * 24) > 0.2;
  if (d < 28) return [40, 40, 44];
  if (d < 80 || (d < 88 && teeth)) return d > 60 && x > 180 && y < 100 ? [120, 90, 60] : [150 + (d % 7) * 4, 150 + (d % 7) * 4, 158];
  const grain = Math.sin(y / 3 + Math.sin(x / 40) * 3) * 12;
  return [150 + grain, 105 + grain, 66 + grain / 2];
});

// ---- callers ----

async function call(base, path, { method = "GET", json, body, headers = {} } = {}) {
  const res = await fetchRetrying(base + path, {
    method, headers: { ...headers, ...(json ? { "content-type": "application/json" } : {}) },
    body: json ? JSON.stringify(json) : body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** An agent's own API token (a session, then a token made with it). */
async function agentApi(base, email) {
  const login = await fetchRetrying(`${base}/api/v1/auth/login`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (!login.ok) throw new Error(`login ${email}: ${login.status}`);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const { csrf_token } = await login.json();
  const { secret } = await call(base, "/api/v1/tokens", { method: "POST", headers: { cookie, "x-csrf-token": csrf_token }, json: { name: "demo" } });
  return (path, opts = {}) => call(base, path, { ...opts, headers: { authorization: `Bearer ${secret}`, ...opts.headers } });
}

/** A customer in the widget: {customer, token, start(body), say(body, attachments), upload(name, png)}. */
async function widgetCustomer(base, who) {
  const v = await call(base, "/api/v1/widget/visitors", { method: "POST" });
  const headers = { "x-rapport-visitor": v.token };
  const me = { token: v.token, customer: v.customer, conversation: null };
  if (who) me.customer = await call(base, "/api/v1/widget/identify", { method: "POST", headers, json: who });
  me.say = async (text, attachment_ids = []) => {
    if (!me.conversation) {
      const made = await call(base, "/api/v1/widget/conversations", { method: "POST", headers,
        json: { message: { body: text, attachment_ids }, page_url: "https://shop.fernhill.example/grinders" } });
      me.conversation = made.conversation.id;
      return made;
    }
    return call(base, `/api/v1/widget/conversations/${me.conversation}/messages`, { method: "POST", headers, json: { body: text, attachment_ids } });
  };
  me.upload = (filename, data) => call(base, `/api/v1/widget/attachments?filename=${encodeURIComponent(filename)}`,
    { method: "POST", headers: { ...headers, "content-type": "image/png" }, body: data });
  return me;
}

/**
 * Seeds the demo on a started rapport (see lib.mjs `startRapport`). Returns what screens and
 * tests need: {projects, agents, customers, conversations, items, form, portal: {email, token}}.
 * Conversations are made oldest first, so the inbox lists them newest first.
 */
export async function seedDemo(rapport) {
  const { base } = rapport;
  const admin = rapport.api;
  await admin("/api/v1/settings/widget", { method: "PUT", json: {
    ...(await admin("/api/v1/settings/widget")), team_name: TEAM, color: COLOR,
    greeting: "Hi! Questions about your grinder, beans or subscription? We usually answer within minutes.",
  } });

  // The team.
  const users = await admin("/api/v1/users");
  const agents = {};
  for (const a of AGENTS) {
    let user = users.find((u) => u.email === a.email);
    if (user) user = await admin(`/api/v1/users/${user.id}`, { method: "PATCH", json: { name: a.name } });
    else user = await admin("/api/v1/users", { method: "POST", json: { email: a.email, name: a.name, role: a.role, password: PASSWORD } });
    agents[a.key] = { ...a, id: user.id };
  }

  // Projects: the first admin's one, renamed, and two more.
  const existing = await admin("/api/v1/projects");
  const support = existing[0]
    ? await admin(`/api/v1/projects/${existing[0].id}`, { method: "PATCH", json: { name: "Support" } }).catch(() => existing[0])
    : await admin("/api/v1/projects", { method: "POST", json: { name: "Support" } });
  const billing = await admin("/api/v1/projects", { method: "POST", json: { name: "Orders & billing" } });
  const repairs = await admin("/api/v1/projects", { method: "POST", json: { name: "Repairs" } });
  const projects = { support, billing, repairs };
  const membership = { support: ["ada", "ben", "chloe", "dev"], billing: ["ada", "dev", "chloe"], repairs: ["ada", "ben", "dev"] };
  for (const [project, keys] of Object.entries(membership)) {
    for (const k of keys) await admin(`/api/v1/projects/${projects[project].id}/members/${agents[k].id}`, { method: "PUT" });
  }
  for (const a of Object.values(agents)) a.api = await agentApi(base, a.email);

  // Photos, once the server takes them.
  const me = await agents.ada.api("/api/v1/me");
  if ("photo_url" in me || "photo_url" in (me.user ?? {})) {
    for (const a of Object.values(agents)) await a.api("/api/v1/me/photo", { method: "PUT", headers: { "content-type": "image/png" }, body: avatar(a.color) });
  }

  const reply = (agent, c, body) => agents[agent].api(`/api/v1/conversations/${c}/messages`, { method: "POST", json: { body } });
  const customers = {};
  const conversations = {};
  const items = {};

  // 1. Priya changed her address: answered and closed.
  const priya = await widgetCustomer(base, { name: "Priya Raman", email: "priya.raman@example.com" });
  await priya.say("Hello! I moved last week. Can you send my next bag of beans to 14 Elm Road, Leeds LS6 2AB?");
  await reply("chloe", priya.conversation, "Hi Priya, done: your next delivery (Friday) goes to 14 Elm Road. Enjoy the new place!");
  await priya.say("Perfect, thank you so much!");
  await admin(`/api/v1/conversations/${priya.conversation}/close`, { method: "POST" });
  customers.priya = priya.customer; conversations.closed = priya.conversation;

  // 2. Fatima asks about wholesale: answered by Dev.
  const fatima = await widgetCustomer(base, { name: "Fatima El-Amin", email: "fatima@corner-cafe.example" });
  await fatima.say("We run a small café in Bristol and would like to buy your Ethiopia Guji in 5 kg bags. Do you do wholesale?");
  await reply("dev", fatima.conversation, "We do! Wholesale starts at 5 kg per order with 20% off the shop price. I'll email you our price list today.");
  customers.fatima = fatima.customer; conversations.wholesale = fatima.conversation;

  // 3. Liam's parcel is late.
  const liam = await widgetCustomer(base, { name: "Liam O'Connor", email: "liam.oconnor@example.com" });
  await liam.say("My order #10482 was due on Tuesday and the tracking hasn't moved since Monday.");
  await reply("ben", liam.conversation, "Sorry about that, Liam. The courier says it's at their Manchester depot; I've asked them to prioritise it.");
  await liam.say("Thanks. If it doesn't come by Friday can you send another one?");
  customers.liam = liam.customer; conversations.late = liam.conversation;

  // 4. Jonas wants a pause.
  const jonas = await widgetCustomer(base, { name: "Jonas Becker", email: "jonas.becker@example.com" });
  await jonas.say("Can I pause my subscription for August? We'll be away the whole month.");
  await reply("chloe", jonas.conversation, "Of course! In your account go to Subscription → Skip a delivery, or tell me and I'll skip August for you.");
  await jonas.say("Please skip it for me, thanks!");
  customers.jonas = jonas.customer; conversations.pause = jonas.conversation;

  // 5. Tomás was charged twice: a high-priority ticket, with an internal discussion.
  const tomas = await widgetCustomer(base, { name: "Tomás Herrera", email: "tomas.herrera@example.com" });
  await tomas.say("Hi, I was charged twice for my June subscription (2 × £18.50). Can you refund one of them?");
  const ticketed = await admin(`/api/v1/conversations/${tomas.conversation}/ticket`, { method: "POST", json: { project_id: billing.id, title: "Charged twice for the June subscription" } });
  await admin(`/api/v1/items/${ticketed.item.id}`, { method: "PATCH", json: { priority: "high", assignee_id: agents.dev.id } });
  await reply("ada", tomas.conversation, "Hi Tomás, I can see both payments. I've passed this to our billing team and you'll have the refund within 3 working days.");
  const internal = await agents.ada.api("/api/v1/conversations", { method: "POST", json: {
    kind: "internal", item_id: ticketed.item.id,
    message: { body: "Dev, the payment provider retried after a timeout on 1 June. Is this the same bug as last month?" } } });
  await agents.dev.api(`/api/v1/conversations/${internal.conversation.id}/messages`, { method: "POST", json: { body: "Looks like it. I'll refund him now and add this to the retry bug task." } });
  await agents.ada.api(`/api/v1/conversations/${internal.conversation.id}/messages`, { method: "POST", json: { body: "Thanks! I told him 3 working days." } });
  customers.tomas = tomas.customer; conversations.billing = tomas.conversation; conversations.internal = internal.conversation.id;
  items.doubleCharge = ticketed.item;

  // 6. An anonymous visitor asks about shipping.
  const anon = await widgetCustomer(base, null);
  await anon.say("Do you ship to Norway?");
  await reply("ben", anon.conversation, "We do: 3–5 working days, £6.90 shipping. Customs fees are included.");
  customers.visitor = anon.customer; conversations.anonymous = anon.conversation;

  // 7. Aiko waits for an answer.
  const aiko = await widgetCustomer(base, { name: "Aiko Tanaka", email: "aiko.tanaka@example.com" });
  await aiko.say("How often should I descale the Fernhill One? The manual says monthly but our water is very soft.");
  await aiko.say("We're in Glasgow, if that helps.");
  customers.aiko = aiko.customer; conversations.unanswered = aiko.conversation;

  // 8. Maya's grinder is noisy: a photo, a ticket in Repairs, a conversation with several replies.
  const maya = await widgetCustomer(base, { name: "Maya Lindqvist", email: "maya.lindqvist@example.com" });
  await maya.say("Hi! My Fernhill Burr Grinder has started making a grinding, squeaky noise since last week.");
  await reply("ben", maya.conversation, "Hi Maya, sorry to hear that! Could you send a photo of the lower burr? Unplug it first, then lift the hopper out.");
  const photo = await maya.upload("burr.png", burrPhoto());
  await maya.say("Here it is. There's a brown patch on one side.", [photo.id]);
  await reply("ben", maya.conversation, "Thanks, that helps. The burr is worn unevenly: it's under warranty, so we'll send you a new one for free.");
  await maya.say("Brilliant, thank you! Do I need to send the old one back?");
  const repair = await admin(`/api/v1/conversations/${maya.conversation}/ticket`, { method: "POST", json: { project_id: repairs.id, title: "Replace worn lower burr (warranty)" } });
  await admin(`/api/v1/items/${repair.item.id}`, { method: "PATCH", json: { priority: "normal", assignee_id: agents.ben.id } });
  customers.maya = maya.customer; conversations.photo = maya.conversation; items.burr = repair.item;

  // Customers without a conversation, and tickets and tasks.
  const noah = await admin("/api/v1/customers", { method: "POST", json: { name: "Noah Williams", email: "noah.williams@example.com" } });
  customers.noah = noah;
  items.gift = await admin("/api/v1/items", { method: "POST", json: { project_id: billing.id, kind: "ticket", title: "Gift card code not accepted at checkout",
    description: "Noah's code FH-GIFT-2231 says 'expired' but it was bought in May.", priority: "normal", requester_id: noah.id, assignee_id: agents.chloe.id } });
  items.guide = await admin("/api/v1/items", { method: "POST", json: { project_id: support.id, kind: "task", title: "Update the descaling guide for soft water",
    description: "Several customers in Scotland ask; add a table by water hardness.", priority: "low", assignee_id: agents.chloe.id } });
  items.restock = await admin("/api/v1/items", { method: "POST", json: { project_id: repairs.id, kind: "task", title: "Restock replacement burrs",
    description: "Down to 4 lower burrs; order 50 from the supplier.", priority: "urgent", assignee_id: agents.ben.id } });
  items.retry = await admin("/api/v1/items", { method: "POST", json: { project_id: billing.id, kind: "task", title: "Stop the payment provider's retries from double charging",
    priority: "high", assignee_id: agents.dev.id } });
  items.done = await admin("/api/v1/items", { method: "POST", json: { project_id: support.id, kind: "task", title: "Add the Norway shipping rates to the FAQ", priority: "normal", assignee_id: agents.ben.id } });
  await admin(`/api/v1/items/${items.done.id}/status`, { method: "POST", json: { status: "closed" } });

  // A web form, and the portal, where Sofia opened a warranty ticket.
  const form = await admin("/api/v1/forms", { method: "POST", json: {
    name: "Contact Fernhill", project_id: support.id, item_kind: "ticket",
    intro: "Tell us what you need and we'll answer by email, usually the same day.",
    thank_you: "Thanks! Your message is with our team.",
    fields: [
      { label: "Topic", kind: "choice", required: true, options: ["My order", "My grinder or machine", "Subscription", "Something else"] },
      { label: "Order number", kind: "text", required: false },
    ] } });
  await admin("/api/v1/settings/portal", { method: "PUT", json: { project_id: support.id, enabled: true } });
  // Sofia is signed in on the shop, which vouches for her address (a signed identity): the
  // portal takes her as she is, without an emailed link.
  const { identity_secret } = await admin("/api/v1/settings/widget");
  const site = { id: "shop-1187", email: "sofia.rossi@example.com", name: "Sofia Rossi", expires: Math.floor(Date.now() / 1000) + 7 * 24 * 3600 };
  const signature = createHmac("sha256", identity_secret).update(`${site.id}\n${site.email}\n${site.name}\n${site.expires}`).digest("hex");
  const sofia = await widgetCustomer(base, { user: { ...site, signature } });
  customers.sofia = sofia.customer;
  const portalHeaders = { "x-rapport-visitor": sofia.token };
  const warranty = await call(base, "/api/v1/portal/tickets", { method: "POST", headers: portalHeaders, json: {
    title: "Milk frother stopped heating", description: "My Fernhill frother (bought in March) whisks but no longer heats the milk. Is it covered by the warranty?" } });
  items.warranty = warranty.item ?? warranty;
  const sofiaTicket = await call(base, `/api/v1/portal/tickets/${items.warranty.id}`, { headers: portalHeaders });
  const sofiaConversation = await call(base, `/api/v1/portal/tickets/${items.warranty.id}/messages`, { method: "POST", headers: portalHeaders,
    json: { body: "I've tried another socket and descaled it, same result." } });
  const publicId = sofiaConversation.conversation?.id ?? sofiaTicket.conversation?.id;
  if (publicId) await reply("chloe", publicId, "Hi Sofia, yes: the frother has a two-year warranty. We'll send a prepaid label so you can return it for a replacement.");
  conversations.portal = publicId;

  return { projects, agents, customers, conversations, items, form, visitors: { maya: maya.token, visitor: anon.token },
    portal: { email: "sofia.rossi@example.com", token: sofia.token } };
}
