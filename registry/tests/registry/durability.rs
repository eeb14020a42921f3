//! Acknowledged writes survive a crash of the process (placeholder until implemented).
