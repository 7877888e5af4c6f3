//! wharf-dockerfile (stub)
