//! Following a vendor's pages: a repeated cursor or an endless series ends with an error
//! instead of a loop.

use std::collections::HashSet;

use tickets_core::{Error, Result};

/// Guards a loop over pages: [`PageGuard::next`] is called with each cursor the vendor hands
/// back, and refuses one seen before (a server repeating `next_page` would otherwise be asked
/// for the same page forever) and any page past the cap.
#[derive(Debug, Clone)]
pub struct PageGuard {
    what: String,
    seen: HashSet<String>,
    pages: u32,
    max_pages: u32,
}

impl PageGuard {
    /// The default cap: 10,000 pages (a million items at 100 a page).
    pub const DEFAULT_MAX_PAGES: u32 = 10_000;

    /// A guard for following `what` (named in errors, e.g. "Asana tasks of project 12").
    pub fn new(what: impl Into<String>) -> Self {
        Self::with_max_pages(what, Self::DEFAULT_MAX_PAGES)
    }

    /// A guard with its own page cap.
    pub fn with_max_pages(what: impl Into<String>, max_pages: u32) -> Self {
        Self {
            what: what.into(),
            seen: HashSet::new(),
            pages: 1,
            max_pages: max_pages.max(1),
        }
    }

    /// Pages fetched so far (the first one counts).
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Accepts the cursor of the next page, or refuses it: `Unexpected` for a cursor handed
    /// out before or for a page past the cap.
    pub fn next(&mut self, cursor: &str) -> Result<()> {
        if !self.seen.insert(cursor.to_owned()) {
            return Err(Error::unexpected(format!(
                "the server handed back a page cursor it gave before while listing {}; \
                 stopped after {} page(s) instead of looping",
                self.what, self.pages
            )));
        }
        if self.pages >= self.max_pages {
            return Err(Error::unexpected(format!(
                "listing {} did not end within {} pages; stopped",
                self.what, self.max_pages
            )));
        }
        self.pages += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_cursors_and_endless_listings_stop() {
        let mut g = PageGuard::new("tasks");
        g.next("a").unwrap();
        g.next("b").unwrap();
        let err = g.next("a").unwrap_err();
        assert!(err.to_string().contains("gave before"), "{err}");
        let mut g = PageGuard::with_max_pages("tasks", 3);
        g.next("1").unwrap();
        g.next("2").unwrap();
        assert!(
            g.next("3")
                .unwrap_err()
                .to_string()
                .contains("within 3 pages")
        );
        assert_eq!(g.pages(), 3);
    }
}
