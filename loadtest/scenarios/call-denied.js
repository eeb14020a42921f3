// tools/call of a tool the caller may not use: refused as unknown (-32602), never forwarded.
//   k6 run -e TARGET=... -e TOKEN=<intern> -e TOOL=demo_add call-denied.js
import { initialize, rpc, checkRefused, TOOL } from '../lib/mcp.js';

export const options = {
  scenarios: {
    denied: { executor: 'constant-vus', vus: Number(__ENV.VUS || 32), duration: __ENV.DURATION || '30s' },
  },
  thresholds: { checks: ['rate>0.999'] },
};

export function setup() {
  return { session: initialize() };
}

export default function (data) {
  checkRefused(rpc(data.session, 'tools/call', { name: TOOL, arguments: { a: 1, b: 2 } }));
}
