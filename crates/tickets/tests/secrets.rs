//! No secret leaks: a distinctive secret is planted in every configurable secret place of
//! every provider (Asana token, Bugzilla API key in both of its transports, Salesforce client
//! secret, password, refresh token and private key, passwords inside PostgreSQL and MySQL
//! URLs, the sync seed shape's token), once through a config file and once through
//! `TICKETS_*` variables. The hub is built, every backend is called against remotes that
//! refuse the credentials or do not answer, and configs with a bad value next to the secret are
//! refused. Then `Debug` of everything reachable (hub, config, backend specs, providers, the
//! loader), `Display`, `Debug` and sources of every error, the redacted config and every log
//! line written at trace level are searched for the secrets: none may hold one.

#![cfg(all(
    feature = "asana",
    feature = "bugzilla",
    feature = "salesforce",
    feature = "internal",
    feature = "sync"
))]

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use tickets::{
    ConfigLoader, DynProvider, Error, NewTicket, ProviderFactory, Registry, TicketId, TicketQuery,
    Tickets,
};
use tickets_fakes::asana::FakeAsana;
use tickets_fakes::bugzilla::FakeBugzilla;
use tickets_fakes::salesforce::{FakeSalesforce, TEST_JWT_PRIVATE_KEY};

/// Every planted secret holds this, so one search finds any of them. Letters and digits only,
/// so URL- or form-encoding would not hide it.
const MARK: &str = "Zq9Sekrit";

fn secret(place: &str) -> String {
    format!("{MARK}{place}")
}

/// Lines of the PEM key body: secret too, though not ours to choose.
fn key_lines() -> Vec<&'static str> {
    TEST_JWT_PRIVATE_KEY
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .collect()
}

/// Everything written by tracing, at trace level, from every thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
}

/// What was looked at, by where it came from.
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.0.push((what.into(), text.into()));
    }

    fn error(&mut self, what: &str, e: &Error) {
        self.add(format!("{what}: Display"), e.to_string());
        self.add(format!("{what}: Debug"), format!("{e:?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.add(format!("{what}: source"), s.to_string());
            source = s.source();
        }
    }

    fn result<T>(&mut self, what: &str, r: &tickets::Result<T>) {
        if let Err(e) = r {
            self.error(what, e);
        }
    }

    fn assert_clean(&self) {
        let lines = key_lines();
        let mut leaks = Vec::new();
        for (what, text) in &self.0 {
            if text.contains(MARK) || lines.iter().any(|l| text.contains(l)) {
                leaks.push(format!("{what}:\n    {text}"));
            }
        }
        assert!(
            leaks.is_empty(),
            "{} leak(s) of a secret:\n{}",
            leaks.len(),
            leaks.join("\n")
        );
    }
}

/// `Debug` of every `BuildContext` the probe factory was given (factories see the raw section).
static CONTEXTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A factory that records its context's `Debug`, then builds a memory store.
static PROBE: ProviderFactory = ProviderFactory::new("probe", "test", "secrets", |ctx| {
    Box::pin(async move {
        CONTEXTS.lock().unwrap().push(format!("{ctx:?}"));
        Ok(std::sync::Arc::new(tickets::memory::MemoryProvider::new()) as DynProvider)
    })
})
.with_keys(&["token", "password"]);

struct Remotes {
    asana: FakeAsana,
    bugzilla: FakeBugzilla,
    salesforce: FakeSalesforce,
}

