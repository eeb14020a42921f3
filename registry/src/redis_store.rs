//! The shared backend: a Redis server, written only through atomic Lua scripts.
//!
//! Every write is one script that checks its preconditions, writes, bumps `{p}:rev` and
//! publishes the new revision on `{p}:changes`, so every instance sharing the server (and
//! prefix) sees every write on its change feed. The two exceptions are audit appends and
//! last-use touches, which are not registry changes: they move neither the revision nor any
//! record version, and are not announced. Key layout, all under the prefix `{p}`:
//!
//! - `{p}:rev`: the revision counter; `{p}:seq`: the insertion sequence (for ordering);
//! - `{p}:tenants`: a set of every tenant ever written;
//! - `{p}:nhi:{tenant}:{id}`: the record, as JSON;
//! - `{p}:idx:{tenant}:{kind}`: a sorted set of record ids scored by insertion sequence;
//! - `{p}:rel:{tenant}:{kind}`: a hash from `["source","target"]` (JSON) to `"{seq}|{level}"`;
//! - `{p}:lastused:{tenant}`: a hash from record id to the latest use, in Unix milliseconds,
//!   kept beside the record (so updates leave it alone) and shown as `last_used_at` on reads;
//! - `{p}:vault:{tenant}:{kind}:{id}`: a vault document (a hash: `v` its version, `b` its
//!   JSON body); `{p}:vidx:{tenant}:{kind}` the set of their ids;
//! - `{p}:appr:{tenant}:{id}`: an approval (a hash: `v` version, `b` JSON body, `s` status,
//!   `e` expiry in Unix ms); `{p}:apprbind:{tenant}:{binding}` the id of the newest approval
//!   of a binding; `{p}:appridx:{tenant}` their ids scored by creation time;
//!   `{p}:apprpend:{tenant}:{principal}` a principal's pending ids scored by expiry, and
//!   `{p}:apprpend` every tenant's (`{tenant}/{id}`); `{p}:apprtenants` the tenants with any.
//!   Approval writes move no revision and are not announced;
//! - `{p}:doc:{kind}:{n}:{tenant}:{id}`: a governance document (a hash: `v` version, `b`
//!   body); `{p}:docs:{kind}` their `[tenant, id]` (JSON). Document writes move no revision;
//! - `{p}:task:{n}:{tenant}:{m}:{agent}:{task}` (`n`, `m`: the byte lengths that follow, so
//!   no two triples share a key): a task's owner as JSON; `{p}:tasks:{n}:{tenant}:{principal}`
//!   a principal's task keys scored by creation time, and `{p}:tasksall` every task key (with
//!   its principal's set, after a newline) scored the same, for purging. Task writes move no
//!   revision and are not announced;
//! - `{p}:audit:{tenant}`: a stream of audit events (fields `at`: Unix milliseconds, `e`: the
//!   event as JSON), capped at about a million (`AUDIT_CAP`) entries per tenant.
//!
//! The scripts touch undeclared keys (the snapshot walks every tenant), so this backend
//! needs a standalone (or replicated) Redis, not a cluster.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubStream};
use redis::{Client, Script};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::approval::Approval;
use crate::error::StoreError;
use crate::model::{AuditRecord, LastUse, Nhi, NhiKind, Relation, RelationKind};
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::task::TaskOwner;
use crate::vault::{VaultDoc, VaultKind};

/// The approximate number of audit events kept per tenant (older ones are trimmed).
const AUDIT_CAP: u64 = 1_000_000;

const NHI_KINDS: [NhiKind; 3] = [NhiKind::ServiceAccount, NhiKind::Agent, NhiKind::Tool];
const RELATION_KINDS: [RelationKind; 4] = [
    RelationKind::ToolGrant,
    RelationKind::Calling,
    RelationKind::Delegation,
    RelationKind::User,
];

/// Bumps the revision and announces it; every write script ends with this.
macro_rules! lua_bump {
    ($rev:literal, $channel:literal) => {
        concat!(
            "local rev = redis.call('INCR', ",
            $rev,
            ")\nredis.call('PUBLISH', ",
            $channel,
            ", rev)\n"
        )
    };
}

/// KEYS: doc, idx, rev, seq, tenants. ARGV: doc, id, tenant, channel. Returns 0 if it exists.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n",
        "redis.call('SET', KEYS[1], ARGV[1])\n",
        "redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[2])\n",
        "redis.call('SADD', KEYS[5], ARGV[3])\n",
        lua_bump!("KEYS[3]", "ARGV[4]"),
        "return rev\n"
    ))
});

/// One chunk of an import. KEYS: seq, tenants, then doc and idx of each record. ARGV: doc, id,
/// tenant of each record. Returns 0, or the 1-based position of a record that exists (then
/// nothing of the chunk is written).
static IMPORT_NHIS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local n = (#KEYS - 2) / 2\n",
        "for i = 1, n do\n",
        "  if redis.call('EXISTS', KEYS[1 + 2 * i]) == 1 then return i end\n",
        "end\n",
        "for i = 1, n do\n",
        "  redis.call('SET', KEYS[1 + 2 * i], ARGV[3 * i - 2])\n",
        "  redis.call('ZADD', KEYS[2 + 2 * i], redis.call('INCR', KEYS[1]), ARGV[3 * i - 1])\n",
        "  redis.call('SADD', KEYS[2], ARGV[3 * i])\n",
        "end\n",
        "return 0\n"
    ))
});

/// One chunk of an import's relations. KEYS: seq, tenants, then the relation hash of each.
/// ARGV: field, level, tenant of each.
static IMPORT_RELATIONS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "for i = 1, #KEYS - 2 do\n",
        "  local cur = redis.call('HGET', KEYS[2 + i], ARGV[3 * i - 2])\n",
        "  local seq = cur and string.match(cur, '^(%d+)|') or redis.call('INCR', KEYS[1])\n",
        "  redis.call('HSET', KEYS[2 + i], ARGV[3 * i - 2], string.format('%d|%s', seq, ARGV[3 * i - 1]))\n",
        "  redis.call('SADD', KEYS[2], ARGV[3 * i])\n",
        "end\n",
        "return 0\n"
    ))
});

/// KEYS: rev. ARGV: channel. Announces the end of an import.
static BUMP: LazyLock<Script> =
    LazyLock::new(|| Script::new(concat!(lua_bump!("KEYS[1]", "ARGV[1]"), "return rev\n")));

