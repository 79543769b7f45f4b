// Test harness: the real `ovcf` binary on a fresh SQLite registry, and Debian's Chromium driven by
// playwright-core. Pages record console errors and uncaught exceptions in `page.errors`.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = process.env.OVCF_BIN || path.join(root, "target/release/ovcf");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** Starts `ovcf serve` on a free port with the given users ([name, role, password]). */
export async function startServer(users, { seedDemo = false } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "ovcf-e2e-"));
  const env = { ...process.env, OVCF_DATABASE_URL: "sqlite:" + path.join(dir, "registry.db"), OVCF_LOG: "info" };
  for (const [name, role, password] of users) {
    execFileSync(BIN, ["user", "add", name, "--role", role, "--password-stdin"], { env, input: password + "\n" });
  }
  if (seedDemo) execFileSync(BIN, ["db", "seed-demo"], { env });
  const child = spawn(BIN, ["serve", "--addr", "127.0.0.1:0", "--pdf-browser", CHROMIUM], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start:\n" + log)), 20000);
    child.stderr.on("data", (chunk) => {
      log += chunk.toString();
      const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    base,
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("close", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Launches headless Chromium; `page(locale)` opens a page in a fresh context. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  return {
    async page(locale, options = {}) {
      const context = await browser.newContext({
        locale,
        viewport: { width: 1280, height: 900 },
        acceptDownloads: true,
        ...options,
      });
      const page = await context.newPage();
      page.errors = [];
      page.on("console", (m) => {
        if (m.type() === "error") page.errors.push(m.text());
      });
      page.on("pageerror", (e) => page.errors.push(e.message));
      return page;
    },
    close: () => browser.close(),
  };
}

export async function signIn(page, base, user, password) {
  await page.goto(base + "/login");
  await page.fill("#username", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("section.signin button[type=submit]")]);
  if (new URL(page.url()).pathname === "/login") throw new Error("sign-in failed for " + user);
}

export async function signOut(page) {
  await Promise.all([page.waitForNavigation(), page.click("form.signout button")]);
}

/** The request as input names and values, the way the form names its inputs. */
export function flatten(value, prefix = "", out = []) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (v && typeof v === "object") flatten(v, `${prefix}[${i}]`, out);
      else out.push([prefix, String(v)]);
    });
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== null && value !== undefined) {
    out.push([prefix, String(value)]);
  }
  return out;
}

/** Fills the assessment form with a request: levels through the spine diagram, repeated
 * blocks with their "add" buttons, then every field by name. */
export async function fillRequest(page, request) {
  for (const f of request.fractures || []) {
    await page.click(`.spine-buttons button[data-level="${f.level}"]`);
  }
  for (const group of ["medications", "risk_tools"]) {
    const have = await page.locator(`.blocks[data-group="${group}"] > fieldset.block`).count();
    for (let i = have; i < (request[group] || []).length; i++) await page.click(`[data-add="${group}"]`);
  }
  for (const [name, value] of flatten(request)) {
    const el = page.locator(`[name="${name}"]`).first();
    const tag = await el.evaluate((e) => e.tagName + ":" + (e.type || ""));
    if (tag.startsWith("SELECT")) await page.selectOption(`select[name="${name}"]`, value);
    else if (tag.endsWith(":checkbox")) await page.check(`input[name="${name}"][value="${value}"]`);
    else await el.fill(value);
  }
}
