//! Provider "bugzilla" (being written).