/// KEYS: doc, rev. ARGV: doc, kind, expected version, channel.
/// Returns {0, rev} on success, {1, 0} if missing, {2, stored version} on a conflict.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local cur = redis.call('GET', KEYS[1])\n",
        "if not cur then return {1, 0} end\n",
        "local stored = cjson.decode(cur)\n",
        "if stored.kind ~= ARGV[2] then return {1, 0} end\n",
        "local version = tonumber(stored.version)\n",
        "if version ~= tonumber(ARGV[3]) then return {2, version} end\n",
        "redis.call('SET', KEYS[1], ARGV[1])\n",
        lua_bump!("KEYS[2]", "ARGV[4]"),
        "return {0, rev}\n"
    ))
});

/// KEYS: doc, rev, the 3 indexes, the 4 relation hashes, the last-use hash. ARGV: id, channel.
/// Returns 0 if the record did not exist.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "if redis.call('DEL', KEYS[1]) == 0 then return 0 end\n",
        "for i = 3, 5 do redis.call('ZREM', KEYS[i], ARGV[1]) end\n",
        "redis.call('HDEL', KEYS[10], ARGV[1])\n",
        "for i = 6, 9 do\n",
        "  for _, f in ipairs(redis.call('HKEYS', KEYS[i])) do\n",
        "    local st = cjson.decode(f)\n",
        "    if st[1] == ARGV[1] or st[2] == ARGV[1] then redis.call('HDEL', KEYS[i], f) end\n",
        "  end\n",
        "end\n",
        lua_bump!("KEYS[2]", "ARGV[2]"),
        "return rev\n"
    ))
});

/// KEYS: hash, rev, seq, tenants. ARGV: field, level ("" for none), tenant, channel.
/// Returns {1 if new else 0, rev or 0 if unchanged}.
static PUT_RELATION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n",
        "local new, seq = 0, nil\n",
        "if cur then\n",
        "  local s, level = string.match(cur, '^(%d+)|(.*)$')\n",
        "  if level == ARGV[2] then return {0, 0} end\n",
        "  seq = s\n",
        "else\n",
        "  new, seq = 1, redis.call('INCR', KEYS[3])\n",
        "end\n",
        "redis.call('HSET', KEYS[1], ARGV[1], string.format('%d|%s', seq, ARGV[2]))\n",
        "redis.call('SADD', KEYS[4], ARGV[3])\n",
        lua_bump!("KEYS[2]", "ARGV[4]"),
        "return {new, rev}\n"
    ))
});

/// KEYS: hash, rev. ARGV: field, channel. Returns 0 if absent.
static DELETE_RELATION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end\n",
        lua_bump!("KEYS[2]", "ARGV[2]"),
        "return rev\n"
    ))
});

/// KEYS: one last-use hash per use. ARGV: id, millis for each use, in the same order.
/// Keeps the later time per record; touches nothing else (no revision, no announcement).
static TOUCH_LAST_USED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "for i = 1, #KEYS do\n",
        "  local id, ms = ARGV[2 * i - 1], ARGV[2 * i]\n",
        "  local cur = redis.call('HGET', KEYS[i], id)\n",
        "  if not cur or tonumber(ms) > tonumber(cur) then redis.call('HSET', KEYS[i], id, ms) end\n",
        "end\n",
        "return 0\n"
    ))
});

/// KEYS: rev, tenants. ARGV: prefix. Returns, read atomically,
/// `{rev, {{seq, doc, last-use millis or nil}...}, {{tenant, kind, field, value}...}}`.
static SNAPSHOT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local p = ARGV[1]\n",
        "local docs, rels, vault = {}, {}, {}\n",
        "for _, t in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n",
        "  local used = p .. ':lastused:' .. t\n",
        "  for _, k in ipairs({'service_account', 'agent', 'tool'}) do\n",
        "    local ids = redis.call('ZRANGE', p .. ':idx:' .. t .. ':' .. k, 0, -1, 'WITHSCORES')\n",
        "    for i = 1, #ids, 2 do\n",
        "      local doc = redis.call('GET', p .. ':nhi:' .. t .. ':' .. ids[i])\n",
        "      if doc then\n",
        "        local ms = redis.call('HGET', used, ids[i])\n",
        "        table.insert(docs, {tonumber(ids[i + 1]), doc, ms})\n",
        "      end\n",
        "    end\n",
        "  end\n",
        "  for _, k in ipairs({'tool_grant', 'calling', 'delegation', 'user'}) do\n",
        "    local h = redis.call('HGETALL', p .. ':rel:' .. t .. ':' .. k)\n",
        "    for i = 1, #h, 2 do\n",
        "      table.insert(rels, {t, k, h[i], h[i + 1]})\n",
        "    end\n",
        "  end\n",
        "  for _, k in ipairs({'secret', 'lease', 'client'}) do\n",
        "    for _, id in ipairs(redis.call('SMEMBERS', p .. ':vidx:' .. t .. ':' .. k)) do\n",
        "      local vb = redis.call('HMGET', p .. ':vault:' .. t .. ':' .. k .. ':' .. id, 'v', 'b')\n",
        "      if vb[1] then table.insert(vault, {t, k, id, vb[1], vb[2]}) end\n",
        "    end\n",
        "  end\n",
        "end\n",
        "return {redis.call('GET', KEYS[1]) or '0', docs, rels, vault}\n"
    ))
});

/// KEYS: doc, idx, rev, tenants. ARGV: body, id, tenant, channel, expected version ("" for a
/// new document). Returns {0, version} on success, {1, 0} if it exists (new), {2, stored} on a
/// conflict, {3, 0} if it is missing.
static PUT_VAULT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local stored = redis.call('HGET', KEYS[1], 'v')\n",
        "local version\n",
        "if ARGV[5] == '' then\n",
        "  if stored then return {1, 0} end\n",
        "  version = 1\n",
        "else\n",
        "  if not stored then return {3, 0} end\n",
        "  if tonumber(stored) ~= tonumber(ARGV[5]) then return {2, tonumber(stored)} end\n",
        "  version = tonumber(stored) + 1\n",
        "end\n",
        "redis.call('HSET', KEYS[1], 'v', version, 'b', ARGV[1])\n",
        "redis.call('SADD', KEYS[2], ARGV[2])\n",
        "redis.call('SADD', KEYS[4], ARGV[3])\n",
        lua_bump!("KEYS[3]", "ARGV[4]"),
        "return {0, version}\n"
    ))
});

/// KEYS: doc, idx, rev. ARGV: id, channel. Returns 0 if it did not exist.
static DELETE_VAULT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "if redis.call('DEL', KEYS[1]) == 0 then return 0 end\n",
        "redis.call('SREM', KEYS[2], ARGV[1])\n",
        lua_bump!("KEYS[3]", "ARGV[2]"),
        "return rev\n"
    ))
});

