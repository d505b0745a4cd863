//! Provider "salesforce" (being written).
