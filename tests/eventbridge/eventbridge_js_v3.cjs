// EventBridge calls through the AWS SDK for JavaScript v3 (@aws-sdk/client-eventbridge), for
// tests/eventbridge/test_rules_js_sdk.py. Reads OT_ENDPOINT, OT_REGION, OT_KEY_ID, OT_SECRET and OT_CALLS (a
// JSON list of [Operation, input]); prints a JSON list of [Operation, output without $metadata] or
// [Operation, {"error": {name, message, status}}] for a call that failed.
"use strict";

const eventbridge = require("@aws-sdk/client-eventbridge");

async function main() {
  const client = new eventbridge.EventBridgeClient({
    endpoint: process.env.OT_ENDPOINT,
    region: process.env.OT_REGION,
    credentials: { accessKeyId: process.env.OT_KEY_ID, secretAccessKey: process.env.OT_SECRET },
    maxAttempts: 1,
  });
  const results = [];
  for (const [operation, input] of JSON.parse(process.env.OT_CALLS)) {
    const Command = eventbridge[operation + "Command"];
    try {
      const output = await client.send(new Command(input));
      delete output.$metadata;
      results.push([operation, output]);
    } catch (err) {
      if (err.$metadata === undefined) throw err; // not an answer of the server
      results.push([operation, { error: { name: err.name, message: err.message, status: err.$metadata.httpStatusCode } }]);
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