/// KEYS: binding pointer, tenant index, principal's pending, every pending, the new doc,
/// tenants with approvals. ARGV: now ms, id, body, expiry ms, creation ms, max pending, doc key
/// prefix, tenant. Returns {0, version, body} for the live approval of the binding,
/// {1, 1, ''} when created, {2, pending count, ''} when the principal has too many pending.
static OPEN_APPROVAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local cur = redis.call('GET', KEYS[1])\n",
        "if cur then\n",
        "  local d = redis.call('HMGET', ARGV[7] .. cur, 's', 'e', 'v', 'b')\n",
        "  if d[1] and d[1] ~= 'consumed' and tonumber(d[2]) > tonumber(ARGV[1]) then\n",
        "    return {0, tonumber(d[3]), d[4]}\n",
        "  end\n",
        "end\n",
        "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])\n",
        "local n = redis.call('ZCARD', KEYS[3])\n",
        "if n >= tonumber(ARGV[6]) then return {2, n, ''} end\n",
        "redis.call('HSET', KEYS[5], 'v', 1, 'b', ARGV[3], 's', 'pending', 'e', ARGV[4])\n",
        "redis.call('SET', KEYS[1], ARGV[2])\n",
        "redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])\n",
        "redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])\n",
        "redis.call('ZADD', KEYS[4], ARGV[4], ARGV[8] .. '/' .. ARGV[2])\n",
        "redis.call('SADD', KEYS[6], ARGV[8])\n",
        "return {1, 1, ''}\n"
    ))
});

/// KEYS: doc, principal's pending, every pending. ARGV: expected version, body, status,
/// expiry ms, id, tenant. Returns {0, version}, {2, stored} on a conflict, {3, 0} if missing.
static UPDATE_APPROVAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local stored = redis.call('HGET', KEYS[1], 'v')\n",
        "if not stored then return {3, 0} end\n",
        "if tonumber(stored) ~= tonumber(ARGV[1]) then return {2, tonumber(stored)} end\n",
        "local version = tonumber(stored) + 1\n",
        "redis.call('HSET', KEYS[1], 'v', version, 'b', ARGV[2], 's', ARGV[3], 'e', ARGV[4])\n",
        "if ARGV[3] == 'pending' then\n",
        "  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])\n",
        "  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6] .. '/' .. ARGV[5])\n",
        "else\n",
        "  redis.call('ZREM', KEYS[2], ARGV[5])\n",
        "  redis.call('ZREM', KEYS[3], ARGV[6] .. '/' .. ARGV[5])\n",
        "end\n",
        "return {0, version}\n"
    ))
});

/// KEYS: tenant index. ARGV: before ms, now ms, doc key prefix, binding key prefix, pending
/// key prefix, every-pending key, tenant. Deletes up to 1,000 approvals created before
/// `before` that are consumed, denied or expired; returns how many.
static PURGE_APPROVALS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 1000)\n",
        "local n = 0\n",
        "for _, id in ipairs(ids) do\n",
        "  local d = redis.call('HMGET', ARGV[3] .. id, 's', 'e', 'b')\n",
        "  if (not d[1]) or d[1] == 'consumed' or d[1] == 'denied' or tonumber(d[2]) <= tonumber(ARGV[2]) then\n",
        "    if d[3] then\n",
        "      local a = cjson.decode(d[3])\n",
        "      local bk = ARGV[4] .. a['binding']\n",
        "      if redis.call('GET', bk) == id then redis.call('DEL', bk) end\n",
        "      redis.call('ZREM', ARGV[5] .. a['principal_id'], id)\n",
        "    end\n",
        "    redis.call('ZREM', ARGV[6], ARGV[7] .. '/' .. id)\n",
        "    redis.call('DEL', ARGV[3] .. id)\n",
        "    redis.call('ZREM', KEYS[1], id)\n",
        "    n = n + 1\n",
        "  end\n",
        "end\n",
        "return n\n"
    ))
});

/// KEYS: the ended-session log, its counter. ARGV: `until_ms|id`. Keeps the newest million.
static END_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "if redis.call('EXISTS', KEYS[3]) == 0 then\n",
        "  local t = redis.call('TIME')\n",
        "  redis.call('SET', KEYS[3], (tonumber(t[1]) * 1000000 + tonumber(t[2])) % 16777215 + 1)\n",
        "end\n",
        "local seq = redis.call('INCR', KEYS[2])\n",
        "redis.call('ZADD', KEYS[1], seq, seq .. '|' .. ARGV[1])\n",
        "redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1000001)\n",
        "return seq\n"
    ))
});

/// Ended-session positions: the log's epoch (24 bits) above its sequence number (40 bits).
const SEQ_BITS: u32 = 40;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
const EPOCH_MASK: u64 = (1 << 24) - 1;

/// GCRA on the server's clock. KEYS: the bucket. ARGV: interval (µs), burst. Returns 0 when a
/// token was taken, else how many µs until one is.
static RATE_TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local t = redis.call('TIME')\n",
        "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n",
        "local interval = tonumber(ARGV[1])\n",
        "local tolerance = interval * (tonumber(ARGV[2]) - 1)\n",
        "local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n",
        "if tat < now then tat = now end\n",
        "if now < tat - tolerance then return tat - tolerance - now end\n",
        "local next = tat + interval\n",
        "redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.ceil((next - now) / 1000) + 1000)\n",
        "return 0\n"
    ))
});

/// KEYS: doc, rev. ARGV: the doc as read, the doc to write, channel. Returns 0 when the doc
/// changed since it was read (or is gone), else the new revision.
static SET_DOC_IF: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n",
        "redis.call('SET', KEYS[1], ARGV[2])\n",
        lua_bump!("KEYS[2]", "ARGV[3]"),
        "return rev\n"
    ))
});

/// KEYS: the document, the kind's index. ARGV: expected version (0: must not exist), body,
/// index member. Returns {0, new version}, {1, stored version} on a conflict, {2, 0} when an
/// expected document does not exist.
static PUT_DOC: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')\n",
        "local expected = tonumber(ARGV[1])\n",
        "if v == 0 and expected ~= 0 then return {2, 0} end\n",
        "if v ~= expected then return {1, v} end\n",
        "redis.call('HSET', KEYS[1], 'v', v + 1, 'b', ARGV[2])\n",
        "redis.call('SADD', KEYS[2], ARGV[3])\n",
        "return {0, v + 1}\n"
    ))
});

/// KEYS: the task, the principal's tasks, every task. ARGV: the owner as JSON, creation ms.
/// Returns the owner on record (the new one when the task was free).
static CLAIM_TASK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local stored = redis.call('GET', KEYS[1])\n",
        "if stored then return stored end\n",
        "redis.call('SET', KEYS[1], ARGV[1])\n",
        "redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])\n",
        "redis.call('ZADD', KEYS[3], ARGV[2], KEYS[1] .. '\\n' .. KEYS[2])\n",
        "return ARGV[1]\n"
    ))
});

