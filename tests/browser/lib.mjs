// Shared by the browser tests: the real rapport binary on a temporary data dir, a host page on
// another origin that embeds the snippet, and Debian's Chromium driven by playwright-core.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTcpServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, "..", "..");
const binary = process.env.RAPPORT_BIN || join(process.env.CARGO_TARGET_DIR || join(repo, "target"), "debug", "rapport");
export const PASSWORD = "browser test password";
export const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });

export async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** Starts rapport with an admin; returns {base, token, api(path, opts), stop()}. */
export async function startRapport() {
  const dir = mkdtempSync(join(tmpdir(), "rapport-browser-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dir], {
    env: { ...process.env, RAPPORT_LOG: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch {}
    if (i > 200) throw new Error("rapport did not start");
    await new Promise((ok) => setTimeout(ok, 50));
  }
  const made = spawnSync(binary, ["admin", "create", "--data-dir", dir, "--email", "agent@example.com", "--name", "Ada Agent", "--password-stdin"], { input: PASSWORD + "\n" });
  if (made.status !== 0) throw new Error(`admin create failed: ${made.stderr}`);
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "agent@example.com", password: PASSWORD }),
  });
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const { csrf_token } = await login.json();
  const made2 = await fetch(`${base}/api/v1/tokens`, {
    method: "POST", headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf_token },
    body: JSON.stringify({ name: "browser tests" }),
  });
  const { secret: token } = await made2.json();
  async function api(path, { method = "GET", json } = {}) {
    const res = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${token}`, ...(json ? { "content-type": "application/json" } : {}) },
      body: json ? JSON.stringify(json) : undefined,
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }
  return {
    base, token, api, dir,
    stop: () => new Promise((ok) => { proc.once("exit", ok); proc.kill("SIGTERM"); }),
  };
}

/** A page on another origin (another port) that embeds the snippet. */
export async function hostPage(rapportBase, extraHead = "") {
  const port = await freePort();
  const server = createServer((req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
      <title>Acme shop</title>${extraHead}</head>
      <body style="font-family:sans-serif;margin:40px"><h1>Acme shop</h1><p>Welcome to our store.</p>
      <script src="${rapportBase}/widget.js" async></script></body></html>`);
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/** The widget's iframe, once it has loaded. */
export async function widgetFrame(page) {
  // The iframe lives in a closed shadow root, out of selectors' reach: find it among frames.
  for (let i = 0; i < 200; i++) {
    const frame = page.frames().find((f) => f.url().includes("/widget/frame"));
    if (frame) { await frame.waitForSelector("#composer"); return frame; }
    await page.waitForTimeout(50);
  }
  throw new Error("the widget's frame never loaded");
}

/** Clicks the launcher (inside a closed shadow root, so by position). */
export async function openWidget(page) {
  await page.waitForFunction(() => document.body.lastElementChild?.shadowRoot !== undefined);
  const size = page.viewportSize();
  await page.mouse.click(size.width - 48, size.height - 48);
  return widgetFrame(page);
}

/** A real SMTP server (aiosmtpd, as the API tests use) delivering into a Maildir; `mails()`
 * reads what arrived as {to, data, text}, `text` being every part decoded. */
export async function smtpSink() {
  const probe = createTcpServer();
  await new Promise((ok) => probe.listen(0, "127.0.0.1", ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  const maildir = join(mkdtempSync(join(tmpdir(), "rapport-mail-")), "mail");
  const proc = spawn(process.env.RAPPORT_TEST_PYTHON || "python3", ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "aiosmtpd.handlers.Mailbox", maildir], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    const up = await new Promise((ok) => connect(port, "127.0.0.1").on("connect", function () { this.destroy(); ok(true); }).on("error", () => ok(false)));
    if (up) break;
    if (i > 300) throw new Error("aiosmtpd did not start (tests/run.sh installs it in tests/.venv)");
    await new Promise((ok) => setTimeout(ok, 50));
  }
  const mails = () => (existsSync(join(maildir, "new")) ? readdirSync(join(maildir, "new")) : []).map((f) => {
    const data = readFileSync(join(maildir, "new", f), "utf8");
    return { to: /^To: (.*)$/m.exec(data)?.[1] ?? "", data, text: decodeMail(data) };
  });
  return { port, mails, close: () => proc.kill() };
}

const quotedPrintable = (s) => Buffer.from(
  s.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16))), "latin1",
).toString("utf8");

/** Each MIME part's body, decoded, then the raw message (whose quoted-printable would turn
 * "=" into "=3D"). */
export function decodeMail(raw) {
  let parts = [raw];
  for (const [, boundary] of raw.matchAll(/boundary="?([^";\r\n]+)"?/gi)) parts = parts.flatMap((p) => p.split(`--${boundary}`));
  const out = [];
  for (const part of parts) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const [head, body] = [part.slice(0, split), part.slice(split).trim()];
    const encoding = /content-transfer-encoding:\s*([\w-]+)/i.exec(head)?.[1]?.toLowerCase();
    if (encoding === "base64") out.push(Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8"));
    else if (encoding === "quoted-printable") out.push(quotedPrintable(body));
  }
  return [...out, raw].join("\n");
}

/** Polls `check` every 200 ms until it returns something truthy. */
/** Signs in to the agents' app on `page` and waits for the app to show and its socket to be
 * open (`html[data-live]`), so that what happens next arrives live. */
export async function logIn(page, base, email) {
  await page.goto(`${base}/app/`);
  await page.fill("#login [name=email]", email);
  await page.fill("#login [name=password]", PASSWORD);
  await page.click("#login button");
  await page.waitForSelector("#app:not([hidden]) #entries");
  await page.waitForSelector("html[data-live]", { state: "attached" });
}

export async function eventually(what, check, tries = 50) {
  for (let i = 0; ; i++) {
    const value = await check();
    if (value) return value;
    if (i >= tries) throw new Error(`never happened: ${what}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

/** Runs a test's body; on failure keeps a screenshot of every page it opened in `artifacts`. */
export async function shooting(name, body) {
  const pages = [];
  try {
    await body(pages);
  } catch (e) {
    for (const [i, page] of pages.entries()) await page.screenshot({ path: join(artifacts, `${name}-${i}.png`), fullPage: true }).catch(() => {});
    throw e;
  }
}

/** A signed-in page of the agents' app in a context (cookies) of its own; an error thrown in
 * the page fails the test. */
export async function agentPage(browser, base, email, viewport = { width: 1400, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
  await logIn(page, base, email);
  return { context, page };
}

/** Node's fetch may reuse a keep-alive connection the server is just closing: retry once. */
export async function fetchRetrying(url, options) {
  try { return await fetch(url, options); } catch { return fetch(url, options); }
}

/** A visitor through the REST API the widget uses: {customer, token, say(text) -> conversation id}. */
export async function restVisitor(base) {
  const v = await (await fetchRetrying(`${base}/api/v1/widget/visitors`, { method: "POST" })).json();
  const headers = { "content-type": "application/json", "x-rapport-visitor": v.token };
  let conversation = null;
  return {
    customer: v.customer,
    token: v.token,
    async say(body) {
      const path = conversation ? `/api/v1/widget/conversations/${conversation}/messages` : "/api/v1/widget/conversations";
      const json = conversation ? { body } : { message: { body } };
      const res = await (await fetchRetrying(base + path, { method: "POST", headers, body: JSON.stringify(json) })).json();
      conversation ??= res.conversation.id;
      return conversation;
    },
  };
}
