// AWS calls through one client of the AWS SDK for JavaScript v3, for the JavaScript SDK tests
// (tests/npm_packages.py: run_js_v3). Reads OT_SDK (the npm package, e.g. @aws-sdk/client-eventbridge,
// found through NODE_PATH), OT_CLIENT (its client class, e.g. EventBridgeClient), OT_ENDPOINT,
// OT_REGION, OT_KEY_ID, OT_SECRET, OT_SESSION_TOKEN (optional: STS session credentials) and OT_CALLS (a JSON list of [Operation, input]); prints a JSON
// list of [Operation, output without $metadata] or [Operation, {"error": {name, message, status}}]
// for a call that failed.
"use strict";

const sdk = require(process.env.OT_SDK);

async function main() {
  const client = new sdk[process.env.OT_CLIENT]({
    endpoint: process.env.OT_ENDPOINT,
    region: process.env.OT_REGION,
    credentials: {
      accessKeyId: process.env.OT_KEY_ID,
      secretAccessKey: process.env.OT_SECRET,
      ...(process.env.OT_SESSION_TOKEN ? { sessionToken: process.env.OT_SESSION_TOKEN } : {}),
    },
    maxAttempts: 1,
  });
  const results = [];
  for (const [operation, input] of JSON.parse(process.env.OT_CALLS)) {
    const Command = sdk[operation + "Command"];
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
