//! Property: an arbitrary TOML value (or environment text) in any key any linked provider
//! declares (`ProviderFactory::keys`, so a key added later is covered without touching this
//! file), beside an otherwise valid backend of that kind, builds the hub or fails with an
//! error: it never panics. Remotes point at a port nobody listens on and stores at SQLite files
//! in a temporary directory, so nothing leaves the machine.

#![cfg(all(
    feature = "asana",
    feature = "bugzilla",
    feature = "salesforce",
    feature = "internal",
    feature = "sync"
))]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tickets::{ConfigLoader, NewTicket, Registry, TicketQuery, Tickets};

const NOWHERE: &str = "http://127.0.0.1:9";

/// A valid section of each kind, as `(key, TOML value)`.
fn baseline(kind: &str, dir: &Path) -> Vec<(&'static str, String)> {
    let db = format!("\"sqlite://{}\"", dir.join("t.db").display());
    let s = |v: &str| format!("\"{v}\"");
    match kind {
        "internal" => vec![("url", db)],
        "asana" => vec![
            ("token", s("t")),
            ("project", s("1")),
            ("base_url", s(NOWHERE)),
        ],
        "bugzilla" => vec![
            ("base_url", s(&format!("{NOWHERE}/rest"))),
            ("api_key", s("k")),
            ("product", s("P")),
            ("component", s("C")),
        ],
        "salesforce" => vec![
            ("login_url", s(NOWHERE)),
            ("client_id", s("id")),
            ("client_secret", s("secret")),
        ],
        "sync" => vec![
            ("url", db),
            ("token", s("t")),
            ("asana_project", s("1")),
            ("base_url", s(NOWHERE)),
            ("worker", "false".into()),
        ],
        _ => Vec::new(),
    }
}

/// Every `(kind, key)` the linked factories declare.
fn declared() -> Vec<(&'static str, &'static str)> {
    let registry = Registry::discover().expect("registry");
    let mut out = Vec::new();
    for f in registry.factories() {
        for key in f
            .keys
            .expect("every factory in this repository declares its keys")
        {
            out.push((f.kind, *key));
        }
    }
    out
}

fn toml_value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        // Around the edges of the integer types settings use, and inside each.
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(2),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(i64::from(u16::MAX) + 1),
            Just(i64::from(i32::MAX)),
            Just(i64::from(u32::MAX)),
            Just(i64::from(u32::MAX) + 1),
        ]
        .prop_map(|i| i.to_string()),
        (0..=i64::from(u32::MAX)).prop_map(|i| i.to_string()),
        (0..100_000i64).prop_map(|i| i.to_string()),
        any::<f64>().prop_map(float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1e20),
            Just(1e20),
            Just(0.25),
        ]
        .prop_map(float),
        any::<bool>().prop_map(|b| b.to_string()),
        text().prop_map(|s| serde_json::to_string(&s).expect("a string")),
        Just("1979-05-27T07:32:00Z".to_owned()),
    ];
    scalar.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(inner, 0..3).prop_map(|v| {
                let items: Vec<String> = v
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("{} = {v}", ["new", "closed", "status", "x"][i % 4]))
                    .collect();
                format!("{{ {} }}", items.join(", "))
            }),
        ]
    })
}

fn float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f:?}")
    }
}

