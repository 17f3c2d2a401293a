// The Node.js counterpart of a tcusage telcall cold start: load the official SDK
// (tencentcloud-sdk-nodejs), call CCC DescribeTelCallInfo for one app-day against the emulator and
// write the row as one JSON line, as a hand-written Node handler would. cmd/bench times it from
// process start to exit.
//
// Environment: TCUSAGE_NODE_SDK_DIR, EMULATOR_ADDR (127.0.0.1:port), EMULATOR_SECRET_ID,
// EMULATOR_SECRET_KEY, DAY_START (unix seconds), APP (SdkAppId), OUT (file to write).
"use strict";

const fs = require("fs");
const http = require("http");
const net = require("net");
const path = require("path");

const tc = require(path.join(process.env.TCUSAGE_NODE_SDK_DIR, "node_modules", "tencentcloud-sdk-nodejs"));

async function main() {
  const [host, port] = process.env.EMULATOR_ADDR.split(":");
  const agent = new http.Agent({ keepAlive: false });
  agent.createConnection = (opts, cb) => net.connect({ host, port: Number(port) }, cb);
  const client = new tc.ccc.v20200210.Client({
    credential: { secretId: process.env.EMULATOR_SECRET_ID, secretKey: process.env.EMULATOR_SECRET_KEY },
    region: "",
    profile: { httpProfile: { endpoint: "ccc.tencentcloudapi.com", protocol: "http://", agent, reqTimeout: 10 } },
  });
  const start = Number(process.env.DAY_START);
  const app = Number(process.env.APP);
  const r = await client.DescribeTelCallInfo({ StartTimeStamp: start, EndTimeStamp: start + 86399, SdkAppIdList: [app] });
  fs.writeFileSync(process.env.OUT, JSON.stringify({ sdk_app_id: app, ...r }) + "\n");
}

main().then(
  () => process.stdout.write("ok\n"),
  (e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
    process.exit(1);
  },
);
