// Many concurrent MCP sessions (default 1000): every VU opens its own session, then calls at
// a modest pace. Watch the gateway's memory.
//   k6 run -e TARGET=... -e TOKEN=... -e TOOL=demo_echo -e SESSIONS=1000 sessions.js
import { sleep } from 'k6';
import { initialize, rpc, checkResult, TOOL } from '../lib/mcp.js';

export const options = {
  scenarios: {
    sessions: { executor: 'constant-vus', vus: Number(__ENV.SESSIONS || 1000), duration: __ENV.DURATION || '30s' },
  },
  thresholds: { checks: ['rate>0.99'] },
};

let session = null;

export default function () {
  if (session === null) session = initialize();
  checkResult(rpc(session, 'tools/call', { name: TOOL, arguments: { message: 'hello' } }));
  sleep(0.5);
}
