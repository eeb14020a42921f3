// The Portcullis console: approvals, the registry and the risk picture, over the admin API
// it is served by. The token lives in this tab's sessionStorage and goes out only as an
// `Authorization` header (no cookie: nothing a forged cross-site request could carry).
import { h, render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const TOKEN_KEY = 'portcullis.token';

// --- the admin API -----------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await resp.text();
  const json = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, json);
  return json;
}

// Loads `path` now and every `everyMs` (when given); `reload` fetches again at once.
function useResource(path, everyMs) {
  const [state, setState] = useState({ data: null, error: null });
  const reload = useCallback(() => {
    api('GET', path).then(
      (data) => setState({ data, error: null }),
      (error) => setState((s) => ({ data: s.data, error })),
    );
  }, [path]);
  useEffect(() => {
    reload();
    if (!everyMs) return undefined;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [reload, everyMs]);
  return [state, reload];
}

// --- routing: #/approvals, #/registry/<kind>[/<id>], #/risk, #/campaigns[/<id>], #/audit --

function useHash() {
  const [hash, setHash] = useState(location.hash || '#/approvals');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/approvals');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.slice(2).split('/').map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part; // not an id, nor any page's name: opens nothing
    }
  });
}

const KINDS = { agents: 'Agents', 'service-accounts': 'Service accounts', tools: 'Tools' };
// Record and campaign ids are UUIDs: a link with anything else in their place opens nothing
// (an id is put into API paths).
const isId = (id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
const NotFound = () => html`<p class="error" role="alert">No such page.</p>`;

// --- pieces ------------------------------------------------------------------------------

const When = ({ at }) => (at ? html`<time datetime=${at}>${new Date(at).toLocaleString()}</time>` : '—');

const Failure = ({ error }) =>
  error ? html`<p class="error" role="alert">${error.message}</p>` : null;

function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

// --- sign-in -----------------------------------------------------------------------------

function SignIn({ onIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    try {
      await api('GET', '/nhi?limit=1');
      onIn();
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      setError(err.status === 401 ? new Error('This token is not valid here.') : err);
    }
  };
  return html`<main class="signin">
    <h1>Portcullis</h1>
    <form onSubmit=${submit}>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="4" autocomplete="off" spellcheck="false" value=${token}
        onInput=${(e) => setToken(e.target.value)} required></textarea>
      <button type="submit">Sign in</button>
      <${Failure} error=${error} />
    </form>
  </main>`;
}

// --- approvals ---------------------------------------------------------------------------

function PendingApproval({ approval, onDecided }) {
  const [{ data: full, error }] = useResource(`/approvals/${approval.id}`);
  // The requesting agent's name and owner (a service account is shown by its id).
  const [{ data: agent }] = useResource(`/nhi/agents/${approval.principal_id}`);
  const [comment, setComment] = useState('');
  const [failure, setFailure] = useState(null);
  const decide = async (verb) => {
    try {
      await api('POST', `/approvals/${approval.id}/${verb}`, { comment: comment || undefined });
      onDecided();
    } catch (err) {
      setFailure(err);
    }
  };
  return html`<article class="card approval" data-approval=${approval.id}>
    <header><strong>${approval.tool}</strong> <span class="muted">requested <${When} at=${approval.created_at} /></span></header>
    <dl>
      <dt>Agent</dt><dd><a href=${`#/registry/agents/${approval.principal_id}`}>${agent?.name || approval.principal_id}</a></dd>
      <dt>Owner</dt><dd>${agent?.owner_id || '—'}</dd>
      ${approval.chain.length ? html`<dt>Delegation chain</dt><dd>${approval.chain.join(' → ')}</dd>` : null}
      ${approval.on_behalf_of ? html`<dt>On behalf of</dt><dd>${approval.on_behalf_of}</dd>` : null}
      <dt>Policies</dt><dd>${approval.policies.join(', ')}</dd>
      <dt>Expires</dt><dd><${When} at=${approval.expires_at} /></dd>
    </dl>
    <h3>Arguments</h3>
    ${full ? html`<${Json} value=${full.arguments} />` : html`<${Failure} error=${error} />`}
    <label>Comment <input value=${comment} onInput=${(e) => setComment(e.target.value)} /></label>
    <div class="actions">
      <button class="approve" onClick=${() => decide('approve')}>Approve</button>
      <button class="deny" onClick=${() => decide('deny')}>Deny</button>
    </div>
    <${Failure} error=${failure} />
  </article>`;
}

function Approvals() {
  // Polled: a new request shows up within two seconds, without a reload.
  const [{ data: pending, error }, reload] = useResource('/approvals?status=pending', 2000);
  const [{ data: approved }, reloadApproved] = useResource('/approvals?status=approved&limit=20', 5000);
  const [{ data: denied }, reloadDenied] = useResource('/approvals?status=denied&limit=20', 5000);
  const decided = () => {
    reload();
    reloadApproved();
    reloadDenied();
  };
  const done = [...(approved?.items || []), ...(denied?.items || [])].sort((a, b) =>
    (b.decided_at || '').localeCompare(a.decided_at || ''),
  );
  return html`<section>
    <h2>Pending approvals <span class="count">${pending ? pending.total : '…'}</span></h2>
    <${Failure} error=${error} />
    ${pending && pending.items.length === 0 ? html`<p class="muted">Nothing is waiting for a decision.</p>` : null}
    ${(pending?.items || []).map((a) => html`<${PendingApproval} key=${a.id} approval=${a} onDecided=${decided} />`)}
    <h2>Decided</h2>
    <table class="decided">
      <thead><tr><th>Tool</th><th>Agent</th><th>Decision</th><th>By</th><th>When</th><th>Comment</th></tr></thead>
      <tbody>
        ${done.map((a) => html`<tr key=${a.id}>
          <td>${a.tool}</td><td>${a.principal_id}</td><td class=${a.status}>${a.status}</td>
          <td>${a.decided_by || '—'}</td><td><${When} at=${a.decided_at} /></td><td>${a.comment || ''}</td>
        </tr>`)}
      </tbody>
    </table>
  </section>`;
}

// --- the registry ------------------------------------------------------------------------

const PAGE = 20;

function Registry({ kind }) {
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const query = `limit=${PAGE}&offset=${offset}${search ? `&search=${encodeURIComponent(search)}` : ''}${status ? `&status=${status}` : ''}`;
  const [{ data, error }] = useResource(`/nhi/${kind}?${query}`);
  return html`<section>
    <nav class="tabs">
      ${Object.entries(KINDS).map(([k, label]) => html`<a href=${`#/registry/${k}`} class=${k === kind ? 'active' : ''}>${label}</a>`)}
    </nav>
    <div class="filters">
      <input type="search" placeholder="Search by name or description" aria-label="Search" value=${search}
        onInput=${(e) => { setSearch(e.target.value); setOffset(0); }} />
      <label>State <select value=${status} onChange=${(e) => { setStatus(e.target.value); setOffset(0); }}>
        <option value="">any</option>
        ${['active', 'inactive', 'suspended', 'deprecated', 'archived'].map((st) => html`<option key=${st} value=${st}>${st}</option>`)}
      </select></label>
    </div>
    <${Failure} error=${error} />
    <table class="registry">
      <thead><tr><th>Name</th><th>State</th><th>Risk</th><th>Owner</th><th>Last used</th></tr></thead>
      <tbody>
        ${(data?.items || []).map((n) => html`<tr key=${n.id}>
          <td><a href=${`#/registry/${kind}/${n.id}`}>${n.name}</a></td>
          <td class=${`state ${n.lifecycle_state}`}>${n.lifecycle_state}</td>
          <td class=${`risk ${n.risk?.level || n.risk_level}`}>${n.risk?.level || n.risk_level}</td>
          <td>${n.owner_id || '—'}</td><td><${When} at=${n.last_used_at} /></td>
        </tr>`)}
      </tbody>
    </table>
    ${data ? html`<p class="pager">
      <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
      ${data.total ? `${offset + 1}–${Math.min(offset + PAGE, data.total)} of ${data.total}` : 'none'}
      <button disabled=${offset + PAGE >= data.total} onClick=${() => setOffset(offset + PAGE)}>Next</button>
    </p>` : null}
  </section>`;
}

function Lifecycle({ nhi, kind, onChanged }) {
  const [reason, setReason] = useState('');
  const [failure, setFailure] = useState(null);
  const verb = nhi.lifecycle_state === 'suspended' ? 'reactivate' : 'suspend';
  const change = async (e) => {
    e.preventDefault();
    try {
      await api('POST', `/nhi/${kind}/${nhi.id}/${verb}`, { reason });
      setReason('');
      onChanged();
    } catch (err) {
      setFailure(err);
    }
  };
  if (!['active', 'suspended'].includes(nhi.lifecycle_state)) return null;
  return html`<form class="lifecycle" onSubmit=${change}>
    <label>Reason <input value=${reason} onInput=${(e) => setReason(e.target.value)} required /></label>
    <button type="submit" class=${verb}>${verb === 'suspend' ? 'Suspend' : 'Reactivate'}</button>
    <${Failure} error=${failure} />
  </form>`;
}

function Related({ title, path, show }) {
  const [{ data, error }] = useResource(path);
  return html`<div class="related">
    <h3>${title} <span class="count">${data ? data.total : '…'}</span></h3>
    <${Failure} error=${error} />
    <ul>${(data?.items || []).map((item, i) => html`<li key=${i}>${show(item)}</li>`)}</ul>
  </div>`;
}

function Detail({ kind, id }) {
  const [{ data: nhi, error }, reload] = useResource(`/nhi/${kind}/${id}`);
  if (!nhi) return html`<${Failure} error=${error} />`;
  return html`<section class="detail">
    <p><a href=${`#/registry/${kind}`}>← ${KINDS[kind]}</a></p>
    <h2>${nhi.name} <span class=${`state ${nhi.lifecycle_state}`}>${nhi.lifecycle_state}</span></h2>
    ${nhi.lifecycle_reason ? html`<p class="muted">${nhi.lifecycle_reason}</p>` : null}
    <dl>
      <dt>Id</dt><dd><code>${nhi.id}</code></dd>
      <dt>Owner</dt><dd>${nhi.owner_id || '—'}</dd>
      <dt>Description</dt><dd>${nhi.description || '—'}</dd>
      <dt>Risk</dt><dd class=${`risk ${nhi.risk?.level}`}>${nhi.risk?.level} (${nhi.risk?.score})
        ${(nhi.risk?.factors || []).length ? html` — ${nhi.risk.factors.map((f) => `${f.factor} +${f.points}`).join(', ')}` : null}</dd>
      <dt>Last used</dt><dd><${When} at=${nhi.last_used_at} /></dd>
    </dl>
    <${Lifecycle} nhi=${nhi} kind=${kind} onChanged=${reload} />
    ${kind === 'agents' ? html`<${Related} title="Tool grants" path=${`/nhi/agents/${id}/tools`} show=${(t) => (t.upstream ? `${t.name} (${t.upstream})` : t.name)} />` : null}
    ${kind === 'tools' ? html`<${Related} title="Granted to" path=${`/nhi/tools/${id}/agents`} show=${(a) => a.name} />` : null}
    ${kind !== 'tools' ? html`<${Related} title="May call or delegate to" path=${`/nhi/${id}/callees`} show=${(e) => `${e.nhi.name} (${e.permission_type})`} />` : null}
    <${Related} title="Called or delegated to by" path=${`/nhi/${id}/callers`} show=${(e) => `${e.nhi.name} (${e.permission_type})`} />
    <${Related} title="User permissions" path=${`/nhi/${id}/users`} show=${(u) => `${u.user_id}: ${u.permission_level}`} />
    <${Related} title="Leases held or granted" path=${`/nhi/${id}/vault/leases`}
      show=${(l) => html`${l.consumer_nhi_id === id ? 'holds' : 'grants'} secret <code>${l.secret_id}</code>
        ${l.consumer_nhi_id === id ? '' : html` to <code>${l.consumer_nhi_id}</code>`} — ${l.active ? html`until <${When} at=${l.expires_at} />` : 'ended'}`} />
    <${RecentAudit} id=${id} />
  </section>`;
}

// The NHI's latest audit events: its own calls and what was done to it.
function RecentAudit({ id }) {
  const [{ data: calls, error }] = useResource(`/audit?principal=${encodeURIComponent(id)}&limit=10`);
  return html`<div class="related">
    <h3>Recent activity</h3>
    <${Failure} error=${error} />
    ${calls && calls.items.length === 0 ? html`<p class="muted">No audit events.</p>` : null}
    <table class="audit">
      <tbody>${(calls?.items || []).map((e, i) => html`<tr key=${i}>
        <td><${When} at=${e.time} /></td><td>${e.event || e.method || ''}</td>
        <td>${e.tool || e.target || ''}</td><td class=${e.decision || ''}>${e.decision || ''}</td><td>${e.status ?? ''}</td>
      </tr>`)}</tbody>
    </table>
  </div>`;
}

// --- risk --------------------------------------------------------------------------------

function Bars({ title, counts, order }) {
  const entries = Object.entries(counts || {});
  if (order) entries.sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  const most = Math.max(1, ...entries.map(([, n]) => n));
  return html`<figure class="bars">
    <figcaption>${title}</figcaption>
    ${entries.map(([name, n]) => html`<div class="bar" key=${name}>
      <span class="label">${name}</span>
      <span class=${`fill ${name}`} style=${{ width: `${(100 * n) / most}%` }}></span>
      <span class="n">${n}</span>
    </div>`)}
  </figure>`;
}

// The last 30 days' NHIs by level, one stacked bar a day.
const LEVELS = ['critical', 'high', 'medium', 'low'];

function Trend() {
  const [{ data }] = useResource('/nhi/risk-trend?limit=30');
  const days = [...(data?.items || [])].reverse();
  if (!days.length) return null;
  const [width, height, gap] = [640, 160, 4];
  const most = Math.max(1, ...days.map((d) => d.total));
  const bar = Math.min(40, (width - gap * days.length) / days.length);
  return html`<figure class="trend">
    <figcaption>NHIs by risk level, day by day</figcaption>
    <svg viewBox=${`0 0 ${width} ${height + 18}`} role="img" aria-label="NHIs by risk level per day">
      ${days.map((d, i) => {
        let top = height;
        return html`<g key=${d.date}>
          <title>${d.date}: ${LEVELS.map((l) => `${d.by_risk_level[l] || 0} ${l}`).join(', ')}</title>
          ${[...LEVELS].reverse().map((l) => {
            const h = (height * (d.by_risk_level[l] || 0)) / most;
            top -= h;
            return html`<rect key=${l} class=${`seg ${l}`} x=${i * (bar + gap)} y=${top} width=${bar} height=${h} />`;
          })}
        </g>`;
      })}
      <text x="0" y=${height + 14} class="axis">${days[0].date}</text>
      ${days.length > 1 ? html`<text x=${(days.length - 1) * (bar + gap) + bar} y=${height + 14} class="axis" text-anchor="end">${days[days.length - 1].date}</text>` : null}
    </svg>
  </figure>`;
}

const KIND_PATHS = { ai_agent: 'agents', service_account: 'service-accounts', tool: 'tools' };

// NHIs that need a look, linked to their pages (the API names at most 50 of each).
function Attention({ title, items, count, label }) {
  if (!count) return null;
  return html`<div class="attention">
    <h3>${title} <span class="count">${count}</span></h3>
    <ul>${(items || []).map((n) => html`<li key=${n.id}>
      <a href=${`#/registry/${KIND_PATHS[n.nhi_type] || 'agents'}/${n.id}`}>${n.name}</a>
      <span class="muted"> ${n.nhi_type.replace('_', ' ')}, ${label} <${When} at=${n.at} /></span>
    </li>`)}</ul>
    ${items && count > items.length ? html`<p class="muted">and ${count - items.length} more</p>` : null}
  </div>`;
}

function Risk() {
  const [{ data, error }] = useResource('/nhi/risk-summary', 10000);
  return html`<section>
    <h2>Risk</h2>
    <${Failure} error=${error} />
    ${data ? html`<div class="tiles">
      <div class="tile"><span class="n">${data.total_count}</span> NHIs</div>
      <div class="tile"><span class="n">${data.pending_certification}</span> pending certification</div>
      <div class="tile"><span class="n">${data.inactive_30_days}</span> inactive 30 days</div>
      <div class="tile"><span class="n">${data.expiring_7_days}</span> expiring in 7 days</div>
    </div>
    <${Bars} title="By risk level" counts=${data.by_risk_level} order=${['critical', 'high', 'medium', 'low']} />
    <${Bars} title="By type" counts=${data.by_type} />
    <${Trend} />
    <${Attention} title="Inactive for 30 days or more" items=${data.inactive} count=${data.inactive_30_days} label="last used" />
    <${Attention} title="A secret expiring within 7 days" items=${data.expiring} count=${data.expiring_7_days} label="expires" />` : null}
  </section>`;
}

// --- certification campaigns -------------------------------------------------------------

const TYPES = { ai_agent: 'Agents', service_account: 'Service accounts', tool: 'Tools' };

function NewCampaign({ onCreated }) {
  const [form, setForm] = useState({ name: '', types: ['ai_agent'], risk_min: '', reviewer_id: '', due_date: '', due_rule: 'revoke' });
  const [failure, setFailure] = useState(null);
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  const toggle = (t) => setForm({ ...form, types: form.types.includes(t) ? form.types.filter((x) => x !== t) : [...form.types, t] });
  const create = async (e) => {
    e.preventDefault();
    try {
      const body = { name: form.name, nhi_types: form.types, due_date: form.due_date, due_rule: form.due_rule };
      if (form.risk_min) body.risk_min = form.risk_min;
      if (form.reviewer_id) body.reviewer_id = form.reviewer_id;
      const created = await api('POST', '/nhi/certifications', body);
      location.hash = `#/campaigns/${created.id}`;
      onCreated();
    } catch (err) {
      setFailure(err);
    }
  };
  return html`<form class="card campaign-form" onSubmit=${create}>
    <h3>New campaign</h3>
    <label>Name <input name="name" value=${form.name} onInput=${set('name')} required /></label>
    <fieldset><legend>Reviews</legend>
      ${Object.entries(TYPES).map(([t, label]) => html`<label key=${t}><input type="checkbox" checked=${form.types.includes(t)} onChange=${() => toggle(t)} /> ${label}</label>`)}
    </fieldset>
    <label>At least this risky <select value=${form.risk_min} onChange=${set('risk_min')}>
      <option value="">any</option><option value="low">low</option><option value="medium">medium</option><option value="high">high</option><option value="critical">critical</option>
    </select></label>
    <label>Reviewer <input value=${form.reviewer_id} onInput=${set('reviewer_id')} placeholder="each NHI's owner" /></label>
    <label>Due <input type="date" name="due_date" value=${form.due_date} onInput=${set('due_date')} required /></label>
    <label>Open items at the due date are <select value=${form.due_rule} onChange=${set('due_rule')}>
      <option value="revoke">revoked</option><option value="certify">certified</option>
    </select></label>
    <button type="submit">Create draft</button>
    <${Failure} error=${failure} />
  </form>`;
}

function Campaigns() {
  const [{ data, error }, reload] = useResource('/nhi/certifications');
  return html`<section>
    <h2>Certification campaigns</h2>
    <${Failure} error=${error} />
    <table class="campaigns">
      <thead><tr><th>Name</th><th>Status</th><th>Due</th><th>Decided</th></tr></thead>
      <tbody>${(data?.items || []).map((c) => html`<tr key=${c.id}>
        <td><a href=${`#/campaigns/${c.id}`}>${c.name}</a></td><td class=${`status ${c.status}`}>${c.status}</td>
        <td><${When} at=${c.due_date} /></td><td>${c.decided} / ${c.items}</td>
      </tr>`)}</tbody>
    </table>
    <${NewCampaign} onCreated=${reload} />
  </section>`;
}

function CampaignItem({ campaign, item, onDecided }) {
  const [comment, setComment] = useState('');
  const [failure, setFailure] = useState(null);
  const decide = async (verb) => {
    try {
      await api('POST', `/nhi/certifications/${campaign.id}/${verb}/${item.nhi_id}`, { comment: comment || undefined });
      onDecided();
    } catch (err) {
      setFailure(err);
    }
  };
  const unused = new Set(item.unused_grants);
  return html`<article class="card item" data-item=${item.name}>
    <header><strong>${item.name}</strong> <span class="muted">${TYPES[item.nhi_type] || item.nhi_type}</span>
      ${item.decision ? html` <span class=${`decision ${item.decision}`}>${item.decision}</span>` : null}</header>
    <dl>
      <dt>Last used</dt><dd><${When} at=${item.last_used_at} /></dd>
      <dt>Grants</dt><dd>${item.grants.length ? item.grants.map((g) => html`<span class=${unused.has(g.id) ? 'grant unused' : 'grant'} key=${g.id}>${g.name}${unused.has(g.id) ? ' (unused 30 days)' : ''}</span>`) : 'none'}</dd>
      ${item.decision ? html`<dt>Decided</dt><dd>${item.by_rule ? 'by the due-date rule' : item.decided_by} <${When} at=${item.decided_at} />${item.comment ? ` — ${item.comment}` : ''}</dd>` : null}
    </dl>
    ${!item.decision && campaign.status === 'active' ? html`
      <label>Comment <input value=${comment} onInput=${(e) => setComment(e.target.value)} /></label>
      <div class="actions">
        <button class="approve" onClick=${() => decide('certify')}>Certify</button>
        <button class="deny" onClick=${() => decide('revoke')}>Revoke</button>
      </div>` : null}
    <${Failure} error=${failure} />
  </article>`;
}

function Campaign({ id }) {
  const [{ data: c, error }, reload] = useResource(`/nhi/certifications/${id}`);
  const [failure, setFailure] = useState(null);
  const act = async (verb) => {
    try {
      await api('POST', `/nhi/certifications/${id}/${verb}`);
      reload();
    } catch (err) {
      setFailure(err);
    }
  };
  if (!c) return html`<${Failure} error=${error} />`;
  const open = c.items.filter((i) => !i.decision);
  return html`<section class="campaign">
    <p><a href="#/campaigns">← Campaigns</a></p>
    <h2>${c.name} <span class=${`status ${c.status}`}>${c.status}</span></h2>
    <p class="progress">${c.progress ? `${c.progress.decided} of ${c.progress.total} decided` : ''}
      <progress max=${c.progress?.total || 1} value=${c.progress?.decided || 0}></progress></p>
    <p class="muted">Due <${When} at=${c.due_date} />; open items then are ${c.due_rule === 'certify' ? 'certified' : 'revoked'}.</p>
    <div class="actions">
      ${c.status === 'draft' ? html`<button onClick=${() => act('launch')}>Launch</button>` : null}
      ${['draft', 'active'].includes(c.status) ? html`<button onClick=${() => act('cancel')}>Cancel campaign</button>` : null}
    </div>
    <${Failure} error=${failure} />
    ${open.length ? html`<h3>To review <span class="count">${open.length}</span></h3>` : null}
    ${open.map((i) => html`<${CampaignItem} key=${i.nhi_id} campaign=${c} item=${i} onDecided=${reload} />`)}
    ${c.items.length > open.length ? html`<h3>Decided</h3>` : null}
    ${c.items.filter((i) => i.decision).map((i) => html`<${CampaignItem} key=${i.nhi_id} campaign=${c} item=${i} onDecided=${reload} />`)}
  </section>`;
}

// --- the audit log -----------------------------------------------------------------------

function Audit() {
  const [filters, setFilters] = useState({ decision: '', principal: '', tool: '', event: '' });
  const [cursor, setCursor] = useState('');
  const query = Object.entries({ ...filters, cursor, limit: '50' })
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  const [{ data, error }] = useResource(`/audit?${query}`);
  const set = (key) => (e) => {
    setFilters({ ...filters, [key]: e.target.value });
    setCursor('');
  };
  return html`<section>
    <h2>Audit log</h2>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Decision <select value=${filters.decision} onChange=${set('decision')}>
        <option value="">any</option><option value="allow">allow</option><option value="deny">deny</option>
        <option value="approval_required">approval required</option><option value="approved">approved</option>
      </select></label>
      <label>Principal <input value=${filters.principal} onChange=${set('principal')} placeholder="id" /></label>
      <label>Tool <input value=${filters.tool} onChange=${set('tool')} /></label>
      <label>Event <input value=${filters.event} onChange=${set('event')} placeholder="e.g. approval.approved" /></label>
    </form>
    <${Failure} error=${error} />
    <table class="audit">
      <thead><tr><th>Time</th><th>What</th><th>Who</th><th>Tool or target</th><th>Decision</th><th>Status</th></tr></thead>
      <tbody>${(data?.items || []).map((e, i) => html`<tr key=${i}>
        <td><${When} at=${e.time} /></td><td>${e.event || e.method || ''}</td><td>${e.actor || e.approver || e.principal || ''}</td>
        <td>${e.tool || e.target || e.campaign || e.approval || ''}</td><td class=${e.decision || ''}>${e.decision || ''}</td><td>${e.status ?? ''}</td>
      </tr>`)}</tbody>
    </table>
    <p class="pager">
      ${cursor ? html`<button onClick=${() => setCursor('')}>Newest</button>` : null}
      ${data?.next_cursor ? html`<button onClick=${() => setCursor(data.next_cursor)}>Older</button>` : null}
    </p>
  </section>`;
}

// --- the policy set ----------------------------------------------------------------------

function Policies() {
  const [{ data, error }] = useResource('/policies?limit=500');
  const [{ data: ready }] = useResource('/readyz', 10000);
  const reload = ready?.policy;
  return html`<section>
    <h2>Policies <span class="count">${data ? data.total : ''}</span></h2>
    ${reload ? html`<p class=${reload.failing ? 'reload failing' : 'reload'}>
      Serving set ${reload.epoch}: ${reload.reloads} reloads, ${reload.failures} failed.
      ${reload.failing ? html`<br />The last reload failed, the previous set still serves${reload.last_error ? html`: <code>${reload.last_error}</code>` : '.'}` : ''}
    </p>` : null}
    <${Failure} error=${error} />
    ${data ? html`<table class="policies">
      <thead><tr><th>Id</th><th>Effect</th><th>Obligation</th><th>Where</th></tr></thead>
      <tbody>${data.items.map((p) => html`<tr key=${p.id}>
        <td><code>${p.id}</code></td><td class=${p.effect}>${p.effect}</td><td>${p.obligation || ''}</td>
        <td><code>${p.file}:${p.line}</code></td>
      </tr>`)}</tbody>
    </table>` : null}
  </section>`;
}

// --- the shell ---------------------------------------------------------------------------

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(sessionStorage.getItem(TOKEN_KEY)));
  const [page, kind, id] = useHash();
  if (!signedIn) return html`<${SignIn} onIn=${() => setSignedIn(true)} />`;
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = '#/approvals';
    setSignedIn(false);
  };
  let body;
  if (page === 'registry') {
    const k = KINDS[kind] ? kind : 'agents';
    if (!id) body = html`<${Registry} key=${k} kind=${k} />`;
    else body = isId(id) ? html`<${Detail} key=${id} kind=${k} id=${id} />` : html`<${NotFound} />`;
  } else if (page === 'risk') {
    body = html`<${Risk} />`;
  } else if (page === 'campaigns') {
    if (!kind) body = html`<${Campaigns} />`;
    else body = isId(kind) ? html`<${Campaign} key=${kind} id=${kind} />` : html`<${NotFound} />`;
  } else if (page === 'audit') {
    body = html`<${Audit} />`;
  } else if (page === 'policies') {
    body = html`<${Policies} />`;
  } else {
    body = html`<${Approvals} />`;
  }
  return html`<div class="shell">
    <header class="top">
      <strong>Portcullis</strong>
      <nav>
        <a href="#/approvals" class=${page === 'approvals' || !page ? 'active' : ''}>Approvals</a>
        <a href="#/registry/agents" class=${page === 'registry' ? 'active' : ''}>Registry</a>
        <a href="#/risk" class=${page === 'risk' ? 'active' : ''}>Risk</a>
        <a href="#/campaigns" class=${page === 'campaigns' ? 'active' : ''}>Campaigns</a>
        <a href="#/audit" class=${page === 'audit' ? 'active' : ''}>Audit</a>
        <a href="#/policies" class=${page === 'policies' ? 'active' : ''}>Policies</a>
      </nav>
      <button class="signout" onClick=${signOut}>Sign out</button>
    </header>
    <main>${body}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
