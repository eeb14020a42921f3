// End to end through the console in headless Chromium (Debian's, driven by playwright-core),
// against a running `portcullis serve --demo`: sign in, see the payment the demo's real
// tools/call left pending and a new one appear without a reload, approve it and watch the
// retried call succeed, suspend an agent and see its next call refused, look at the risk
// picture, complete a small certification campaign, filter the audit log, and sign in as
// another tenant's admin to see none of it. Screenshots go to SHOTS.
//
// Environment: ADMIN_URL, GATEWAY_URL, ADMIN (the demo admin's token), ASSISTANT (the
// assistant agent's token), OTHER_ADMIN (an admin token of another tenant), ROOT (an
// operator's token: role super_admin in the demo tenant), SHOTS (a directory), CHROMIUM
// (default /usr/bin/chromium).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const [adminUrl, gatewayUrl, admin, assistant, otherAdmin, root, shots] =
  ['ADMIN_URL', 'GATEWAY_URL', 'ADMIN', 'ASSISTANT', 'OTHER_ADMIN', 'ROOT', 'SHOTS'].map(env);
mkdirSync(shots, { recursive: true });

function check(ok, what) {
  if (!ok) throw new Error(`not so: ${what}`);
  console.log(`ok   ${what}`);
}

// A tool call through the gateway's REST face, as the assistant agent.
async function call(tool, args) {
  const resp = await fetch(`${gatewayUrl}/mcp/tools/${tool}/call`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${assistant}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: resp.status, body: await resp.json() };
}

