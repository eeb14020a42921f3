// A realistic mix: mostly allowed calls (cached), some fresh decisions, some lists, a few
// refusals, across two principals. TOKEN is the caller with grants, DENIED_TOKEN one without.
//   k6 run -e TARGET=... -e TOKEN=<assistant> -e DENIED_TOKEN=<intern> mixed.js
import { initialize, rpc, checkResult, checkRefused } from '../lib/mcp.js';

const DENIED_TOKEN = __ENV.DENIED_TOKEN || '';
const ECHO = __ENV.TOOL || 'demo_echo';
const FRESH = __ENV.FRESH_TOOL || 'demo_transfer_funds';
const REFUSED = __ENV.DENIED_TOOL || 'demo_add';

export const options = {
  scenarios: {
    mixed: { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE || 500), timeUnit: '1s', duration: __ENV.DURATION || '30s', preAllocatedVUs: 64, maxVUs: 256 },
  },
  thresholds: { checks: ['rate>0.999'], http_req_duration: ['p(99)<100'] },
};

export function setup() {
  return { session: initialize(), denied: DENIED_TOKEN ? initialize(DENIED_TOKEN) : null };
}

export default function (data) {
  const roll = Math.random();
  if (roll < 0.7) {
    checkResult(rpc(data.session, 'tools/call', { name: ECHO, arguments: { message: 'hi' } }));
  } else if (roll < 0.85) {
    const amount = 1 + Math.floor(Math.random() * 10000);
    checkResult(rpc(data.session, 'tools/call', { name: FRESH, arguments: { to: 'acme', amount, currency: `C${__VU}-${__ITER}` } }));
  } else if (roll < 0.95 || !data.denied) {
    rpc(data.session, 'tools/list', {});
  } else {
    checkRefused(rpc(data.denied, 'tools/call', { name: REFUSED, arguments: { a: 1, b: 2 } }, DENIED_TOKEN));
  }
}
