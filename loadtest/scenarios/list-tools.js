// tools/list: fan-out (cached) merged with the registry, filtered by policy.
//   k6 run -e TARGET=... -e TOKEN=... list-tools.js
import { check } from 'k6';
import { initialize, rpc, message } from '../lib/mcp.js';

export const options = {
  scenarios: {
    list: { executor: 'constant-vus', vus: Number(__ENV.VUS || 16), duration: __ENV.DURATION || '30s' },
  },
  thresholds: { checks: ['rate>0.999'] },
};

export function setup() {
  return { session: initialize() };
}

export default function (data) {
  const res = rpc(data.session, 'tools/list', {});
  check(res, {
    'status 200': (r) => r.status === 200,
    'a list': (r) => {
      const m = message(r);
      return m !== null && m.result !== undefined && Array.isArray(m.result.tools);
    },
  });
}
