//! Provider "sync" (being written).