/// KEYS: every task. ARGV: before ms. Forgets up to 1,000 tasks created before; returns
/// how many.
static PURGE_TASKS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local all = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 1000)\n",
        "for _, entry in ipairs(all) do\n",
        "  local nl = string.find(entry, '\\n', 1, true)\n",
        "  local task = string.sub(entry, 1, nl - 1)\n",
        "  redis.call('DEL', task)\n",
        "  redis.call('ZREM', string.sub(entry, nl + 1), task)\n",
        "  redis.call('ZREM', KEYS[1], entry)\n",
        "end\n",
        "return #all\n"
    ))
});

/// Unix milliseconds.
fn ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The key names under one prefix.
#[derive(Debug)]
struct Keys {
    p: String,
}

impl Keys {
    fn rev(&self) -> String {
        format!("{}:rev", self.p)
    }
    fn seq(&self) -> String {
        format!("{}:seq", self.p)
    }
    fn tenants(&self) -> String {
        format!("{}:tenants", self.p)
    }
    fn changes(&self) -> String {
        format!("{}:changes", self.p)
    }
    fn doc(&self, tenant: &str, id: impl std::fmt::Display) -> String {
        format!("{}:nhi:{tenant}:{id}", self.p)
    }
    fn idx(&self, tenant: &str, kind: NhiKind) -> String {
        format!("{}:idx:{tenant}:{}", self.p, kind.as_str())
    }
    fn rel(&self, tenant: &str, kind: RelationKind) -> String {
        format!("{}:rel:{tenant}:{}", self.p, kind.as_str())
    }
    fn last_used(&self, tenant: &str) -> String {
        format!("{}:lastused:{tenant}", self.p)
    }
    fn vault(&self, tenant: &str, kind: VaultKind, id: &str) -> String {
        format!("{}:vault:{tenant}:{}:{id}", self.p, kind.as_str())
    }
    fn vault_idx(&self, tenant: &str, kind: VaultKind) -> String {
        format!("{}:vidx:{tenant}:{}", self.p, kind.as_str())
    }
    /// The prefix of a tenant's approval documents (the id follows).
    fn approval_prefix(&self, tenant: &str) -> String {
        format!("{}:appr:{tenant}:", self.p)
    }
    fn approval_binding_prefix(&self, tenant: &str) -> String {
        format!("{}:apprbind:{tenant}:", self.p)
    }
    fn approval_idx(&self, tenant: &str) -> String {
        format!("{}:appridx:{tenant}", self.p)
    }
    /// The prefix of a tenant's per-principal pending sets (the principal id follows).
    fn approval_pending_prefix(&self, tenant: &str) -> String {
        format!("{}:apprpend:{tenant}:", self.p)
    }
    fn approvals_pending(&self) -> String {
        format!("{}:apprpend", self.p)
    }
    fn approval_tenants(&self) -> String {
        format!("{}:apprtenants", self.p)
    }
    fn gov_doc(&self, kind: &str, tenant: &str, id: &str) -> String {
        format!("{}:doc:{kind}:{}:{tenant}:{id}", self.p, tenant.len())
    }
    fn doc_idx(&self, kind: &str) -> String {
        format!("{}:docs:{kind}", self.p)
    }
    fn task(&self, tenant: &str, agent: &str, task: &str) -> String {
        format!(
            "{}:task:{}:{tenant}:{}:{agent}:{task}",
            self.p,
            tenant.len(),
            agent.len()
        )
    }
    fn principal_tasks(&self, tenant: &str, principal: &str) -> String {
        format!("{}:tasks:{}:{tenant}:{principal}", self.p, tenant.len())
    }
    fn all_tasks(&self) -> String {
        format!("{}:tasksall", self.p)
    }
    fn audit(&self, tenant: &str) -> String {
        format!("{}:audit:{tenant}", self.p)
    }
}

/// Aborts the change-feed listener when the last clone of the store is dropped.
#[derive(Debug)]
struct Listener(JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The Redis store. Cheap to clone; clones share one connection and one change feed.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Arc<Keys>,
    feed: broadcast::Sender<u64>,
    _listener: Arc<Listener>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.keys.p)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the server at `url` and keeps every key under `prefix`. Returns once
    /// the change feed is subscribed, so every later write is announced.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = Client::open(url)?;
        let conn = client
            .get_connection_manager_with_config(connection_config())
            .await?;
        let keys = Arc::new(Keys {
            p: prefix.to_owned(),
        });
        let messages = open_feed(&client, &keys.changes()).await?;
        let (feed, _) = broadcast::channel(1024);
        let task = tokio::spawn(listen(
            client,
            conn.clone(),
            keys.clone(),
            feed.clone(),
            messages,
        ));
        Ok(Self {
            conn,
            keys,
            feed,
            _listener: Arc::new(Listener(task)),
        })
    }

    fn relation_field(r: &Relation) -> Result<String, StoreError> {
        Ok(serde_json::to_string(&(&r.source, &r.target))?)
    }
}

/// How the shared connection reconnects. A command issued while Redis is unreachable waits
/// for one reconnect attempt and a retry (about a second at most), then fails: what needs
/// shared state is refused quickly instead of hanging through the client's default six
/// retries (nearly ten seconds). The next command tries again.
fn connection_config() -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(250))
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_secs(1)))
}

async fn open_feed(client: &Client, channel: &str) -> Result<PubSubStream, StoreError> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub.into_on_message())
}

