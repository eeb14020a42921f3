//! The gateway's configuration (`[gateway]` and `[[gateway.upstreams]]`).

use std::collections::HashSet;
use std::net::SocketAddr;

use serde::Deserialize;

/// The most data-plane threads `gateway.threads` may ask for.
const MAX_THREADS: usize = 1024;

/// The data plane.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Address of the MCP listener.
    pub listen: SocketAddr,
    /// The base URL clients reach this gateway at (`https://gw.example`): the issuer of the
    /// access tokens it issues, and where its token endpoint is. Default: `http://<listen>`.
    /// Every replica behind one address needs the same.
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes (413 past it).
    pub body_limit: usize,
    /// The key (hex, 32 bytes) that seals MCP session ids; every replica needs the same
    /// file. Default: `<data_dir>/session.key`, created on first start.
    pub session_key_file: Option<std::path::PathBuf>,
    /// Browser origins allowed to call the gateway (exact, e.g. `https://console.example`).
    /// Loopback origins are always allowed; any other `Origin` is refused (403), which stops
    /// DNS-rebinding attacks on a local gateway. Agents send no `Origin` and are unaffected.
    pub allowed_origins: Vec<String>,
    /// Where audit events go: `"stdout"`, `"off"`, or `{ file = "audit.jsonl" }` (appended).
    /// The default here is `"stdout"`; `portcullis serve` writes `<data_dir>/audit.jsonl`
    /// unless its configuration names a sink, so audit lines stay out of the process log.
    pub audit_log: crate::audit::AuditSink,
    /// The MCP servers behind the gateway.
    pub upstreams: Vec<UpstreamConfig>,
    /// The A2A agents behind the gateway; a registered agent names one as its `a2a_upstream`.
    pub a2a_upstreams: Vec<A2aUpstreamConfig>,
    /// On shutdown, how long requests being handled may take to finish (and queued audit
    /// records to be written), in milliseconds.
    pub drain_ms: u64,
    /// Rate limits per tenant, agent and tool (`[gateway.rate_limits]`).
    pub rate_limits: crate::ratelimit::RateLimits,
    /// How often the upstreams' tool definitions are read for pinned tools, in milliseconds.
    pub tool_refresh_ms: u64,
    /// How A2A traffic is handled (`[gateway.a2a]`).
    pub a2a: A2aConfig,
    /// External token issuers (OIDC providers and the like) whose tokens the gateway accepts
    /// beside its own HS256 ones, verified with the keys each publishes as a JWKS.
    pub issuers: Vec<IssuerConfig>,
    /// Worker threads of the data plane's own runtime (apart from the admin API and the
    /// background work). Default: the cores this process may run on.
    pub threads: Option<usize>,
    /// Approvals (the top-level `[approvals]` of the server's configuration).
    #[serde(skip)]
    pub approvals: portcullis_registry::approval::ApprovalConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            body_limit: 1024 * 1024,
            session_key_file: None,
            allowed_origins: Vec::new(),
            audit_log: crate::audit::AuditSink::default(),
            upstreams: Vec::new(),
            a2a_upstreams: Vec::new(),
            a2a: A2aConfig::default(),
            tool_refresh_ms: 15_000,
            drain_ms: 10_000,
            rate_limits: crate::ratelimit::RateLimits::default(),
            issuers: Vec::new(),
            threads: None,
            approvals: portcullis_registry::approval::ApprovalConfig::default(),
        }
    }
}

/// One external token issuer (`[[gateway.issuers]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` its tokens carry, exactly.
    pub issuer: String,
    /// Where it publishes its signing keys (a JWK set): `https://`, or `http://` on a
    /// loopback address only.
    pub jwks_url: String,
    /// The audience its tokens must name in `aud` to be accepted here.
    pub audience: String,
    /// The claim that names the tenant.
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// The tenants this issuer may assert (at least one): a token naming any other tenant
    /// is refused, so one issuer cannot speak for every tenant.
    pub tenants: Vec<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf` (the issuer's clock is not ours).
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
    /// How often the key set is fetched again, in seconds.
    #[serde(default = "default_refresh_secs")]
    pub refresh_secs: u64,
}

fn default_tenant_claim() -> String {
    "tenant".into()
}

fn default_refresh_secs() -> u64 {
    300
}

fn default_leeway_secs() -> u64 {
    5
}

/// Whether `url` is `https://`, or `http://` to a loopback host.
fn secure_or_loopback(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let Ok(uri) = format!("http://{rest}").parse::<http::Uri>() else {
        return false;
    };
    let host = uri.host().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One upstream MCP server (Streamable HTTP).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The server's name: tools in the registry name it as their `upstream`.
    pub name: String,
    /// The MCP endpoint, e.g. `http://127.0.0.1:3001/mcp`.
    pub url: String,
    /// Put in front of every tool name this server exposes; default `<name>_`. Prefixes keep
    /// names stable when servers are added; set `""` only for a single server.
    pub prefix: Option<String>,
    /// Connect timeout in milliseconds.
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    /// Time allowed for a whole call, in milliseconds.
    #[serde(default = "default_request_ms")]
    pub request_timeout_ms: u64,
    /// The credential this server needs on every request, from the vault: presented for a
    /// caller only while it holds an active lease on the secret.
    #[serde(default)]
    pub credential: Option<CredentialConfig>,
}