/// `(backend, key, value, secret?)`: every setting of the hub that builds.
fn settings(r: &Remotes, dir: &Path) -> Vec<(&'static str, &'static str, String, bool)> {
    let key_file = dir.join("jwt.pem");
    std::fs::write(&key_file, TEST_JWT_PRIVATE_KEY).unwrap();
    let sf = r.salesforce.url();
    let db = |n: &str| format!("sqlite://{}", dir.join(n).display());
    vec![
        ("asana", "provider", "asana".into(), false),
        ("asana", "base_url", r.asana.base_url(), false),
        ("asana", "project", r.asana.project().into(), false),
        ("asana", "token", secret("AsanaToken"), true),
        ("bz", "provider", "bugzilla".into(), false),
        ("bz", "base_url", r.bugzilla.base_url(), false),
        ("bz", "product", r.bugzilla.product().into(), false),
        ("bz", "component", r.bugzilla.component().into(), false),
        ("bz", "api_key", secret("BugzillaKeyQuery"), true),
        ("bzh", "provider", "bugzilla".into(), false),
        ("bzh", "base_url", r.bugzilla.base_url(), false),
        ("bzh", "product", r.bugzilla.product().into(), false),
        ("bzh", "component", r.bugzilla.component().into(), false),
        ("bzh", "api_key_in", "header".into(), false),
        ("bzh", "api_key", secret("BugzillaKeyHeader"), true),
        ("bzdown", "provider", "bugzilla".into(), false),
        (
            "bzdown",
            "base_url",
            "http://127.0.0.1:9/rest".into(),
            false,
        ),
        ("bzdown", "product", "P".into(), false),
        ("bzdown", "component", "C".into(), false),
        ("bzdown", "api_key", secret("BugzillaKeyDown"), true),
        ("sfcc", "provider", "salesforce".into(), false),
        ("sfcc", "login_url", sf.clone(), false),
        ("sfcc", "client_id", r.salesforce.client_id().into(), false),
        ("sfcc", "client_secret", secret("SfClientSecret"), true),
        ("sfpw", "provider", "salesforce".into(), false),
        ("sfpw", "login_url", sf.clone(), false),
        ("sfpw", "flow", "password".into(), false),
        ("sfpw", "client_id", r.salesforce.client_id().into(), false),
        ("sfpw", "client_secret", secret("SfPwClientSecret"), true),
        ("sfpw", "username", r.salesforce.username().into(), false),
        ("sfpw", "password", secret("SfPassword"), true),
        ("sfrt", "provider", "salesforce".into(), false),
        ("sfrt", "login_url", "http://127.0.0.1:9".into(), false),
        ("sfrt", "flow", "refresh_token".into(), false),
        ("sfrt", "client_id", "id".into(), false),
        ("sfrt", "client_secret", secret("SfRtClientSecret"), true),
        ("sfrt", "refresh_token", secret("SfRefreshToken"), true),
        ("sfjwt", "provider", "salesforce".into(), false),
        ("sfjwt", "login_url", sf.clone(), false),
        ("sfjwt", "flow", "jwt_bearer".into(), false),
        ("sfjwt", "client_id", "not-the-fakes-client".into(), false),
        ("sfjwt", "username", r.salesforce.username().into(), false),
        (
            "sfjwt",
            "private_key",
            key_file.display().to_string(),
            false,
        ),
        ("db", "provider", "internal".into(), false),
        ("db", "url", db("db.sqlite"), false),
        ("main", "provider", "sync".into(), false),
        ("main", "local", "db".into(), false),
        ("main", "remote", "asana".into(), false),
        ("main", "poll_interval_ms", "20".into(), false),
        ("seed", "provider", "sync".into(), false),
        ("seed", "url", db("seed.sqlite"), false),
        ("seed", "base_url", r.asana.base_url(), false),
        ("seed", "asana_project", r.asana.project().into(), false),
        ("seed", "token", secret("SeedToken"), true),
        ("seed", "poll_interval_ms", "20".into(), false),
        ("probe", "provider", "probe".into(), false),
        ("probe", "token", secret("ProbeToken"), true),
        ("probe", "password", secret("ProbePassword"), true),
    ]
}

/// A TOML file of the settings the filter keeps, and `TICKETS_*` variables of the others.
fn sources(
    dir: &Path,
    name: &str,
    settings: &[(&str, &str, String, bool)],
    in_env: impl Fn(bool) -> bool,
) -> ConfigLoader {
    let mut toml = String::from("default = \"main\"\n");
    let mut vars = Vec::new();
    let mut section = "";
    for (backend, key, value, is_secret) in settings {
        if in_env(*is_secret) {
            vars.push((
                format!(
                    "TICKETS_BACKENDS__{}__{}",
                    backend.to_uppercase(),
                    key.to_uppercase()
                ),
                value.clone(),
            ));
        } else {
            if *backend != section {
                toml.push_str(&format!("[backends.{backend}]\n"));
                section = backend;
            }
            toml.push_str(&format!(
                "{key} = {}\n",
                serde_json::to_string(value).unwrap()
            ));
        }
    }
    let file = dir.join(name);
    std::fs::write(&file, toml).unwrap();
    ConfigLoader::new().file(file).env_vars(vars)
}

async fn call_everything(name: &str, p: &DynProvider, seen: &mut Seen) {
    seen.add(format!("Debug of backend {name}"), format!("{p:?}"));
    let id = TicketId::new("1209000000000001");
    seen.result(&format!("{name}.get"), &p.get(&id).await);
    seen.result(
        &format!("{name}.list"),
        &p.list(&TicketQuery::default()).await,
    );
    seen.result(
        &format!("{name}.create"),
        &p.create(NewTicket::new("secret test").idempotency_key("k-1"))
            .await,
    );
    seen.result(&format!("{name}.comments"), &p.comments(&id).await);
}

