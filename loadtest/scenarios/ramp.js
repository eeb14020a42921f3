// Ramps the request rate until latency or errors break the thresholds: the saturation point
// is where `http_reqs` stops following the target rate.
//   k6 run -e TARGET=... -e TOKEN=... -e TOOL=demo_echo ramp.js
import { initialize, rpc, checkResult, TOOL } from '../lib/mcp.js';

const PEAK = Number(__ENV.PEAK || 20000);

export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: 100,
      timeUnit: '1s',
      preAllocatedVUs: 64,
      maxVUs: Number(__ENV.MAX_VUS || 512),
      stages: [
        { target: PEAK / 4, duration: __ENV.STAGE || '20s' },
        { target: PEAK / 2, duration: __ENV.STAGE || '20s' },
        { target: PEAK, duration: __ENV.STAGE || '20s' },
      ],
    },
  },
  thresholds: {
    checks: [{ threshold: 'rate>0.99', abortOnFail: true, delayAbortEval: '5s' }],
    http_req_duration: [{ threshold: 'p(99)<250', abortOnFail: true, delayAbortEval: '5s' }],
  },
};

export function setup() {
  return { session: initialize() };
}

export default function (data) {
  checkResult(rpc(data.session, 'tools/call', { name: TOOL, arguments: { message: 'hello' } }));
}
