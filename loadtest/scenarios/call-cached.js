// Allowed tools/call, the same arguments every time: the cached decision path.
//   k6 run -e TARGET=http://127.0.0.1:8080/mcp -e TOKEN=... -e TOOL=demo_echo call-cached.js
import { initialize, rpc, checkResult, TOOL } from '../lib/mcp.js';

export const options = {
  scenarios: {
    cached: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 32),
      duration: __ENV.DURATION || '30s',
    },
  },
  thresholds: {
    checks: ['rate>0.999'],
    http_req_failed: ['rate<0.001'],
    'http_req_duration{rpc:tools/call}': ['p(99)<50'],
  },
};

export function setup() {
  return { session: initialize() };
}

export default function (data) {
  checkResult(rpc(data.session, 'tools/call', { name: TOOL, arguments: { message: 'hello' } }));
}