async fn scenario(secrets_in_env: bool, seen: &mut Seen) {
    let remotes = Remotes {
        asana: FakeAsana::start().await.unwrap(),
        bugzilla: FakeBugzilla::start().await.unwrap(),
        salesforce: FakeSalesforce::start().await.unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    let all = settings(&remotes, dir.path());
    let loader = sources(dir.path(), "tickets.toml", &all, |s| s == secrets_in_env);
    seen.add("Debug of the loader", format!("{loader:?}"));
    let config = loader.load().expect("config loads");
    seen.add("Debug of the config", format!("{config:?}"));
    seen.add("redacted config", config.redacted().to_string());
    for spec in config.backends() {
        seen.add(format!("Debug of spec {}", spec.name), format!("{spec:?}"));
    }
    let mut registry = Registry::discover().expect("registry");
    registry.register(PROBE).expect("one probe kind");
    let hub = Tickets::from_config_with(config, registry)
        .await
        .expect("hub builds");
    let contexts: Vec<String> = CONTEXTS.lock().unwrap().drain(..).collect();
    assert!(!contexts.is_empty(), "the probe backend was built");
    for ctx in contexts {
        assert!(ctx.contains("token"), "names the keys: {ctx}");
        seen.add("Debug of a BuildContext", ctx);
    }
    seen.add("Debug of the hub", format!("{hub:?}"));
    for info in hub.backends() {
        let p = hub.backend(&info.name).unwrap();
        call_everything(&info.name, &p, seen).await;
    }
    // Let the sync workers try to deliver to the remote that refuses the token.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    seen.add("Debug of the hub after calls", format!("{hub:?}"));
    seen.result("shutdown", &hub.shutdown().await);

    // Configs that fail, with the secret beside the mistake (or in an unreachable URL).
    let bad: Vec<Vec<(&str, &str, String, bool)>> = vec![
        vec![
            ("x", "provider", "asana".into(), false),
            ("x", "project", "1".into(), false),
            ("x", "page_size", "0".into(), false),
            ("x", "token", secret("BadAsana"), true),
        ],
        vec![
            ("x", "provider", "asana".into(), false),
            ("x", "project", "1".into(), false),
            ("x", "tokn", secret("MisspeltKeyValue"), true),
            ("x", "token", secret("BesideMisspelt"), true),
        ],
        vec![
            ("x", "provider", "bugzilla".into(), false),
            ("x", "base_url", "ftp://bugs".into(), false),
            ("x", "product", "P".into(), false),
            ("x", "component", "C".into(), false),
            ("x", "api_key", secret("BadBugzilla"), true),
        ],
        vec![
            ("x", "provider", "bugzilla".into(), false),
            ("x", "base_url", "http://127.0.0.1:9/rest".into(), false),
            ("x", "product", "P".into(), false),
            ("x", "component", "C".into(), false),
            ("x", "api_key_in", secret("KeyPastedInTheWrongKey"), true),
            ("x", "api_key", secret("BesideWrongKey"), true),
        ],
        vec![
            ("x", "provider", "salesforce".into(), false),
            ("x", "login_url", "https://login.example".into(), false),
            ("x", "api_version", "latest".into(), false),
            ("x", "client_id", "id".into(), false),
            ("x", "client_secret", secret("BadSalesforce"), true),
        ],
        vec![
            ("x", "provider", "salesforce".into(), false),
            ("x", "login_url", "https://login.example".into(), false),
            ("x", "flow", "jwt_bearer".into(), false),
            ("x", "client_id", "id".into(), false),
            ("x", "username", "u".into(), false),
            ("x", "private_key", pem_with_secret(dir.path()), false),
        ],
        vec![
            ("x", "provider", "internal".into(), false),
            (
                "x",
                "url",
                format!("postgres://tickets:{}@127.0.0.1:9/t", secret("PgPassword")),
                true,
            ),
        ],
        vec![
            ("x", "provider", "internal".into(), false),
            (
                "x",
                "url",
                format!("mysql://tickets:{}@127.0.0.1:9/t", secret("MyPassword")),
                true,
            ),
        ],
        vec![
            ("x", "provider", "internal".into(), false),
            (
                "x",
                "url",
                format!("oracle://tickets:{}@db/t", secret("OraclePassword")),
                true,
            ),
        ],
        vec![
            ("x", "provider", "internal".into(), false),
            ("x", "max_connections", "0".into(), false),
            (
                "x",
                "url",
                format!("postgres://tickets:{}@127.0.0.1:9/t", secret("PgBeside")),
                true,
            ),
        ],
        vec![
            ("x", "provider", "sync".into(), false),
            ("x", "concurrency", "0".into(), false),
            ("x", "asana_project", "1".into(), false),
            ("x", "token", secret("BadSeed"), true),
        ],
    ];
    for (i, settings) in bad.iter().enumerate() {
        let mut settings = settings.clone();
        settings.push(("main", "provider", "memory".into(), false));
        let loader = sources(dir.path(), &format!("bad{i}.toml"), &settings, |s| {
            s == secrets_in_env
        });
        let what = format!("bad config {i} ({})", settings[0].2);
        match loader.load() {
            Err(e) => seen.error(&what, &e),
            Ok(config) => {
                seen.add(format!("{what}: Debug"), format!("{config:?}"));
                let built = Tickets::from_config(config).await;
                assert!(built.is_err(), "{what} was accepted");
                seen.result(&what, &built);
            }
        }
    }
}

/// A file that looks like a PEM key and holds a secret, but is not a key.
fn pem_with_secret(dir: &Path) -> String {
    let path = dir.join("broken.pem");
    std::fs::write(
        &path,
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            secret("PemBody")
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_debug_errors_or_logs() {
    let logs = logs();
    let mut seen = Seen::default();
    scenario(false, &mut seen).await;
    scenario(true, &mut seen).await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("TRACE") && text.len() > 1000,
        "the logs were captured at trace level ({} bytes)",
        text.len()
    );
    for line in text.lines() {
        seen.add("log line", line);
    }
    seen.assert_clean();
}
