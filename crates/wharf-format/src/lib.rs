//! wharf-format (stub)
