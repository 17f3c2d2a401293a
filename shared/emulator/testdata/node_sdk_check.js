// Calls the five emulated actions with the official Node.js SDK (tencentcloud-sdk-nodejs) and
// checks the documented example answers. Run by TestNodeSDK (node_sdk_test.go); it prints one JSON
// object on stdout: {"checks":[{"name","ok","detail"}],"results":{...}} and exits 1 if a check fails.
//
// Environment: TCUSAGE_NODE_SDK_DIR (the npm prefix holding node_modules/tencentcloud-sdk-nodejs),
// EMULATOR_ADDR (127.0.0.1:port), EMULATOR_SECRET_ID, EMULATOR_SECRET_KEY, EMULATOR_DAY (YYYY-MM-DD,
// a day inside the data window) and EMULATOR_DAY_START (unix seconds of its 00:00 in UTC+8).
"use strict";

const http = require("http");
const net = require("net");
const path = require("path");

const tc = require(path.join(process.env.TCUSAGE_NODE_SDK_DIR, "node_modules", "tencentcloud-sdk-nodejs"));

const [host, port] = process.env.EMULATOR_ADDR.split(":");
const day = process.env.EMULATOR_DAY;
const dayStart = Number(process.env.EMULATOR_DAY_START);

// The SDK signs the endpoint's host name and takes the service from its first label, so keep the
// real endpoint and dial the emulator underneath it.
function client(Ctor, service, region, secretKey) {
  const agent = new http.Agent({ keepAlive: false });
  agent.createConnection = (opts, cb) => net.connect({ host, port: Number(port) }, cb);
  return new Ctor({
    credential: { secretId: process.env.EMULATOR_SECRET_ID, secretKey: secretKey || process.env.EMULATOR_SECRET_KEY },
    region,
    profile: { httpProfile: { endpoint: `${service}.tencentcloudapi.com`, protocol: "http://", agent, reqTimeout: 10 } },
  });
}

const checks = [];
const results = {};
function check(name, ok, detail) {
  checks.push({ name, ok: !!ok, detail: ok ? "" : JSON.stringify(detail) });
}

