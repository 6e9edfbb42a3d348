/**
 * The page a visitor of a password-protected link sees: a small, accessible HTML form that works without
 * JavaScript and loads nothing from elsewhere. The only text from the request it shows is the link's own path,
 * HTML-escaped; the strict Content-Security-Policy forbids scripts even if something slipped through.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeHead } from "../response-headers.js";

/** Form bodies are tiny; anything larger is refused before it is read whole. */
export const MAX_FORM_BYTES = 4096;

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  // X-Frame-Options and nosniff come with every response (writeHead); frame-ancestors above forbids framing.
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex",
};

export type PasswordProblem = "wrong" | { retryAfterSeconds: number } | null;

export function sendPasswordPage(
  req: IncomingMessage,
  res: ServerResponse,
  action: string,
  status: number,
  problem: PasswordProblem,
): void {
  let message = "";
  const headers: Record<string, string> = { ...PAGE_HEADERS };
  if (problem === "wrong") {
    message = '<p class="error" role="alert">That password is not right. Please try again.</p>';
  } else if (problem !== null) {
    headers["Retry-After"] = String(problem.retryAfterSeconds);
    message = `<p class="error" role="alert">Too many attempts. Please wait ${problem.retryAfterSeconds} seconds and try again.</p>`;
  }
  const body = Buffer.from(
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Password required</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#111}
label,input,button{display:block;font-size:1rem}
input{width:100%;padding:.5rem;margin:.25rem 0 1rem;box-sizing:border-box;border:1px solid #666;border-radius:4px}
button{padding:.5rem 1.25rem;border:0;border-radius:4px;background:#1a56db;color:#fff;cursor:pointer}
button:focus,input:focus{outline:3px solid #f59e0b;outline-offset:2px}
.error{color:#b91c1c;font-weight:600}
</style>
</head>
<body>
<main>
<h1>Password required</h1>
<p>This link is protected. Enter its password to continue.</p>
${message}
<form method="post" action="${escapeHtml(action)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Continue</button>
</form>
</main>
</body>
</html>
`,
  );
  headers["Content-Length"] = String(body.length);
  writeHead(res, status, Object.entries(headers).flat());
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * The `password` field of an `application/x-www-form-urlencoded` body; null when the body is too large or
 * not a form.
 */
export function readPasswordForm(req: IncomingMessage): Promise<string | null> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const declared = Number(req.headers["content-length"] ?? "0");
  if (type !== "application/x-www-form-urlencoded" || declared > MAX_FORM_BYTES) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_FORM_BYTES) return;
      resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8")).get("password") ?? "");
    });
    req.on("error", () => resolve(null));
  });
}
