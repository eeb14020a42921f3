// MCP over Streamable HTTP for k6: initialize a session, then JSON-RPC calls in it.
//
// Environment: TARGET (the MCP endpoint, e.g. http://127.0.0.1:8080/mcp), TOKEN (a bearer
// token; empty for an upstream without auth), TOOL (the tool to call), PROTOCOL (default
// 2025-06-18), API_KEY (sent as `x-api-key`: what the upstream needs when called directly;
// through the gateway it comes from the vault).
import http from 'k6/http';
import { check, fail } from 'k6';

export const TARGET = __ENV.TARGET || 'http://127.0.0.1:8080/mcp';
export const TOKEN = __ENV.TOKEN || '';
export const TOOL = __ENV.TOOL || 'demo_echo';
const API_KEY = __ENV.API_KEY || '';
const PROTOCOL = __ENV.PROTOCOL || '2025-06-18';

function headers(session, token) {
  const h = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': PROTOCOL,
  };
  const bearer = token === undefined ? TOKEN : token;
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  if (session) h['Mcp-Session-Id'] = session;
  if (API_KEY) h['x-api-key'] = API_KEY;
  return h;
}

/** Opens a session (initialize + notifications/initialized); returns its id. */
export function initialize(token) {
  const init = {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'k6', version: '1' } },
  };
  const res = http.post(TARGET, JSON.stringify(init), { headers: headers(null, token), tags: { rpc: 'initialize' } });
  if (res.status !== 200) fail(`initialize answered ${res.status}: ${res.body}`);
  const session = res.headers['Mcp-Session-Id'] || res.headers['mcp-session-id'];
  const note = { jsonrpc: '2.0', method: 'notifications/initialized' };
  http.post(TARGET, JSON.stringify(note), { headers: headers(session, token), tags: { rpc: 'notifications/initialized' } });
  return session;
}

/** One JSON-RPC request in `session`; returns the k6 response. */
export function rpc(session, method, params, token, id) {
  const body = { jsonrpc: '2.0', id: id || 1, method, params };
  return http.post(TARGET, JSON.stringify(body), { headers: headers(session, token), tags: { rpc: method } });
}

/** The JSON-RPC message in a JSON or SSE answer. */
export function message(res) {
  const type = (res.headers['Content-Type'] || '').toLowerCase();
  if (type.startsWith('text/event-stream')) {
    const lines = res.body.split('\n').filter((l) => l.startsWith('data:'));
    for (const line of lines.reverse()) {
      const m = JSON.parse(line.slice(5).trim());
      if (m.result !== undefined || m.error !== undefined) return m;
    }
    return null;
  }
  try {
    return JSON.parse(res.body);
  } catch (_) {
    return null;
  }
}

/** Checks that a tools/call answered with a successful result. */
export function checkResult(res) {
  return check(res, {
    'status 200': (r) => r.status === 200,
    'tool result': (r) => {
      const m = message(r);
      return m !== null && m.result !== undefined && m.result.isError === false;
    },
  });
}

/** Checks that a tools/call was refused as an unknown tool (-32602). */
export function checkRefused(res) {
  return check(res, {
    'status 200': (r) => r.status === 200,
    'refused as unknown': (r) => {
      const m = message(r);
      return m !== null && m.error !== undefined && m.error.code === -32602;
    },
  });
}
