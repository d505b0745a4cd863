//! Provider "internal" (being written).
