//! Portcullis The control plane: the axum admin API over the registry, vault, approvals and reports.
//!
//! Empty for now: the issue that builds it fills it in.