async function eventually(what, probe, seconds = 10) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
let failed = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Script errors count; the browser's own notes of an HTTP error status do not (the bad
  // token's 401 is on purpose, and the browser asks for a favicon there is none of).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });

  // The shell: served by the admin API with a strict policy.
  const first = await page.goto(`${adminUrl}/`);
  const csp = first.headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"), 'the page carries a strict Content-Security-Policy');
  check(!first.headers()['set-cookie'], 'no cookie is set');

  // A wrong token is refused; the admin's signs in.
  await page.fill('#token', 'not-a-token');
  await page.click('button[type=submit]');
  await page.getByRole('alert').waitFor();
  check((await page.getByRole('alert').textContent()).includes('not valid'), 'a bad token is refused');
  await page.fill('#token', admin);
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: /Pending approvals/ }).waitFor();
  check(true, 'signed in with the admin token');

  // The payment the demo's tools/call left pending, with its arguments and policy.
  const held = page.locator('article.approval', { hasText: 'demo_transfer_funds' }).first();
  await held.waitFor();
  await eventually('the arguments load', async () => (await held.textContent()).includes('25000'));
  check((await held.textContent()).includes('large-payment-approval'), 'the pending approval shows the tool, its arguments and the policy that asked');
  await page.screenshot({ path: join(shots, 'approvals.png'), fullPage: true });

  // A new held call appears without a reload.
  const before = await page.locator('article.approval').count();
  const second = await call('demo_transfer_funds', { to: 'acme-supplier', amount: 31000 });
  check(second.status === 403 && second.body.status === 'pending', 'a second large payment is held');
  await eventually('the new approval appears', async () => (await page.locator('article.approval').count()) === before + 1);
  check(true, 'the new approval appeared without a reload');

  // Approve the first payment with a comment; the retried call goes through once.
  const first25k = page.locator('article.approval', { hasText: '25000' });
  await first25k.getByLabel('Comment').fill('invoice checked');
  await first25k.getByRole('button', { name: 'Approve' }).click();
  await eventually('it leaves the pending list', async () => (await page.locator('article.approval', { hasText: '25000' }).count()) === 0);
  const decidedRow = page.locator('table.decided tr', { hasText: 'invoice checked' });
  await decidedRow.waitFor();
  check((await decidedRow.textContent()).includes('approved') && (await decidedRow.textContent()).includes('demo-admin'), 'the decided list says who approved and why');
  const retried = await call('demo_transfer_funds', { to: 'acme-supplier', amount: 25000 });
  check(retried.status === 200 && retried.body.isError === false, 'the retried payment succeeds');
  await page.screenshot({ path: join(shots, 'approvals-decided.png'), fullPage: true });

  // The registry: find the assistant, suspend it; its next call is refused.
  const echo = await call('demo_echo', { message: 'before' });
  check(echo.status === 200, 'the assistant may call echo');
  await page.getByRole('link', { name: 'Registry' }).click();
  await page.getByRole('searchbox').fill('assistant');
  await page.locator('table.registry a', { hasText: 'assistant' }).click();
  await page.getByRole('heading', { name: /assistant/ }).waitFor();
  const assistantId = page.url().split('/').pop();
  await page.getByLabel('Reason').fill('key leaked');
  await page.getByRole('button', { name: 'Suspend' }).click();
  await page.locator('h2 .state.suspended').waitFor();
  check((await page.textContent('main')).includes('key leaked'), 'the agent shows suspended, with the reason');
  check((await page.textContent('main')).includes('holds secret'), "the agent's page lists the lease it holds");
  await page.locator('.related table.audit tbody tr').first().waitFor();
  check((await page.textContent('.related table.audit')).includes('demo_transfer_funds'), "and its recent calls from the audit log");
  await page.screenshot({ path: join(shots, 'registry-agent.png'), fullPage: true });
  await eventually('the suspended agent is refused', async () => (await call('demo_echo', { message: 'after' })).status !== 200);
  check(true, "the suspended agent's next call is refused");
  await page.getByLabel('Reason').fill('rotated');
  await page.getByRole('button', { name: 'Reactivate' }).click();
  await page.locator('h2 .state.active').waitFor();
  check(true, 'and reactivated');
  // The list filters by state: the intern is active, and no agent is suspended any more.
  await page.getByRole('link', { name: 'Registry' }).click();
  await page.getByLabel('State').selectOption('active');
  await page.locator('table.registry a', { hasText: 'intern' }).waitFor();
  await page.getByLabel('State').selectOption('suspended');
  await eventually('no suspended agent is listed', async () => (await page.textContent('.pager')).includes('none'));
  check(true, 'the registry filters by lifecycle state');

  // The risk picture, with a secret about to expire (stored through the API) among what needs
  // a look.
  const asAdmin = { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' };
  const tools = await (await fetch(`${adminUrl}/nhi/tools?search=transfer`, { headers: asAdmin })).json();
  const stored = await fetch(`${adminUrl}/nhi/${tools.items[0].id}/vault/secrets`, {
    method: 'POST',
    headers: asAdmin,
    body: JSON.stringify({ name: 'bank-key', secret_value: 'x', expires_at: new Date(Date.now() + 3 * 86400e3).toISOString() }),
  });
  check(stored.status === 201, 'a secret expiring in three days is stored');
  await page.getByRole('link', { name: 'Risk' }).click();
  await page.locator('.tile').first().waitFor();
  check((await page.locator('.bars .bar').count()) > 0, 'the risk page shows counts by level and type');
  await page.locator('figure.trend rect').first().waitFor();
  const today = new Date().toISOString().slice(0, 10);
  check((await page.textContent('figure.trend')).includes(today), "and today's bar in the day-by-day trend");
  const attention = page.locator('.attention', { hasText: 'expiring' });
  await attention.waitFor();
  check((await attention.textContent()).includes('transfer_funds'), 'and names the NHI whose secret expires soon');
  await page.screenshot({ path: join(shots, 'risk.png'), fullPage: true });

  // A small certification campaign over the agents: drafted, launched, each item decided,
  // completed; the revoked agent loses its access.
  await page.getByRole('link', { name: 'Campaigns' }).click();
  await page.fill('input[name=name]', 'Q4 agents');
  await page.fill('input[name=due_date]', '2099-12-31');
  await page.getByRole('button', { name: 'Create draft' }).click();
  await page.locator('h2 .status.draft').waitFor();
  await page.getByRole('button', { name: 'Launch' }).click();
  await page.locator('h2 .status.active').waitFor();
  const items = await page.locator('article.item').count();
  check(items === 3, `the launched campaign has one item per agent (${items})`);
  for (const [name, verb] of [['assistant', 'Certify'], ['researcher', 'Certify'], ['intern', 'Revoke']]) {
    const item = page.locator(`article.item[data-item="${name}"]`);
    await item.getByLabel('Comment').fill(verb === 'Certify' ? 'still in use' : 'not needed any more');
    await item.getByRole('button', { name: verb }).click();
    await page.locator(`article.item[data-item="${name}"] .decision`).waitFor();
  }
  await page.locator('h2 .status.completed').waitFor();
  check((await page.textContent('.progress')).includes('3 of 3 decided'), 'the campaign completes once every item is decided');
  await page.screenshot({ path: join(shots, 'campaign.png'), fullPage: true });

  // The audit log: the approval and the campaign's decisions are there.
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.locator('table.audit tbody tr').first().waitFor();
  await page.getByLabel('Event').fill('approval.approved');
  await page.getByLabel('Event').press('Enter');
  await eventually('the approval event is listed', async () =>
    (await page.locator('table.audit tbody tr').count()) === 1 && (await page.textContent('table.audit tbody')).includes('demo-admin'));
  check(true, 'the audit log filters to the approval, with who gave it');
  await page.screenshot({ path: join(shots, 'audit.png'), fullPage: true });

  // The policy set is the deployment's: a tenant admin is told it needs `super_admin`; the
  // operator sees every policy with its file and line, and the reload status.
  await page.getByRole('link', { name: 'Policies' }).click();
  await page.getByRole('alert').waitFor();
  check((await page.getByRole('alert').textContent()).includes('super_admin'), 'a tenant admin may not read the policy set');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.fill('#token', root);
  await page.click('button[type=submit]');
  await page.getByRole('link', { name: 'Policies' }).click();
  const row = page.locator('table.policies tr', { hasText: 'large-payment-approval' });
  await row.waitFor();
  check(/arguments\.cedar:\d+/.test(await row.textContent()) && (await row.textContent()).includes('human_approval'), 'the operator sees each policy with its obligation, file and line');
  check((await page.textContent('.reload')).includes('0 failed'), 'and the reload status');
  await page.screenshot({ path: join(shots, 'policies.png'), fullPage: true });

  // A link with something else where an id belongs opens nothing (ids go into API paths).
  await page.goto(`${adminUrl}/#/campaigns/..%2F..%2Fnhi`);
  await page.getByText('No such page.').waitFor();
  await page.goto(`${adminUrl}/#/registry/agents/%E0%A4%A`);
  await page.getByText('No such page.').waitFor();
  check(true, 'a crafted link opens no page');

  // Another tenant's admin sees none of it, not even by a direct link.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.fill('#token', otherAdmin);
  await page.click('button[type=submit]');
  await page.getByText('Nothing is waiting for a decision.').waitFor();
  await page.getByRole('link', { name: 'Registry' }).click();
  await page.locator('.pager').waitFor();
  check((await page.textContent('.pager')).includes('none') && (await page.locator('table.registry tbody tr').count()) === 0, "another tenant's admin sees no approval and no agent");
  await page.goto(`${adminUrl}/#/registry/agents/${assistantId}`);
  await page.getByRole('alert').waitFor();
  check((await page.getByRole('alert').textContent()).includes('not found'), "another tenant's agent, opened by its id, is not found");
  await page.screenshot({ path: join(shots, 'other-tenant.png'), fullPage: true });

  check(problems.length === 0, `no script errors${problems.length ? `: ${problems.join('; ')}` : ''}`);
} catch (e) {
  failed = 1;
  console.error(e);
} finally {
  await browser.close();
}
console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed');
process.exit(failed);
