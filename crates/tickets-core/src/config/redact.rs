//! Hiding secrets in what is shown to people: `tickets config`, `Debug` output.

/// Words that make a key secret wherever it appears (`token`, `refresh_token`, `api_key`, ...).
pub const SECRET_WORDS: [&str; 6] = [
    "token",
    "password",
    "secret",
    "api_key",
    "private_key",
    "credential",
];

/// True when a key's value is a secret (its name holds one of [`SECRET_WORDS`]).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// Replaces secret values (by key) with `"***"` and passwords inside URLs, in place.
pub(crate) fn redact(value: &mut serde_json::Value, key: Option<&str>) {
    use serde_json::Value as J;
    if key.is_some_and(is_secret_key) && !value.is_null() && !value.is_object() {
        *value = J::String("***".into());
        return;
    }
    match value {
        J::Object(map) => {
            for (k, v) in map.iter_mut() {
                redact(v, Some(k));
            }
        }
        J::Array(items) => items.iter_mut().for_each(|v| redact(v, key)),
        J::String(s) => *s = redact_url_password(s),
        _ => {}
    }
}

/// `postgres://user:pw@host/db` -> `postgres://user:***@host/db`; other text unchanged.
///
/// The user information ends at the *last* `@`, so a password holding an unencoded `/`, `?`,
/// `#` or `@` is still hidden whole (at worst an `@` later in a path hides a little more than
/// needed; this is for showing, never for connecting).
pub fn redact_url_password(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_owned();
    };
    let rest = &s[scheme_end + 3..];
    let Some(at) = rest.rfind('@') else {
        return s.to_owned();
    };
    let userinfo = &rest[..at];
    let Some(colon) = userinfo.find(':') else {
        return s.to_owned();
    };
    format!(
        "{}://{}:***{}",
        &s[..scheme_end],
        &userinfo[..colon],
        &rest[at..]
    )
}
