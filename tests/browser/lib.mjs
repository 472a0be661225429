// Shared by the browser tests: the real rapport binary on a temporary data dir, a host page on
// another origin that embeds the snippet, and Debian's Chromium driven by playwright-core.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
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

async function freePort() {
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
