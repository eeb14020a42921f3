//! The shared backend: a Redis server (placeholder until implemented).