/// One A2A agent server behind the gateway (`[[gateway.a2a_upstreams]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2aUpstreamConfig {
    /// Its name: a registered agent names it as its `a2a_upstream`. Unique among every
    /// upstream, MCP ones included.
    pub name: String,
    /// Its A2A JSON-RPC endpoint, e.g. `http://127.0.0.1:9999/`.
    pub url: String,
    /// Where its agent card is; default `<scheme>://<host>/.well-known/agent-card.json` of
    /// `url`. Fetched without following redirects, at most 256 KiB, kept 5 minutes.
    #[serde(default)]
    pub card_url: Option<String>,
    /// Connect timeout in milliseconds.
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    /// Time allowed for an answer (and between two events of a stream), in milliseconds.
    #[serde(default = "default_a2a_request_ms")]
    pub request_timeout_ms: u64,
    /// The credential this agent server needs, from the vault (as for MCP upstreams).
    #[serde(default)]
    pub credential: Option<CredentialConfig>,
}

/// A2A settings (`[gateway.a2a]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct A2aConfig {
    /// Hosts a push-notification URL may name even though they are (or resolve to)
    /// loopback, link-local or private addresses, e.g. `["hooks.internal"]`. Any other such
    /// URL is refused, so an agent server cannot be made to call into the network it runs in.
    pub push_allowed_hosts: Vec<String>,
    /// How long the gateway remembers who created a task, in seconds (afterwards the task is
    /// "not found" for everyone).
    pub task_keep_secs: u64,
}

impl Default for A2aConfig {
    fn default() -> Self {
        Self {
            push_allowed_hosts: Vec::new(),
            task_keep_secs: 30 * 24 * 3600,
        }
    }
}

fn default_a2a_request_ms() -> u64 {
    300_000
}

impl A2aUpstreamConfig {
    /// Its settings as an HTTP upstream (the transport both protocols share).
    pub(crate) fn as_upstream(&self) -> UpstreamConfig {
        UpstreamConfig {
            name: self.name.clone(),
            url: self.url.clone(),
            prefix: Some(String::new()),
            connect_timeout_ms: self.connect_timeout_ms,
            request_timeout_ms: self.request_timeout_ms,
            credential: self.credential.clone(),
        }
    }

    /// Where its card is fetched from.
    pub(crate) fn card_url(&self) -> String {
        self.card_url.clone().unwrap_or_else(|| {
            let origin = self
                .url
                .parse::<http::Uri>()
                .ok()
                .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?)))
                .unwrap_or_default();
            format!("{origin}/.well-known/agent-card.json")
        })
    }
}

/// How an upstream's credential is found and presented (`[gateway.upstreams.credential]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// The name of the secret, in the caller's tenant (one NHI of the tenant holds it).
    pub secret: String,
    /// The header it goes in, e.g. `Authorization` or `X-Api-Key`.
    pub header: String,
    /// The header's value, with `{secret}` where the secret goes: `Bearer {secret}`.
    #[serde(default = "default_format")]
    pub format: String,
}

fn default_format() -> String {
    "{secret}".into()
}

/// Headers the gateway sets itself; a credential may not replace them.
const OWN_HEADERS: [&str; 9] = [
    "host",
    "content-type",
    "content-length",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "transfer-encoding",
    "connection",
    "te",
];

fn default_connect_ms() -> u64 {
    2_000
}

fn default_request_ms() -> u64 {
    30_000
}

impl UpstreamConfig {
    pub fn prefix(&self) -> String {
        self.prefix
            .clone()
            .unwrap_or_else(|| format!("{}_", self.name))
    }
}

impl GatewayConfig {
    /// Names unique, URLs plain HTTP(S) (upstreams and JWKS), and prefixes such that no two servers can expose
    /// the same tool name (no prefix is a prefix of another): a collision is a configuration
    /// error, never a silent rename.
    pub fn check(&self) -> Result<(), crate::Error> {
        self.problems().map_err(crate::Error::Config)
    }

