// A fixed request rate (default 1000/s) of allowed calls: compare p99 with and without the
// gateway to see the latency it adds when not saturated.
//   k6 run -e TARGET=... -e TOKEN=... -e TOOL=demo_echo -e RATE=1000 [-e MESSAGE_BYTES=1024] fixed-rate.js
import { initialize, rpc, checkResult, TOOL } from '../lib/mcp.js';

export const options = {
  scenarios: {
    fixed: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 1000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: 50,
      maxVUs: 200,
    },
  },
  thresholds: { checks: ['rate>0.999'], dropped_iterations: ['count<10'] },
};

export function setup() {
  return { session: initialize() };
}

// MESSAGE_BYTES: the argument's size (default: the 5-byte 'hello').
const MESSAGE = __ENV.MESSAGE_BYTES ? 'x'.repeat(Number(__ENV.MESSAGE_BYTES)) : 'hello';

export default function (data) {
  checkResult(rpc(data.session, 'tools/call', { name: TOOL, arguments: { message: MESSAGE } }));
}
