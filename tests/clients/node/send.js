// Sends Segment calls with the real @segment/analytics-node, as a customer's back end does,
// then reports what the library saw. Driven by tests/clients/test_segment_node.py.
//
// Input: one JSON argument {settings: {writeKey, host, path?, ...}, calls: [[method, params]]}.
// Output: one JSON line {answers: [{status, url, authorization, retry}], failures: [reason]}.
"use strict";

const { Analytics } = require("@segment/analytics-node");

async function main() {
  const { settings, calls } = JSON.parse(process.argv[2]);
  const analytics = new Analytics({ flushInterval: 200, ...settings });
  const answers = [];
  const failures = [];
  const sent = new Map();
  analytics.on("http_request", (request) => {
    sent.set(request.url, request.headers);
  });
  analytics.on("http_response", (response) => {
    const headers = sent.get(response.url) || {};
    answers.push({
      status: response.status,
      url: response.url,
      authorization: headers.Authorization || null,
      retry: headers["X-Retry-Count"] || null,
    });
  });
  analytics.on("error", (error) => {
    failures.push(String((error && error.reason) || error));
  });
  for (const [method, params] of calls) {
    analytics[method](params);
  }
  await analytics.closeAndFlush({ timeout: 20000 });
  process.stdout.write(JSON.stringify({ answers, failures }) + "\n");
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + "\n");
  process.exit(1);
});