    fn problems(&self) -> Result<(), String> {
        self.rate_limits.check()?;
        if let Some(n) = self.threads
            && !(1..=MAX_THREADS).contains(&n)
        {
            return Err(format!(
                "gateway.threads must be 1 to {MAX_THREADS}, got {n}"
            ));
        }
        let mut names = HashSet::new();
        let a2a: Vec<UpstreamConfig> = self
            .a2a_upstreams
            .iter()
            .map(A2aUpstreamConfig::as_upstream)
            .collect();
        for a in &self.a2a_upstreams {
            if let Some(card) = &a.card_url
                && !(card.starts_with("http://") || card.starts_with("https://"))
            {
                return Err(format!(
                    "a2a upstream `{}`: card_url `{card}` must start with http:// or https://",
                    a.name
                ));
            }
        }
        for u in self.upstreams.iter().chain(&a2a) {
            if u.name.is_empty()
                || !u
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "upstream name `{}` must be letters, digits, `-` or `_`",
                    u.name
                ));
            }
            if !names.insert(u.name.as_str()) {
                return Err(format!("two upstreams are named `{}`", u.name));
            }
            if !(u.url.starts_with("http://") || u.url.starts_with("https://")) {
                return Err(format!(
                    "upstream `{}`: url `{}` must start with http:// or https://",
                    u.name, u.url
                ));
            }
            if let Some(c) = &u.credential {
                let header = http::HeaderName::from_bytes(c.header.as_bytes()).map_err(|_| {
                    format!("upstream `{}`: `{}` is not a header name", u.name, c.header)
                })?;
                if OWN_HEADERS.contains(&header.as_str()) {
                    return Err(format!(
                        "upstream `{}`: the gateway sets `{}` itself: choose another credential header",
                        u.name, c.header
                    ));
                }
                if c.format.matches("{secret}").count() != 1 || c.secret.is_empty() {
                    return Err(format!(
                        "upstream `{}`: a credential names its `secret` and has `{{secret}}` once in `format`",
                        u.name
                    ));
                }
            }
        }
        let mut issuers = HashSet::new();
        for i in &self.issuers {
            if i.issuer.is_empty() || i.audience.is_empty() || i.tenant_claim.is_empty() {
                return Err(format!(
                    "issuer `{}`: `issuer`, `audience` and `tenant_claim` must not be empty",
                    i.issuer
                ));
            }
            if !issuers.insert(i.issuer.as_str()) {
                return Err(format!("issuer `{}` is configured twice", i.issuer));
            }
            if !secure_or_loopback(&i.jwks_url) {
                return Err(format!(
                    "issuer `{}`: jwks_url `{}` must be https:// (http:// only on a loopback address)",
                    i.issuer, i.jwks_url
                ));
            }
            if i.tenants.is_empty() || i.tenants.iter().any(String::is_empty) {
                return Err(format!(
                    "issuer `{}`: `tenants` must name the tenants it may assert",
                    i.issuer
                ));
            }
            if i.leeway_secs > 300 {
                return Err(format!(
                    "issuer `{}`: leeway_secs must be at most 300",
                    i.issuer
                ));
            }
            if i.refresh_secs == 0 {
                return Err(format!(
                    "issuer `{}`: refresh_secs must be at least 1",
                    i.issuer
                ));
            }
        }
        for (i, a) in self.upstreams.iter().enumerate() {
            for b in self.upstreams.iter().skip(i + 1) {
                let (pa, pb) = (a.prefix(), b.prefix());
                if pa.starts_with(&pb) || pb.starts_with(&pa) {
                    return Err(format!(
                        "upstreams `{}` (prefix `{pa}`) and `{}` (prefix `{pb}`) could expose the same tool name: give them prefixes where neither starts with the other",
                        a.name, b.name
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn upstream(&self, name: &str) -> Option<&UpstreamConfig> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    pub fn a2a_upstream(&self, name: &str) -> Option<&A2aUpstreamConfig> {
        self.a2a_upstreams.iter().find(|u| u.name == name)
    }

    /// The upstream a client-facing name (`<prefix><name>`) belongs to, and the name there.
    /// Prefixes never overlap (`check`), so at most one upstream matches.
    pub(crate) fn route_name<'a>(&self, exposed: &'a str) -> Option<(&UpstreamConfig, &'a str)> {
        self.upstreams.iter().find_map(|u| {
            let name = exposed.strip_prefix(u.prefix().as_str())?;
            (!name.is_empty()).then_some((u, name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{GatewayConfig, IssuerConfig, UpstreamConfig};

    fn up(name: &str, prefix: Option<&str>) -> UpstreamConfig {
        UpstreamConfig {
            name: name.into(),
            url: "http://127.0.0.1:1/mcp".into(),
            prefix: prefix.map(str::to_owned),
            connect_timeout_ms: 1,
            request_timeout_ms: 1,
            credential: None,
        }
    }

    #[test]
    fn prefixes_must_not_collide() {
        let ok = GatewayConfig {
            upstreams: vec![up("files", None), up("crm", None)],
            ..Default::default()
        };
        assert!(ok.check().is_ok());
        let single_empty = GatewayConfig {
            upstreams: vec![up("files", Some(""))],
            ..Default::default()
        };
        assert!(single_empty.check().is_ok());
        let clash = GatewayConfig {
            upstreams: vec![up("files", Some("")), up("crm", None)],
            ..Default::default()
        };
        assert!(
            clash
                .check()
                .unwrap_err()
                .to_string()
                .contains("same tool name")
        );
        let nested = GatewayConfig {
            upstreams: vec![up("a", Some("x_")), up("b", Some("x_y_"))],
            ..Default::default()
        };
        assert!(nested.check().is_err());
        let dup = GatewayConfig {
            upstreams: vec![up("a", Some("p_")), up("a", Some("q_"))],
            ..Default::default()
        };
        assert!(
            dup.check()
                .unwrap_err()
                .to_string()
                .contains("two upstreams")
        );
    }

    #[test]
    fn issuers_are_checked() {
        let issuer = |name: &str, url: &str| IssuerConfig {
            issuer: name.into(),
            jwks_url: url.into(),
            audience: "portcullis".into(),
            tenant_claim: "tenant".into(),
            tenants: vec!["acme".into()],
            refresh_secs: 300,
            leeway_secs: 5,
        };
        let ok = GatewayConfig {
            issuers: vec![issuer("https://idp.example", "https://idp.example/jwks")],
            ..Default::default()
        };
        assert!(ok.check().is_ok());
        let ftp = GatewayConfig {
            issuers: vec![issuer("https://idp.example", "ftp://idp.example/jwks")],
            ..Default::default()
        };
        assert!(ftp.check().unwrap_err().to_string().contains("https://"));
        for (url, ok) in [
            ("http://idp.example/jwks", false),
            ("http://10.0.0.1/jwks", false),
            ("http://127.0.0.1:8/jwks", true),
            ("http://[::1]:8/jwks", true),
            ("http://localhost/jwks", true),
            ("http://localhost.evil.example/jwks", false),
        ] {
            let c = GatewayConfig {
                issuers: vec![issuer("https://idp.example", url)],
                ..Default::default()
            };
            assert_eq!(c.check().is_ok(), ok, "{url}");
        }
        let mut anyone = issuer("https://idp.example", "https://idp.example/jwks");
        anyone.tenants.clear();
        let c = GatewayConfig {
            issuers: vec![anyone],
            ..Default::default()
        };
        assert!(c.check().unwrap_err().to_string().contains("tenants"));
        let twice = GatewayConfig {
            issuers: vec![
                issuer("https://idp.example", "https://idp.example/jwks"),
                issuer("https://idp.example", "https://idp.example/other"),
            ],
            ..Default::default()
        };
        assert!(twice.check().unwrap_err().to_string().contains("twice"));
        let parsed: GatewayConfig = serde_json::from_value(serde_json::json!({
            "issuers": [{"issuer": "i", "jwks_url": "http://127.0.0.1:1/jwks", "audience": "a", "tenants": ["acme"]}]
        }))
        .expect("parses");
        assert_eq!(parsed.issuers[0].tenant_claim, "tenant");
        assert_eq!(parsed.issuers[0].refresh_secs, 300);
        assert_eq!(parsed.issuers[0].leeway_secs, 5);
        let no_tenants = serde_json::from_value::<GatewayConfig>(serde_json::json!({
            "issuers": [{"issuer": "i", "jwks_url": "http://127.0.0.1:1/jwks", "audience": "a"}]
        }));
        assert!(no_tenants.unwrap_err().to_string().contains("tenants"));
    }

    #[test]
    fn threads_are_checked() {
        for (threads, ok) in [
            (None, true),
            (Some(1), true),
            (Some(0), false),
            (Some(5000), false),
        ] {
            let c = GatewayConfig {
                threads,
                ..Default::default()
            };
            assert_eq!(c.check().is_ok(), ok, "{threads:?}");
        }
        let zero = GatewayConfig {
            threads: Some(0),
            ..Default::default()
        };
        assert!(
            zero.check()
                .unwrap_err()
                .to_string()
                .contains("gateway.threads")
        );
    }
}
