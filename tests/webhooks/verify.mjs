// Verifies webhook requests with the Standard Webhooks reference library (npm `standardwebhooks`),
// as a receiver of the host's webhook notifier would.
//
//   node verify.mjs --log REQUESTS.jsonl --secret whsec_... [--secret whsec_...]
//
// REQUESTS.jsonl is tests/peers/webhook_receiver.py's log. For each POST answered 200 it prints one JSON
// line {"n": <request number>, "verified": true|false, "error": "..."}: verified when the library accepts
// it with one of the secrets (a receiver that knows several, during a rotation).
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const args = process.argv.slice(2);
let log = null;
const secrets = [];
for (let i = 0; i < args.length; i += 2) {
  if (args[i] === "--log") log = args[i + 1];
  else if (args[i] === "--secret") secrets.push(args[i + 1]);
  else throw new Error("unknown argument " + args[i]);
}
if (!log || secrets.length === 0) throw new Error("--log and at least one --secret are required");

for (const line of readFileSync(log, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  if (request.method !== "POST" || request.status_sent !== 200) continue;
  const body = Buffer.from(request.body_b64, "base64").toString("utf8");
  let verified = false;
  let error = "";
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(body, request.headers);
      verified = true;
      break;
    } catch (e) {
      error = String(e.message || e);
    }
  }
  console.log(JSON.stringify({ n: request.n, verified, error: verified ? "" : error }));
}