async function main() {
  const ccc = client(tc.ccc.v20200210.Client, "ccc", "");
  const trtc = client(tc.trtc.v20190722.Client, "trtc", "ap-guangzhou");
  const ess = client(tc.essbasic.v20210526.Client, "essbasic", "");

  // CCC DescribeTelCallInfo: the documented example, then a real day.
  const tel = await ccc.DescribeTelCallInfo({ StartTimeStamp: 1773041460, EndTimeStamp: 1773042460, SdkAppIdList: [140000000] });
  check("ccc example", tel.RequestId === "sfahfj-fasf" &&
    ["TelCallOutCount", "TelCallInCount", "SeatUsedCount", "VOIPCallInCount", "AsrOfflineCount", "AsrRealtimeCount"].every((k) => tel[k] === 0), tel);
  results.telCall = await ccc.DescribeTelCallInfo({ StartTimeStamp: dayStart, EndTimeStamp: dayStart + 86399, SdkAppIdList: [1400000001, 1400000002] });

  // TRTC DescribeTrtcInteractiveTime is gone from the SDK's methods; client.request still sends it.
  const it = await trtc.request("DescribeTrtcInteractiveTime", { SdkAppId: 1400243510, StartTime: "2020-09-07", EndTime: "2020-09-08" });
  const u = it.Usages && it.Usages[0];
  check("trtc interactive example", u && u.TotalNum === 2 && u.SdkAppId === "1400243510" &&
    u.SdkAppIdTrtcTimeUsages[0].AudioTime === 8435963 && u.SdkAppIdTrtcTimeUsages[1].TimeKey === "2020-09-08" &&
    it.RequestId === "644956b8-9f7c-44c5-b833-31d91dba1b24", it);
  const total = await trtc.request("DescribeTrtcInteractiveTime", { StartTime: "2020-09-08", EndTime: "2020-09-08" });
  check("trtc interactive example without app", total.Usages[0].SdkAppId === "total" && total.Usages[0].TotalNum === 3, total);
  results.interactiveDay = await trtc.request("DescribeTrtcInteractiveTime", { SdkAppId: 1400000001, StartTime: day, EndTime: day });

  // TRTC DescribeTrtcUsage.
  results.usage = await trtc.DescribeTrtcUsage({ SdkAppId: 1400000001, StartTime: day, EndTime: day });
  check("trtc usage keys", JSON.stringify(results.usage.UsageKey) === JSON.stringify(["Audio", "SD", "HD", "FullHD", "2K", "4K"]), results.usage.UsageKey);

  // TRTC DescribeTrtcRoomUsage: the documented example (one call: the limit is one per 15 s).
  const room = await trtc.DescribeTrtcRoomUsage({ SdkAppid: 1400017192, StartTime: "2023-01-06 00:00", EndTime: "2023-01-06 10:00" });
  check("trtc room usage example", room.Data === "RoomId,Audio,SD,hd,FullHD,2K,4K\ntest_room,1,2,3,4,5,6\n" &&
    room.RequestId === "68fccf1c-c2c7-466a-9f14-1db4bed6054b", room);
  try {
    await trtc.DescribeTrtcRoomUsage({ SdkAppid: 1400017192, StartTime: "2023-01-06 00:00", EndTime: "2023-01-06 10:00" });
    check("trtc room usage rate limit", false, "second call within 15 s succeeded");
  } catch (e) {
    check("trtc room usage rate limit", e.code === "OperationDenied.FreqOverLimit", { code: e.code, message: e.message });
  }

  // ESS ChannelDescribeBillUsageDetail: documented examples 2 and 1, then a real page.
  const bill = await ess.ChannelDescribeBillUsageDetail({
    StartTime: "20230902", EndTime: "20230930", Offset: 0, Limit: 20, Agent: { AppId: "yDwFdUUckpsw******yQ0af8bHosXQtb" },
  });
  check("ess example 2", bill.Total === 1 && bill.Details.length === 1 && bill.Details[0].FlowId === "yDwFdUUckps******uzcbXwoXbRF6ja3" &&
    bill.Details[0].CostTime === 1695037514 && bill.Details[0].QuotaName === "企业版运营礼包", bill);
  try {
    await ess.ChannelDescribeBillUsageDetail({
      StartTime: "20230902", EndTime: "20230930", Offset: 0, Limit: 500,
      Agent: { AppId: "yDwFdUUckpsw******yQ0af8bHosXQtb", ProxyOrganizationOpenId: "org_dianziqian", ProxyOperator: { OpenId: "n9527" }, ProxyAppId: "" },
    });
    check("ess example 1", false, "Limit 500 succeeded");
  } catch (e) {
    check("ess example 1", e.code === "InvalidParameter.Limit" && e.requestId === "s169935778xxxxxxx", { code: e.code, requestId: e.requestId });
  }
  const compact = day.replaceAll("-", "");
  results.bill = await ess.ChannelDescribeBillUsageDetail({ StartTime: compact, EndTime: compact, Offset: 1, Limit: 10, Agent: { AppId: "ess_app_demo" } });

  // A wrong key is refused with the documented code.
  try {
    await client(tc.ccc.v20200210.Client, "ccc", "", "wrong-key").DescribeTelCallInfo({ StartTimeStamp: dayStart, EndTimeStamp: dayStart, SdkAppIdList: [1400000001] });
    check("wrong key refused", false, "call succeeded");
  } catch (e) {
    check("wrong key refused", e.code === "AuthFailure.SignatureFailure", { code: e.code, message: e.message });
  }
}

main()
  .catch((e) => check("unexpected error", false, { code: e.code, message: e.message }))
  .finally(() => {
    process.stdout.write(JSON.stringify({ checks, results }) + "\n");
    process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
  });
