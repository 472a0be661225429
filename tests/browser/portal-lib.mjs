// Helpers for browser tests that read real email: an aiosmtpd server delivering into a Maildir,
// and the decoding a mail client would do (MIME parts, quoted-printable, base64).

import { createServer, connect } from "node:net";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A real SMTP server (aiosmtpd, as the API tests use) delivering into a Maildir; `mails()`
 * reads what arrived as {to, data, text}, `text` being every part decoded. */
export async function smtpSink() {
  const probe = createServer();
  await new Promise((ok) => probe.listen(0, "127.0.0.1", ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  const maildir = join(mkdtempSync(join(tmpdir(), "rapport-mail-")), "mail");
  const proc = spawn("python3", ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "aiosmtpd.handlers.Mailbox", maildir], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    const up = await new Promise((ok) => connect(port, "127.0.0.1").on("connect", function () { this.destroy(); ok(true); }).on("error", () => ok(false)));
    if (up) break;
    if (i > 300) throw new Error("aiosmtpd did not start (tests/run.sh installs it)");
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

/** Polls `check` until it returns something truthy. */
export async function eventually(what, check, { tries = 75, every = 200 } = {}) {
  for (let i = 0; ; i++) {
    const value = await check();
    if (value) return value;
    if (i >= tries) throw new Error(`never happened: ${what}`);
    await new Promise((ok) => setTimeout(ok, every));
  }
}
