//! wharf-engine (stub)
