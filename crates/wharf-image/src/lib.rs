//! wharf-image (stub)
