// Allowed tools/call with an argument that policies read, different every time: every call
// is a fresh Cedar decision (the decision cache never hits).
//   k6 run -e TARGET=... -e TOKEN=... -e TOOL=demo_transfer_funds call-fresh.js
import { initialize, rpc, checkResult, TOOL } from '../lib/mcp.js';

export const options = {
  scenarios: {
    fresh: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 32),
      duration: __ENV.DURATION || '30s',
    },
  },
  thresholds: {
    checks: ['rate>0.999'],
    'http_req_duration{rpc:tools/call}': ['p(99)<50'],
  },
};

export function setup() {
  return { session: initialize() };
}

export default function (data) {
  // `amount` and `currency` are declared in the policy schema, so they are part of the
  // decision's cache key: a new currency string every call means a new decision every call.
  // Amounts up to 10000 keep the call allowed.
  const amount = 1 + ((__VU * 100003 + __ITER) % 10000);
  const currency = `C${__VU}-${__ITER}`;
  checkResult(rpc(data.session, 'tools/call', { name: TOOL, arguments: { to: 'acme-supplier', amount, currency } }));
}
