// A webhook receiver for the tests: it verifies every delivery with the Standard Webhooks
// reference library (npm standardwebhooks, vendored in node_modules: MIT), independently of
// Switchboard's Go code, once per secret in WEBHOOK_SECRETS (space-separated), and prints one
// JSON line per request on stdout. FAIL_PATHS ("/a=3 /b=-1") makes a path answer 503 to its
// first N requests (-1: always). The first line is {"listening": PORT}.
"use strict";
const http = require("http");
const { Webhook } = require("standardwebhooks");

const secrets = (process.env.WEBHOOK_SECRETS || "").split(" ").filter(Boolean);
const fails = {};
for (const p of (process.env.FAIL_PATHS || "").split(" ").filter(Boolean)) {
  const [path, n] = p.split("=");
  fails[path] = Number(n);
}
const seen = {};

http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = { "webhook-id": req.headers["webhook-id"], "webhook-timestamp": req.headers["webhook-timestamp"],
      "webhook-signature": req.headers["webhook-signature"] };
    const verified = secrets.map((s) => {
      try { new Webhook(s).verify(body, headers); return true; } catch (e) { return false; }
    });
    seen[req.url] = (seen[req.url] || 0) + 1;
    const n = fails[req.url];
    const status = n !== undefined && (n < 0 || seen[req.url] <= n) ? 503 : 200;
    process.stdout.write(JSON.stringify({ path: req.url, id: headers["webhook-id"], verified, status, body }) + "\n");
    res.writeHead(status, { "Content-Type": "text/plain" });
    res.end(status === 200 ? "ok" : "try later");
  });
}).listen(0, "127.0.0.1", function () {
  process.stdout.write(JSON.stringify({ listening: this.address().port }) + "\n");
});
