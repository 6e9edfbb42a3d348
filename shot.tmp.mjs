import { chromium } from "playwright-core";
const base = process.argv[2] ?? "http://127.0.0.1:18080";
const width = Number(process.argv[3] ?? 1280);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width, height: 900 } });
const problems = [];
page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
await page.goto(`${base}/panel/`);
await page.getByLabel(/Admin password|管理员密码/).fill("correct-horse-battery");
await page.getByRole("button", { name: /Sign in|登录/ }).click();
await page.locator(".shell").waitFor();
for (const p of ["", "links", "links?new=1", "analytics", "tags", "keys", "settings", "audit", "about"]) {
  await page.goto(`${base}/panel/${p}`);
  await page.waitForTimeout(700);
  await page.screenshot({ path: `/tmp/shots/${width}-${p.replace(/[?=]/g, "_") || "dash"}.png`, fullPage: p !== "settings" });
}
console.log(problems.join("\n") || "no problems");
await browser.close();