/// Text as written in config files and variables. No `sqlite:` URLs (a store would be created
/// wherever the text says) and no host names (a lookup would leave the machine).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.,:/\\[\\]{}=-]{0,16}",
        prop_oneof![
            Just("1.0"),
            Just("007"),
            Just("-5"),
            Just("1e20"),
            Just("NaN"),
            Just("true"),
            Just("header"),
            Just("jwt_bearer"),
            Just("password"),
            Just("in_progress"),
            Just("postgres://u:p@127.0.0.1:9/d"),
            Just("mysql://u@127.0.0.1:9/d"),
            Just("http://127.0.0.1:9"),
            Just("ftp://127.0.0.1:9"),
            Just("[new, closed]"),
            Just("{closed = [\"new\"]}"),
            Just("18446744073709551616"),
            Just(""),
        ]
        .prop_map(str::to_owned),
    ]
    .prop_filter("no sqlite store outside the temp dir", |s| {
        !s.to_ascii_lowercase().contains("sqlite")
    })
}

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tickets-props-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Builds a hub with one backend of `kind`: `toml` holds the baseline (minus overridden keys)
/// plus the file values, `vars` the environment ones. Err answers are fine; panics are not.
fn build(kind: &str, dir: &Dir, file: &[(&str, String)], vars: Vec<(String, String)>) {
    let mut doc = format!("[backends.x]\nprovider = \"{kind}\"\n");
    let overridden: Vec<&str> = file
        .iter()
        .map(|(k, _)| *k)
        .chain(vars.iter().map(|(v, _)| v.as_str()))
        .collect();
    for (key, value) in baseline(kind, &dir.0) {
        let var = format!("TICKETS_BACKENDS__X__{}", key.to_uppercase());
        if !overridden.contains(&key) && !overridden.contains(&var.as_str()) {
            doc.push_str(&format!("{key} = {value}\n"));
        }
    }
    for (key, value) in file {
        doc.push_str(&format!("{key} = {value}\n"));
    }
    let path = dir.0.join("tickets.toml");
    std::fs::write(&path, doc).expect("write the config");
    let loader = ConfigLoader::new().file(&path).env_vars(vars);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        match loader.load() {
            Err(e) => assert!(!e.to_string().is_empty()),
            Ok(config) => match Tickets::from_config(config).await {
                Ok(hub) => {
                    // Settings used only when working (an idempotency window, say) are used
                    // here; remotes refuse at once, retries are cut short.
                    let limit = std::time::Duration::from_millis(30);
                    let keyed = NewTicket::new("props").idempotency_key("k-1");
                    let _ = tokio::time::timeout(limit, hub.create(keyed)).await;
                    let _ = tokio::time::timeout(limit, hub.list(&TicketQuery::default())).await;
                    let _ = hub.shutdown().await;
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            },
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(320))]

    #[test]
    fn any_value_in_any_provider_key_is_an_answer_never_a_panic(
        (kind, key) in prop::sample::select(declared()),
        value in toml_value(),
    ) {
        let dir = Dir::new();
        build(kind, &dir, &[(key, value)], Vec::new());
    }

    #[test]
    fn any_text_in_any_provider_variable_is_an_answer_never_a_panic(
        (kind, key) in prop::sample::select(declared()),
        value in text(),
    ) {
        let dir = Dir::new();
        let var = format!("TICKETS_BACKENDS__X__{}", key.to_uppercase());
        build(kind, &dir, &[], vec![(var, value)]);
    }
}

/// Values at the edges of what settings hold: every declared key gets each of them.
const EDGES: [&str; 30] = [
    "0",
    "-1",
    "1",
    "2",
    "9223372036854775807",
    "-9223372036854775808",
    "65536",
    "86401",
    "87601",
    "2147483647",
    "3000000000",
    "4294967295",
    "4294967296",
    "1e20",
    "-1e20",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "true",
    "\"\"",
    "\"x\"",
    "\"1.0\"",
    "\"4294967295\"",
    "[]",
    "{}",
    "[1, \"a\"]",
    "{ new = \"x\", closed = [\"new\"] }",
    "1979-05-27T07:32:00Z",
    "\"http://127.0.0.1:9\"",
];

/// Every declared key of every linked provider with every edge value, in a file and (as
/// text) in a variable: an answer, never a panic.
#[test]
fn every_key_with_every_edge_value() {
    let keys = declared();
    // Mostly waiting on refused connections and cut-short calls: eight threads share it,
    // each taking every eighth key.
    let keys = &keys;
    std::thread::scope(|scope| {
        for lane in 0..8 {
            scope.spawn(move || {
                for &(kind, key) in keys.iter().skip(lane).step_by(8) {
                    for value in EDGES {
                        let dir = Dir::new();
                        build(kind, &dir, &[(key, value.to_owned())], Vec::new());
                        let text = value.trim_matches('"').to_owned();
                        let var = format!("TICKETS_BACKENDS__X__{}", key.to_uppercase());
                        build(kind, &dir, &[], vec![(var, text)]);
                    }
                }
            });
        }
    });
}

/// The baselines build (so the properties explore around working configs), and every kind
/// linked into the facade has one.
#[test]
fn every_baseline_builds() {
    let registry = Registry::discover().expect("registry");
    for f in registry.factories() {
        if f.kind == "memory" {
            continue;
        }
        let dir = Dir::new();
        assert!(
            !baseline(f.kind, &dir.0).is_empty(),
            "no baseline for {}",
            f.kind
        );
        let mut doc = format!("[backends.x]\nprovider = \"{}\"\n", f.kind);
        for (key, value) in baseline(f.kind, &dir.0) {
            doc.push_str(&format!("{key} = {value}\n"));
        }
        let path = dir.0.join("tickets.toml");
        std::fs::write(&path, doc).unwrap();
        let config = ConfigLoader::new()
            .file(&path)
            .without_env()
            .load()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let hub = rt.block_on(Tickets::from_config(config));
        assert!(hub.is_ok(), "{}: {:?}", f.kind, hub.err());
        rt.block_on(hub.unwrap().shutdown()).unwrap();
    }
}
