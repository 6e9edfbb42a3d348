// The Node baseline of `npm run bench`: what node:http can do answering redirects from a Map and nothing else
// (no cache policy, no click counting, no validation). jmp's figures are reported as a ratio to this one.
// With a worker count above 1 it is a bare node:cluster of that many processes sharing the port (the baseline of
// JMP_WORKERS).
// Usage: node bench/node-baseline.mjs <links> <port> [workers]
import cluster from "node:cluster";
import { createServer } from "node:http";

const count = Number(process.argv[2]);
const port = Number(process.argv[3]);
const workers = Number(process.argv[4] ?? 1);
if (workers > 1 && cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on("listening", () => {
      if (++listening === workers) process.stdout.write("listening\n");
    });
  }
} else {
  serve();
}

function serve() {
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
  }).listen(port, "127.0.0.1", () => {
    if (workers === 1) process.stdout.write("listening\n");
  });
}
