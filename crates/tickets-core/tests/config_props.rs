//! Property: whatever TOML value (or environment text) sits in whatever key the core reads —
//! `default`, `provider`, `backends`, a backend's `provider`, every `layers` key, `workflow` and
//! its keys, or a key nobody knows — loading the configuration and building the hub never
//! panics: it succeeds or returns an error.

use proptest::prelude::*;
use tickets_core::{ConfigLoader, Registry, Tickets, memory};

/// A TOML value, as text.
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
            Just(f64::NEG_INFINITY),
            Just(1e20),
            Just(-1e20),
            Just(-0.0),
            Just(0.5),
            Just(1e300),
        ]
        .prop_map(float),
        any::<bool>().prop_map(|b| b.to_string()),
        text().prop_map(|s| quote(&s)),
        Just("1979-05-27T07:32:00Z".to_owned()),
    ];
    scalar.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..3).prop_map(|kv| {
                let mut seen = std::collections::BTreeSet::new();
                let items: Vec<String> = kv
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .map(|(k, v)| format!("{k} = {v}"))
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

fn quote(s: &str) -> String {
    // A JSON string is a valid TOML basic string.
    serde_json::to_string(s).expect("a string serializes")
}

/// Text as people and programs write it in config: numbers, statuses, inline syntax, noise.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        prop_oneof![
            Just("1.0"),
            Just("007"),
            Just("-5"),
            Just("1e20"),
            Just("NaN"),
            Just("inf"),
            Just("true"),
            Just("memory"),
            Just("default"),
            Just("main"),
            Just("new"),
            Just("closed"),
            Just("[new, closed]"),
            Just("{closed = [\"new\"]}"),
            Just("18446744073709551616"),
            Just(""),
        ]
        .prop_map(str::to_owned),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("transitions"),
        Just("reopen_to"),
        Just("new"),
        Just("closed"),
        Just("retries"),
        Just("x"),
    ]
    .prop_map(str::to_owned)
}

/// The keys the core reads, and one it does not.
const KEYS: [&str; 13] = [
    "default",
    "provider",
    "backends",
    "backends.main.provider",
    "backends.main.layers",
    "backends.main.layers.timeout_secs",
    "backends.main.layers.retries",
    "backends.main.layers.max_concurrency",
    "backends.main.layers.tracing",
    "backends.main.workflow",
    "backends.main.workflow.transitions",
    "backends.main.workflow.reopen_to",
    "backends.main.colour",
];

fn registry() -> Registry {
    let mut r = Registry::empty();
    r.register(memory::FACTORY).expect("one memory kind");
    r
}

/// Builds the hub from `loader`; returns whether it was accepted (a panic fails the property).
fn build(loader: ConfigLoader) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let config = match loader.load() {
            Ok(c) => c,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                return false;
            }
        };
        match Tickets::from_config_with(config, registry()).await {
            Ok(hub) => {
                let _ = hub.shutdown().await;
                true
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                false
            }
        }
    })
}

/// A TOML document with `value` at the dotted `key`, beside a valid memory backend.
fn document(key: &str, value: &str) -> String {
    let (table, leaf) = match key.rsplit_once('.') {
        Some((t, l)) => (Some(t), l),
        None => (None, key),
    };
    let mut doc = String::new();
    match table {
        None => {
            doc.push_str(&format!("{leaf} = {value}\n"));
            if leaf != "backends" {
                doc.push_str("[backends.main]\nprovider = \"memory\"\n");
            }
        }
        Some("backends.main") => {
            doc.push_str("[backends.main]\n");
            if leaf != "provider" {
                doc.push_str("provider = \"memory\"\n");
            }
            doc.push_str(&format!("{leaf} = {value}\n"));
        }
        Some(t) => {
            doc.push_str(&format!(
                "[backends.main]\nprovider = \"memory\"\n[{t}]\n{leaf} = {value}\n"
            ));
        }
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_value_in_any_core_key_is_an_answer_never_a_panic(
        key in prop::sample::select(&KEYS[..]),
        value in toml_value(),
    ) {
        let dir = tempfile_dir();
        let file = dir.join("tickets.toml");
        std::fs::write(&file, document(key, &value)).expect("write");
        build(ConfigLoader::new().file(&file).without_env());
    }

    #[test]
    fn any_text_in_any_core_variable_is_an_answer_never_a_panic(
        key in prop::sample::select(&KEYS[..]),
        value in text(),
    ) {
        let var = format!("TICKETS_{}", key.replace('.', "__").to_uppercase());
        let mut vars = vec![(var.clone(), value)];
        if var != "TICKETS_BACKENDS__MAIN__PROVIDER" {
            vars.push(("TICKETS_BACKENDS__MAIN__PROVIDER".into(), "memory".into()));
        }
        let dir = tempfile_dir();
        build(ConfigLoader::new().dir(&dir.0).env_vars(vars));
    }
}

/// A fresh directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> TempDir {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tickets-core-props-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    TempDir(dir)
}

/// Every core key with each value at the edge of what settings hold.
#[test]
fn every_core_key_with_every_edge_value() {
    let edges = [
        "0",
        "-1",
        "1",
        "9223372036854775807",
        "-9223372036854775808",
        "4294967295",
        "4294967296",
        "18446744073709551615",
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
        "[]",
        "{}",
        "[1, \"a\"]",
        "{ closed = [\"new\"] }",
        "1979-05-27T07:32:00Z",
    ];
    for key in KEYS {
        for value in edges {
            let dir = tempfile_dir();
            let file = dir.join("tickets.toml");
            std::fs::write(&file, document(key, value)).expect("write");
            build(ConfigLoader::new().file(&file).without_env());
        }
    }
}

/// The properties hold on known-bad values too (and known-good ones build), so the strategy
/// is not just missing them.
#[test]
fn known_values_answer_as_expected() {
    let cases = [
        ("backends.main.layers.timeout_secs", "1e20", false),
        ("backends.main.layers.timeout_secs", "nan", false),
        ("backends.main.layers.timeout_secs", "-1.0", false),
        ("backends.main.layers.retries", "-1", false),
        (
            "backends.main.layers.max_concurrency",
            "9223372036854775807",
            false,
        ),
        ("backends.main.layers.timeout_secs", "2.5", true),
        ("backends.main.workflow.reopen_to", "\"in_progress\"", true),
        ("backends.main.colour", "1", false),
        ("default", "\"main\"", true),
    ];
    for (key, value, accepted) in cases {
        let dir = tempfile_dir();
        let file = dir.join("tickets.toml");
        std::fs::write(&file, document(key, value)).expect("write");
        assert_eq!(
            build(ConfigLoader::new().file(&file).without_env()),
            accepted,
            "{key} = {value}"
        );
    }
}
