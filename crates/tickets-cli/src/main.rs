//! `tickets` CLI (being written).
fn main() {}
