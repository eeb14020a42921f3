//! Portcullis The data plane: a pingora reverse proxy that authenticates, validates, decides and forwards every MCP tools/call and A2A task.
//!
//! Empty for now: the issue that builds it fills it in.
