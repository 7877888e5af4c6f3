//! Container runtime specs (in progress).
