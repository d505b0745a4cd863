//! Provider "asana" (being written).
