// The Node baseline of `npm run bench`: what node:http can do answering redirects from a Map and nothing else
// (no cache policy, no click counting, no validation). jmp's figures are reported as a ratio to this one.
// Usage: node bench/node-baseline.mjs <links> <port>
import { createServer } from "node:http";

const count = Number(process.argv[2]);
const port = Number(process.argv[3]);
const links = new Map();
for (let i = 0; i < count; i++) links.set(`/c${i}`, `https://example.com/p/${i}`);

createServer((req, res) => {
  const url = req.url ?? "/";
  const question = url.indexOf("?");
  const target = links.get(question === -1 ? url : url.slice(0, question));
  if (target === undefined) {
    res.writeHead(404, ["Content-Type", "text/plain", "Content-Length", "10"]);
    res.end("Not Found\n");
    return;
  }
  res.writeHead(307, [
    "Location",
    target,
    "Cache-Control",
    "no-cache, no-store, must-revalidate",
    "Content-Length",
    "0",
  ]);
  res.end();
}).listen(port, "127.0.0.1", () => process.stdout.write("listening\n"));