/// Forwards published revisions to the in-process feed, resubscribing when the connection
/// drops. After a reconnect it announces the current revision, covering anything missed.
async fn listen(
    client: Client,
    mut conn: ConnectionManager,
    keys: Arc<Keys>,
    feed: broadcast::Sender<u64>,
    mut messages: PubSubStream,
) {
    loop {
        while let Some(msg) = messages.next().await {
            match msg.get_payload::<u64>() {
                Ok(revision) => {
                    let _ = feed.send(revision);
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed change announcement"),
            }
        }
        tracing::warn!("the redis change feed connection closed; reconnecting");
        let mut backoff = Duration::from_millis(100);
        messages = loop {
            tokio::time::sleep(backoff).await;
            match open_feed(&client, &keys.changes()).await {
                Ok(m) => break m,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot resubscribe to the redis change feed");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        };
        match read_revision(&mut conn, &keys).await {
            Ok(revision) => {
                let _ = feed.send(revision);
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the revision after resubscribing"),
        }
    }
}

async fn read_revision(conn: &mut ConnectionManager, keys: &Keys) -> Result<u64, StoreError> {
    let r: Option<u64> = redis::cmd("GET").arg(keys.rev()).query_async(conn).await?;
    Ok(r.unwrap_or(0))
}

/// Parses a relation hash entry (`["source","target"]` -> `"{seq}|{level}"`).
fn to_relation(
    tenant: &str,
    kind: RelationKind,
    field: &str,
    value: &str,
) -> Result<(u64, Relation), StoreError> {
    let (source, target): (String, String) = serde_json::from_str(field)?;
    let bad = || StoreError::Backend(format!("malformed relation entry `{value}`"));
    let (seq, level) = value.split_once('|').ok_or_else(bad)?;
    let seq = seq.parse().map_err(|_| bad())?;
    let level = Some(level)
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_value(serde_json::Value::String(l.to_owned())))
        .transpose()?;
    let relation = Relation {
        tenant_id: tenant.to_owned(),
        kind,
        source,
        target,
        level,
    };
    Ok((seq, relation))
}

/// A stored document, with the last-use time kept beside it.
fn parse_doc(doc: &str, last_used_ms: Option<i64>) -> Result<Nhi, StoreError> {
    let mut nhi: Nhi = serde_json::from_str(doc)?;
    if let Some(ms) = last_used_ms {
        nhi.common_mut().last_used_at = crate::model::from_millis(ms);
    }
    Ok(nhi)
}

/// Parses an audit stream entry's fields (`at`, `e`) into a record of `tenant`.
fn to_audit(tenant: &str, fields: Vec<(String, String)>) -> Result<AuditRecord, StoreError> {
    let (mut at_ms, mut event) = (None, None);
    for (name, value) in fields {
        match name.as_str() {
            "at" => at_ms = value.parse::<i64>().ok(),
            "e" => event = Some(serde_json::value::RawValue::from_string(value)?),
            _ => {}
        }
    }
    match (at_ms, event) {
        (Some(at_ms), Some(event)) => Ok(AuditRecord {
            tenant_id: tenant.to_owned(),
            at_ms,
            event,
        }),
        _ => Err(StoreError::Backend(format!(
            "malformed audit entry in tenant `{tenant}`"
        ))),
    }
}

fn not_found(nhi: &Nhi) -> StoreError {
    StoreError::NotFound(format!("{} `{}`", nhi.kind().label(), nhi.id()))
}

#[async_trait]
impl Store for RedisStore {
    async fn open_approval(
        &self,
        mut approval: Approval,
        max_pending: usize,
    ) -> Result<(Approval, bool), StoreError> {
        let k = &self.keys;
        let tenant = approval.tenant().to_owned();
        approval.status = crate::approval::ApprovalStatus::Pending;
        let id = approval.id.to_string();
        let (code, version, body): (u8, u64, String) = OPEN_APPROVAL
            .key(format!(
                "{}{}",
                k.approval_binding_prefix(&tenant),
                approval.binding
            ))
            .key(k.approval_idx(&tenant))
            .key(format!(
                "{}{}",
                k.approval_pending_prefix(&tenant),
                approval.subject.principal_id
            ))
            .key(k.approvals_pending())
            .key(format!("{}{id}", k.approval_prefix(&tenant)))
            .key(k.approval_tenants())
            .arg(ms(approval.created_at))
            .arg(&id)
            .arg(serde_json::to_string(&approval)?)
            .arg(ms(approval.expires_at))
            .arg(ms(approval.created_at))
            .arg(max_pending)
            .arg(k.approval_prefix(&tenant))
            .arg(&tenant)
            .invoke_async(&mut self.conn.clone())
            .await?;
        match code {
            0 => {
                let mut live: Approval = serde_json::from_str(&body)?;
                live.version = version;
                Ok((live, false))
            }
            1 => {
                approval.version = 1;
                Ok((approval, true))
            }
            _ => Err(StoreError::Limit(format!(
                "`{}` has {version} approvals pending already (at most {max_pending})",
                approval.subject.principal_id
            ))),
        }
    }

    async fn approval(&self, tenant: &str, id: Uuid) -> Result<Option<Approval>, StoreError> {
        let (version, body): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(format!("{}{id}", self.keys.approval_prefix(tenant)))
            .arg("v")
            .arg("b")
            .query_async(&mut self.conn.clone())
            .await?;
        version
            .zip(body)
            .map(|(version, body)| {
                let mut a: Approval = serde_json::from_str(&body)?;
                a.version = version;
                Ok(a)
            })
            .transpose()
    }

    async fn update_approval(
        &self,
        mut approval: Approval,
        expected: u64,
    ) -> Result<Approval, StoreError> {
        let k = &self.keys;
        let tenant = approval.tenant().to_owned();
        let id = approval.id.to_string();
        let (code, version): (u8, u64) = UPDATE_APPROVAL
            .key(format!("{}{id}", k.approval_prefix(&tenant)))
            .key(format!(
                "{}{}",
                k.approval_pending_prefix(&tenant),
                approval.subject.principal_id
            ))
            .key(k.approvals_pending())
            .arg(expected)
            .arg(serde_json::to_string(&approval)?)
            .arg(approval.status.as_str())
            .arg(ms(approval.expires_at))
            .arg(&id)
            .arg(&tenant)
            .invoke_async(&mut self.conn.clone())
            .await?;
        match code {
            0 => {
                approval.version = version;
                Ok(approval)
            }
            2 => Err(StoreError::Conflict {
                expected,
                actual: version,
            }),
            _ => Err(StoreError::NotFound(format!("approval `{id}`"))),
        }
    }

    async fn approvals(&self, tenant: &str) -> Result<Vec<Approval>, StoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(self.keys.approval_idx(tenant))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        let prefix = self.keys.approval_prefix(tenant);
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HMGET")
                    .arg(format!("{prefix}{id}"))
                    .arg("v")
                    .arg("b");
            }
            let rows: Vec<(Option<u64>, Option<String>)> = pipe.query_async(&mut conn).await?;
            for (version, body) in rows {
                if let (Some(version), Some(body)) = (version, body) {
                    let mut a: Approval = serde_json::from_str(&body)?;
                    a.version = version;
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    async fn pending_approvals(&self, now: time::OffsetDateTime) -> Result<u64, StoreError> {
        let n: u64 = redis::cmd("ZCOUNT")
            .arg(self.keys.approvals_pending())
            .arg(format!("({}", ms(now)))
            .arg("+inf")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(n)
    }

    async fn put_doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
        body: String,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let k = &self.keys;
        let member = serde_json::to_string(&(tenant, id))?;
        let (code, version): (u8, u64) = PUT_DOC
            .key(k.gov_doc(kind, tenant, id))
            .key(k.doc_idx(kind))
            .arg(expected.unwrap_or(0))
            .arg(body)
            .arg(member)
            .invoke_async(&mut self.conn.clone())
            .await?;
        match code {
            0 => Ok(version),
            1 => Err(StoreError::Conflict {
                expected: expected.unwrap_or(0),
                actual: version,
            }),
            _ => Err(StoreError::NotFound(format!("{kind} `{id}`"))),
        }
    }

    async fn doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let (version, body): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.keys.gov_doc(kind, tenant, id))
            .arg("v")
            .arg("b")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(version.zip(body))
    }

    async fn docs(
        &self,
        kind: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<(String, u64, String)>, StoreError> {
        let mut conn = self.conn.clone();
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.doc_idx(kind))
            .query_async(&mut conn)
            .await?;
        let mut keys: Vec<(String, String)> = members
            .iter()
            .filter_map(|m| serde_json::from_str::<(String, String)>(m).ok())
            .filter(|(t, _)| tenant.is_none_or(|want| want == t))
            .collect();
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let mut pipe = redis::pipe();
            for (t, id) in chunk {
                pipe.cmd("HMGET")
                    .arg(self.keys.gov_doc(kind, t, id))
                    .arg("v")
                    .arg("b");
            }
            let rows: Vec<(Option<u64>, Option<String>)> = pipe.query_async(&mut conn).await?;
            for ((t, _), row) in chunk.iter().zip(rows) {
                if let (Some(v), Some(b)) = row {
                    out.push((t.clone(), v, b));
                }
            }
        }
        Ok(out)
    }

    async fn claim_task(&self, owner: TaskOwner) -> Result<TaskOwner, StoreError> {
        let k = &self.keys;
        let body: String = CLAIM_TASK
            .key(k.task(&owner.tenant_id, &owner.agent_id, &owner.task_id))
            .key(k.principal_tasks(&owner.tenant_id, &owner.principal_id))
            .key(k.all_tasks())
            .arg(serde_json::to_string(&owner)?)
            .arg(ms(owner.created_at))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(serde_json::from_str(&body)?)
    }

    async fn task_owner(
        &self,
        tenant: &str,
        agent_id: &str,
        task_id: &str,
    ) -> Result<Option<TaskOwner>, StoreError> {
        let body: Option<String> = redis::cmd("GET")
            .arg(self.keys.task(tenant, agent_id, task_id))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    async fn owned_tasks(
        &self,
        tenant: &str,
        principal: &str,
        limit: usize,
    ) -> Result<Vec<TaskOwner>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let keys: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(self.keys.principal_tasks(tenant, principal))
            .arg(0)
            .arg(limit.saturating_sub(1))
            .query_async(&mut conn)
            .await?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let bodies: Vec<Option<String>> =
            redis::cmd("MGET").arg(&keys).query_async(&mut conn).await?;
        bodies
            .into_iter()
            .flatten()
            .map(|b| serde_json::from_str(&b).map_err(StoreError::from))
            .collect()
    }

    async fn purge_tasks(&self, before: time::OffsetDateTime) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n: usize = PURGE_TASKS
                .key(self.keys.all_tasks())
                .arg(ms(before))
                .invoke_async(&mut self.conn.clone())
                .await?;
            total += n;
            if n < 1000 {
                return Ok(total);
            }
        }
    }

    async fn purge_approvals(
        &self,
        before: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let k = &self.keys;
        let mut conn = self.conn.clone();
        let tenants: Vec<String> = redis::cmd("SMEMBERS")
            .arg(k.approval_tenants())
            .query_async(&mut conn)
            .await?;
        let mut purged = 0;
        for tenant in tenants {
            let n: usize = PURGE_APPROVALS
                .key(k.approval_idx(&tenant))
                .arg(ms(before))
                .arg(ms(now))
                .arg(k.approval_prefix(&tenant))
                .arg(k.approval_binding_prefix(&tenant))
                .arg(k.approval_pending_prefix(&tenant))
                .arg(k.approvals_pending())
                .arg(&tenant)
                .invoke_async(&mut conn)
                .await?;
            purged += n;
        }
        Ok(purged)
    }

    async fn insert_nhi(&self, mut nhi: Nhi) -> Result<Nhi, StoreError> {
        nhi.common_mut().version = 1;
        let (k, tenant) = (&self.keys, nhi.tenant());
        let revision: u64 = INSERT
            .key(k.doc(tenant, nhi.id()))
            .key(k.idx(tenant, nhi.kind()))
            .key(k.rev())
            .key(k.seq())
            .key(k.tenants())
            .arg(serde_json::to_string(&nhi)?)
            .arg(nhi.id().to_string())
            .arg(tenant)
            .arg(k.changes())
            .invoke_async(&mut self.conn.clone())
            .await?;
        if revision == 0 {
            let what = format!("{} `{}`", nhi.kind().label(), nhi.id());
            return Err(StoreError::AlreadyExists(what));
        }
        Ok(nhi)
    }

    async fn import(&self, nhis: Vec<Nhi>, relations: Vec<Relation>) -> Result<(), StoreError> {
        const CHUNK: usize = 1_000;
        if nhis.is_empty() && relations.is_empty() {
            return Ok(());
        }
        let k = &self.keys;
        let mut conn = self.conn.clone();
        // Every id is checked before anything is written.
        for chunk in nhis.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            for nhi in chunk {
                pipe.exists(k.doc(nhi.tenant(), nhi.id()));
            }
            let found: Vec<bool> = pipe.query_async(&mut conn).await?;
            if let Some((nhi, _)) = chunk.iter().zip(found).find(|(_, exists)| *exists) {
                return Err(StoreError::AlreadyExists(format!(
                    "{} `{}`",
                    nhi.kind().label(),
                    nhi.id()
                )));
            }
        }
        for chunk in nhis.chunks(CHUNK) {
            let mut script = IMPORT_NHIS.key(k.seq());
            script.key(k.tenants());
            for nhi in chunk {
                let mut nhi = nhi.clone();
                nhi.common_mut().version = 1;
                script
                    .key(k.doc(nhi.tenant(), nhi.id()))
                    .key(k.idx(nhi.tenant(), nhi.kind()))
                    .arg(serde_json::to_string(&nhi)?)
                    .arg(nhi.id().to_string())
                    .arg(nhi.tenant());
            }
            let existing: usize = script.invoke_async(&mut conn).await?;
            if let Some(nhi) = existing.checked_sub(1).and_then(|i| chunk.get(i)) {
                return Err(StoreError::AlreadyExists(format!(
                    "{} `{}` (written concurrently; the import stopped part way)",
                    nhi.kind().label(),
                    nhi.id()
                )));
            }
        }
        for chunk in relations.chunks(CHUNK) {
            let mut script = IMPORT_RELATIONS.key(k.seq());
            script.key(k.tenants());
            for r in chunk {
                script
                    .key(k.rel(&r.tenant_id, r.kind))
                    .arg(Self::relation_field(r)?)
                    .arg(r.level.map_or("", |l| l.as_str()))
                    .arg(&r.tenant_id);
            }
            let _: u64 = script.invoke_async(&mut conn).await?;
        }
        let _: u64 = BUMP
            .key(k.rev())
            .arg(k.changes())
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn update_nhi(&self, mut nhi: Nhi, expected_version: u64) -> Result<Nhi, StoreError> {
        nhi.common_mut().version = expected_version.saturating_add(1);
        let k = &self.keys;
        let (code, value): (u8, u64) = UPDATE
            .key(k.doc(nhi.tenant(), nhi.id()))
            .key(k.rev())
            .arg(serde_json::to_string(&nhi)?)
            .arg(nhi.kind().as_str())
            .arg(expected_version)
            .arg(k.changes())
            .invoke_async(&mut self.conn.clone())
            .await?;
        match code {
            0 => Ok(nhi),
            1 => Err(not_found(&nhi)),
            _ => Err(StoreError::Conflict {
                expected: expected_version,
                actual: value,
            }),
        }
    }

    async fn get_nhi(&self, tenant: &str, id: Uuid) -> Result<Option<Nhi>, StoreError> {
        let (doc, used): (Option<String>, Option<i64>) = redis::pipe()
            .atomic()
            .cmd("GET")
            .arg(self.keys.doc(tenant, id))
            .cmd("HGET")
            .arg(self.keys.last_used(tenant))
            .arg(id.to_string())
            .query_async(&mut self.conn.clone())
            .await?;
        doc.map(|d| parse_doc(&d, used)).transpose()
    }

    async fn delete_nhi(&self, tenant: &str, id: Uuid) -> Result<bool, StoreError> {
        let k = &self.keys;
        let mut call = DELETE.key(k.doc(tenant, id));
        call.key(k.rev());
        for kind in NHI_KINDS {
            call.key(k.idx(tenant, kind));
        }
        for kind in RELATION_KINDS {
            call.key(k.rel(tenant, kind));
        }
        call.key(k.last_used(tenant));
        let revision: u64 = call
            .arg(id.to_string())
            .arg(k.changes())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(revision > 0)
    }

    async fn list_nhis(&self, tenant: &str, kind: NhiKind) -> Result<Vec<Nhi>, StoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.keys.idx(tenant, kind))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("MGET");
        for id in &ids {
            pipe.arg(self.keys.doc(tenant, id));
        }
        pipe.cmd("HMGET").arg(self.keys.last_used(tenant)).arg(&ids);
        let (docs, used): (Vec<Option<String>>, Vec<Option<i64>>) =
            pipe.query_async(&mut conn).await?;
        docs.into_iter()
            .zip(used)
            .filter_map(|(d, ms)| d.map(|d| parse_doc(&d, ms)))
            .collect()
    }

    async fn put_relation(&self, relation: Relation) -> Result<bool, StoreError> {
        let k = &self.keys;
        let (new, _revision): (u8, u64) = PUT_RELATION
            .key(k.rel(&relation.tenant_id, relation.kind))
            .key(k.rev())
            .key(k.seq())
            .key(k.tenants())
            .arg(Self::relation_field(&relation)?)
            .arg(relation.level.map_or("", |l| l.as_str()))
            .arg(&relation.tenant_id)
            .arg(k.changes())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(new == 1)
    }

    async fn put_vault(
        &self,
        mut doc: VaultDoc,
        expected: Option<u64>,
    ) -> Result<VaultDoc, StoreError> {
        let k = &self.keys;
        let (code, version): (u8, u64) = PUT_VAULT
            .key(k.vault(&doc.tenant_id, doc.kind, &doc.id))
            .key(k.vault_idx(&doc.tenant_id, doc.kind))
            .key(k.rev())
            .key(k.tenants())
            .arg(&doc.body)
            .arg(&doc.id)
            .arg(&doc.tenant_id)
            .arg(k.changes())
            .arg(expected.map(|e| e.to_string()).unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await?;
        let what = || format!("{} `{}`", doc.kind.as_str(), doc.id);
        match code {
            0 => {
                doc.version = version;
                Ok(doc)
            }
            1 => Err(StoreError::AlreadyExists(what())),
            2 => Err(StoreError::Conflict {
                expected: expected.unwrap_or(0),
                actual: version,
            }),
            _ => Err(StoreError::NotFound(what())),
        }
    }

    async fn vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<Option<VaultDoc>, StoreError> {
        let (version, body): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.keys.vault(tenant, kind, id))
            .arg("v")
            .arg("b")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(version.zip(body).map(|(version, body)| VaultDoc {
            tenant_id: tenant.to_owned(),
            kind,
            id: id.to_owned(),
            version,
            body,
        }))
    }

    async fn vaults(&self, tenant: &str, kind: VaultKind) -> Result<Vec<VaultDoc>, StoreError> {
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.vault_idx(tenant, kind))
            .query_async(&mut self.conn.clone())
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(doc) = self.vault(tenant, kind, &id).await? {
                out.push(doc);
            }
        }
        Ok(out)
    }

    async fn delete_vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        let k = &self.keys;
        let revision: u64 = DELETE_VAULT
            .key(k.vault(tenant, kind, id))
            .key(k.vault_idx(tenant, kind))
            .key(k.rev())
            .arg(id)
            .arg(k.changes())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(revision > 0)
    }

    async fn delete_relation(&self, relation: &Relation) -> Result<bool, StoreError> {
        let k = &self.keys;
        let revision: u64 = DELETE_RELATION
            .key(k.rel(&relation.tenant_id, relation.kind))
            .key(k.rev())
            .arg(Self::relation_field(relation)?)
            .arg(k.changes())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(revision > 0)
    }

    async fn relations(
        &self,
        tenant: &str,
        kind: RelationKind,
        source: Option<&str>,
        target: Option<&str>,
    ) -> Result<Vec<Relation>, StoreError> {
        let entries: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.keys.rel(tenant, kind))
            .query_async(&mut self.conn.clone())
            .await?;
        let mut out = Vec::new();
        for (field, value) in entries {
            let (seq, r) = to_relation(tenant, kind, &field, &value)?;
            if source.is_none_or(|s| s == r.source) && target.is_none_or(|t| t == r.target) {
                out.push((seq, r));
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for r in &records {
            pipe.cmd("XADD")
                .arg(self.keys.audit(&r.tenant_id))
                .arg("MAXLEN")
                .arg("~")
                .arg(AUDIT_CAP)
                .arg("*")
                .arg("at")
                .arg(r.at_ms)
                .arg("e")
                .arg(r.event.get())
                .ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    async fn audit(&self, tenant: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(self.keys.audit(tenant))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await?;
        entries
            .into_iter()
            .map(|(_, fields)| to_audit(tenant, fields))
            .collect()
    }

    async fn end_session(&self, id: &str, until: time::OffsetDateTime) -> Result<(), StoreError> {
        let _: u64 = END_SESSION
            .key(format!("{}:ended", self.keys.p))
            .key(format!("{}:endedseq", self.keys.p))
            .key(format!("{}:endedepoch", self.keys.p))
            .arg(format!("{}|{id}", ms(until)))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn ended_sessions(&self, after: u64) -> Result<(Vec<String>, u64), StoreError> {
        // A position is the log's epoch (set when its first entry is written, so a server that
        // lost its data starts a new one) above the sequence number of the last entry read.
        let (epoch, newest): (Option<u64>, Option<u64>) = redis::cmd("MGET")
            .arg(format!("{}:endedepoch", self.keys.p))
            .arg(format!("{}:endedseq", self.keys.p))
            .query_async(&mut self.conn.clone())
            .await?;
        let epoch = epoch.unwrap_or(0) & EPOCH_MASK;
        let (after_epoch, after_seq) = (after >> SEQ_BITS, after & SEQ_MASK);
        // Another epoch, or a position past the newest: the server went back (restarted
        // without its data, or restored). Read it all again rather than miss every session
        // ended since.
        let after = if after_epoch != epoch || newest.unwrap_or(0) < after_seq {
            0
        } else {
            after_seq
        };
        let entries: Vec<(String, u64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(format!("{}:ended", self.keys.p))
            .arg(format!("({after}"))
            .arg("+inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(10_000)
            .query_async(&mut self.conn.clone())
            .await?;
        let now = ms(time::OffsetDateTime::now_utc());
        let next = (epoch << SEQ_BITS) | entries.last().map_or(after, |(_, seq)| *seq);
        let ids = entries
            .into_iter()
            .filter_map(|(member, _)| {
                // `seq|until_ms|id`
                let mut parts = member.splitn(3, '|');
                let (_, until, id) = (parts.next()?, parts.next()?, parts.next()?);
                (until.parse::<i64>().ok()? > now).then(|| id.to_owned())
            })
            .collect();
        Ok((ids, next))
    }

    async fn rate_take(
        &self,
        key: &str,
        interval: std::time::Duration,
        burst: u32,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        let wait: u64 = RATE_TAKE
            .key(format!("{}:rl:{key}", self.keys.p))
            .arg(
                u64::try_from(interval.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1),
            )
            .arg(burst.max(1))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok((wait > 0).then(|| std::time::Duration::from_micros(wait)))
    }

    async fn set_risk(
        &self,
        tenant: &str,
        id: Uuid,
        risk: crate::risk::Assessment,
    ) -> Result<bool, StoreError> {
        let k = &self.keys;
        for _ in 0..8 {
            let raw: Option<String> = redis::cmd("GET")
                .arg(k.doc(tenant, id))
                .query_async(&mut self.conn.clone())
                .await?;
            let Some(raw) = raw else {
                return Ok(false);
            };
            let mut nhi: Nhi = serde_json::from_str(&raw)?;
            if nhi.common().risk.as_ref().is_some_and(|r| r.same_as(&risk)) {
                return Ok(false);
            }
            nhi.common_mut().risk = Some(risk.clone());
            let rev: u64 = SET_DOC_IF
                .key(k.doc(tenant, id))
                .key(k.rev())
                .arg(&raw)
                .arg(serde_json::to_string(&nhi)?)
                .arg(k.changes())
                .invoke_async(&mut self.conn.clone())
                .await?;
            if rev != 0 {
                return Ok(true);
            }
        }
        Err(StoreError::Backend(
            "the record keeps changing; risk not stored".into(),
        ))
    }

    async fn audit_page(
        &self,
        tenant: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditRecord)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = match cursor {
            None => "+".to_owned(),
            Some(c) => {
                // A stream entry id: `<ms>-<n>`.
                let valid = c.split_once('-').is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.bytes().all(|x| x.is_ascii_digit())
                        && b.bytes().all(|x| x.is_ascii_digit())
                });
                if !valid || c.len() > 48 {
                    return Err(StoreError::Invalid(format!(
                        "`{}` is not an audit cursor",
                        c.chars().take(32).collect::<String>()
                    )));
                }
                format!("({c}")
            }
        };
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(self.keys.audit(tenant))
            .arg(start)
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await?;
        entries
            .into_iter()
            .map(|(id, fields)| Ok((id, to_audit(tenant, fields)?)))
            .collect()
    }

    async fn touch_last_used(&self, uses: Vec<LastUse>) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut call = TOUCH_LAST_USED.prepare_invoke();
        for u in &uses {
            call.key(self.keys.last_used(&u.tenant_id))
                .arg(u.id.to_string())
                .arg(u.at_ms);
        }
        call.invoke_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        read_revision(&mut self.conn.clone(), &self.keys).await
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        type Rel = (String, String, String, String);
        type Doc = (u64, String, Option<i64>);
        type Vault = (String, String, String, u64, String);
        let (revision, mut docs, rels, vault): (u64, Vec<Doc>, Vec<Rel>, Vec<Vault>) = SNAPSHOT
            .key(self.keys.rev())
            .key(self.keys.tenants())
            .arg(&self.keys.p)
            .invoke_async(&mut self.conn.clone())
            .await?;
        docs.sort_by_key(|(seq, _, _)| *seq);
        let nhis = docs
            .iter()
            .map(|(_, d, used)| parse_doc(d, *used))
            .collect::<Result<_, _>>()?;
        let mut relations = Vec::with_capacity(rels.len());
        for (tenant, kind, field, value) in rels {
            let kind = RelationKind::parse(&kind)
                .ok_or_else(|| StoreError::Backend(format!("unknown relation kind `{kind}`")))?;
            relations.push(to_relation(&tenant, kind, &field, &value)?);
        }
        relations.sort_by_key(|(seq, _)| *seq);
        let vault = vault
            .into_iter()
            .map(|(tenant_id, kind, id, version, body)| {
                let kind = VaultKind::parse(&kind)
                    .ok_or_else(|| StoreError::Backend(format!("unknown vault kind `{kind}`")))?;
                Ok(VaultDoc {
                    tenant_id,
                    kind,
                    id,
                    version,
                    body,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Snapshot {
            revision,
            nhis,
            relations: relations.into_iter().map(|(_, r)| r).collect(),
            vault,
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<u64> {
        self.feed.subscribe()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}
