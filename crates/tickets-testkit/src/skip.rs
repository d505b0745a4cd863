//! Skipping part of a test visibly, and never on CI.

use tickets_core::{Error, Result};

/// The variable that marks a CI run: when it is set (non-empty), nothing may be skipped.
pub const CI_ENV: &str = "CI";

/// Reports that part of a test is skipped for a missing service or file, where it shows: on
/// the test process's stderr *past* the test harness's output capture, so `cargo test` prints
/// `SKIPPED: ...` even for a passing test. With `CI` set (non-empty), a skip is an error
/// instead: CI must not pass while silently skipping what it is there to check.
///
/// ```no_run
/// # fn demo() -> tickets_core::Result<()> {
/// let Ok(url) = std::env::var("TICKETS_TEST_POSTGRES_URL") else {
///     return tickets_testkit::skipped("the PostgreSQL part (TICKETS_TEST_POSTGRES_URL is not set)");
/// };
/// # let _ = url; Ok(()) }
/// ```
pub fn skipped(what: &str) -> Result<()> {
    use std::io::Write;
    let line = report(what, on_ci())?;
    // Written to the process's stderr directly: `eprintln!` would be captured and hidden.
    let _ = writeln!(std::io::stderr(), "{line}");
    Ok(())
}

/// The line to show for a skip, or the error when skipping is not allowed.
fn report(what: &str, ci: bool) -> Result<String> {
    if ci {
        return Err(Error::config(format!(
            "{CI_ENV} is set, so a test may not skip {what}; provide what it needs (start the \
             service, restore the file; see .ci/run)"
        )));
    }
    Ok(format!("SKIPPED: {what}"))
}

/// True when `CI` is set to something.
pub fn on_ci() -> bool {
    std::env::var(CI_ENV).is_ok_and(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_is_reported_or_refused_on_ci() {
        let line = report("the PostgreSQL part", false).unwrap();
        assert_eq!(line, "SKIPPED: the PostgreSQL part");
        let e = report("the PostgreSQL part", true).unwrap_err();
        assert!(
            e.to_string().contains("CI is set") && e.to_string().contains("PostgreSQL part"),
            "{e}"
        );
    }
}
