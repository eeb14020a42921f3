//! Rate limits: token buckets per tenant, per calling agent (or service account) and per tool,
//! taken before a call is validated and decided.
//!
//! The configured limit of each kind (`[gateway.rate_limits]`) applies to every key of that
//! kind; an NHI's own `rate_limit` replaces it for that NHI. Buckets are local to the process
//! (governor's GCRA), or shared through Redis with `shared = true` — then a call that cannot
//! reach Redis is refused (fail closed: a shared limit that cannot be counted is not
//! enforced by pretending). Keys are registered ids only, so a caller cannot mint buckets.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use portcullis_registry::RateLimit;

use crate::authn::Principal;
use crate::error::Error;
use crate::lookup::ToolEntry;
use crate::state::State;

/// `[gateway.rate_limits]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Count in Redis, across every replica on the same store (needs the Redis backend).
    pub shared: bool,
    /// Each tenant's calls.
    pub tenant: Option<RateLimit>,
    /// Each agent's or service account's calls.
    pub agent: Option<RateLimit>,
    /// Each tool's calls.
    pub tool: Option<RateLimit>,
}

impl RateLimits {
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, l) in [
            ("tenant", &self.tenant),
            ("agent", &self.agent),
            ("tool", &self.tool),
        ] {
            if let Some(l) = l {
                l.check()
                    .map_err(|e| format!("gateway.rate_limits.{name}: {e}"))?;
            }
        }
        Ok(())
    }
}

/// The process's own buckets: (limit kind, key, quota) → bucket; idle ones are dropped.
pub(crate) struct Buckets {
    local: moka::sync::Cache<(&'static str, String, RateLimit), Arc<DefaultDirectRateLimiter>>,
    clock: DefaultClock,
}

impl Default for Buckets {
    fn default() -> Self {
        Self {
            local: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
            clock: DefaultClock::default(),
        }
    }
}

impl Buckets {
    fn take_local(&self, kind: &'static str, key: &str, limit: RateLimit) -> Option<Duration> {
        let bucket = self.local.get_with((kind, key.to_owned(), limit), || {
            let burst = NonZeroU32::new(limit.burst()).unwrap_or(NonZeroU32::MIN);
            let quota = Quota::with_period(limit.interval().max(Duration::from_nanos(1)))
                .map_or_else(|| Quota::per_second(burst), |q| q.allow_burst(burst));
            Arc::new(DefaultDirectRateLimiter::direct(quota))
        });
        bucket
            .check()
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Takes a token from each bucket the call counts against: its tenant, its principal, and
/// the tool (when there is one). The first empty one refuses the call.
pub(crate) async fn take(
    state: &State,
    principal: &Principal,
    tool: Option<&ToolEntry>,
) -> Result<(), Error> {
    let config = &state.config.rate_limits;
    let own = state
        .catalog
        .load()
        .principal(&principal.tenant, &principal.id)
        .and_then(|p| p.rate_limit);
    let checks = [
        ("tenant", config.tenant),
        ("agent", own.or(config.agent)),
        ("tool", tool.and_then(|t| t.rate_limit.or(config.tool))),
    ];
    for (kind, limit) in checks {
        // Nothing configured for this kind: nothing to build or count.
        let Some(limit) = limit else { continue };
        let key = match kind {
            "tenant" => principal.tenant.clone(),
            "agent" => format!("{}:{}", principal.tenant, principal.id),
            _ => format!(
                "{}:{}",
                principal.tenant,
                tool.map_or("", |t| t.id.as_str())
            ),
        };
        let wait = if config.shared {
            let store = state.store.as_ref().ok_or_else(|| {
                Error::Unavailable("shared rate limits need the registry's store".into())
            })?;
            store
                .rate_take(
                    &format!("{kind}:{}:{key}", key.len()),
                    limit.interval(),
                    limit.burst(),
                )
                .await
                .map_err(|e| Error::Unavailable(format!("rate limits: {e}")))?
        } else {
            state.buckets.take_local(kind, &key, limit)
        };
        if let Some(wait) = wait {
            state.metrics.rate_limited.with_label_values(&[kind]).inc();
            return Err(Error::RateLimited {
                limit: kind,
                retry_after: wait,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_bucket_allows_its_burst_then_says_how_long_to_wait() {
        let b = Buckets::default();
        let limit = RateLimit {
            requests: 2,
            per_secs: 1,
            burst: Some(3),
        };
        for _ in 0..3 {
            assert_eq!(b.take_local("agent", "t:a", limit), None);
        }
        let wait = b.take_local("agent", "t:a", limit).expect("empty");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Another key, or another limit for the same key (an override), is another bucket.
        assert_eq!(b.take_local("agent", "t:b", limit), None);
        let other = RateLimit {
            requests: 10,
            per_secs: 1,
            burst: None,
        };
        assert_eq!(b.take_local("agent", "t:a", other), None);
    }
}
