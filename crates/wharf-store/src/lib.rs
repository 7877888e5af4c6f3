//! wharf-store (stub)
