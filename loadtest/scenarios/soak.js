// A soak: a steady mixed rate of calls (as mixed.js) and, beside it, sessions opening, calling
// and closing (DELETE) the whole time. Run it with loadtest/soak, which also samples the
// gateway's memory and open file descriptors.
//   k6 run -e TARGET=... -e TOKEN=<assistant> -e DENIED_TOKEN=<intern> -e DURATION=10m soak.js
import http from 'k6/http';
import { check } from 'k6';
import { initialize, rpc, checkResult, checkRefused, TARGET, TOKEN } from '../lib/mcp.js';

const DENIED_TOKEN = __ENV.DENIED_TOKEN || '';
const DURATION = __ENV.DURATION || '10m';

export const options = {
  scenarios: {
    calls: {
      executor: 'constant-arrival-rate', exec: 'calls', rate: Number(__ENV.RATE || 300), timeUnit: '1s',
      duration: DURATION, preAllocatedVUs: 32, maxVUs: 128,
    },
    sessions: {
      executor: 'constant-arrival-rate', exec: 'sessions', rate: Number(__ENV.SESSION_RATE || 10), timeUnit: '1s',
      duration: DURATION, preAllocatedVUs: 8, maxVUs: 32,
    },
  },
  thresholds: { checks: ['rate>0.999'] },
};

export function setup() {
  return { session: initialize(), denied: DENIED_TOKEN ? initialize(DENIED_TOKEN) : null };
}

export function calls(data) {
  const roll = Math.random();
  if (roll < 0.7) {
    checkResult(rpc(data.session, 'tools/call', { name: 'demo_echo', arguments: { message: 'hi' } }));
  } else if (roll < 0.85) {
    const amount = 1 + Math.floor(Math.random() * 10000);
    checkResult(rpc(data.session, 'tools/call', { name: 'demo_transfer_funds', arguments: { to: 'acme', amount } }));
  } else if (roll < 0.95 || !data.denied) {
    rpc(data.session, 'tools/list', {});
  } else {
    checkRefused(rpc(data.denied, 'tools/call', { name: 'demo_add', arguments: { a: 1, b: 2 } }, DENIED_TOKEN));
  }
}

/** A session's whole life: open, one call, end. */
export function sessions() {
  const session = initialize();
  checkResult(rpc(session, 'tools/call', { name: 'demo_echo', arguments: { message: 'short-lived' } }));
  const res = http.del(TARGET, null, {
    headers: { Authorization: `Bearer ${TOKEN}`, 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-06-18' },
    tags: { rpc: 'session/delete' },
  });
  check(res, { 'session ended': (r) => r.status === 204 });
}
