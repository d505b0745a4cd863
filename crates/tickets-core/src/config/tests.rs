use super::*;
use figment::Jail;
use serde::Deserialize;

/// Sources for tests inside a `Jail` (which owns the working directory while it runs).
fn loader(vars: &[(&str, &str)]) -> ConfigLoader {
    ConfigLoader::new().env_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// Sources for tests outside a `Jail`: config files are looked for in an empty directory of
/// their own, not in the working directory a concurrent `Jail` test may be changing.
fn isolated(vars: &[(&str, &str)]) -> ConfigLoader {
    let dir = std::env::temp_dir().join("tickets-config-tests-empty");
    std::fs::create_dir_all(&dir).unwrap();
    loader(vars).dir(dir)
}

#[test]
fn empty_config_has_no_backends() {
    Jail::expect_with(|_jail| {
        let config = loader(&[]).load().unwrap();
        assert!(config.is_empty());
        let config = config.with_fallback("memory");
        assert_eq!(config.default_name().unwrap(), "default");
        assert_eq!(config.backend("default").unwrap().provider, "memory");
        Ok(())
    });
}

#[test]
fn named_backends_from_file_and_env() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tickets.toml",
            r#"
            default = "main"
            [backends.main]
            provider = "memory"
            [backends.tracker]
            provider = "asana"
            project = 1209000000000000
            "#,
        )?;
        jail.set_env("TICKETS_BACKENDS__TRACKER__TOKEN", "s3cr3t");
        let config = ConfigLoader::new().load().unwrap();
        assert_eq!(config.default_name().unwrap(), "main");
        let tracker = config.backend("tracker").unwrap();
        assert_eq!(tracker.provider, "asana");
        assert_eq!(tracker.path(), "backends.tracker");
        let token: Option<String> = tracker.read_key("token").unwrap();
        assert_eq!(token.as_deref(), Some("s3cr3t"));
        let project: Option<String> = tracker.read_key("project").unwrap();
        assert_eq!(project.as_deref(), Some("1209000000000000"));
        let redacted = config.redacted().to_string();
        assert!(!redacted.contains("s3cr3t"), "{redacted}");
        Ok(())
    });
}

#[test]
fn shorthand_from_env_only() {
    let config = isolated(&[
        ("TICKETS_PROVIDER", "asana"),
        ("TICKETS_PROJECT", "1209000000000000"),
    ])
    .load()
    .unwrap();
    assert_eq!(config.default_name().unwrap(), "default");
    let spec = config.backend("default").unwrap();
    assert_eq!(spec.provider, "asana");
    #[derive(Deserialize)]
    struct Section {
        project: String,
    }
    let s: Section = spec.read().unwrap();
    assert_eq!(s.project, "1209000000000000");
}

#[test]
fn seed_layout_under_a_focus_key() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "app.yaml",
            "homechoice:\n  ticket:\n    provider: sync\n    asana_project: 1209\n    page_size: x\n",
        )?;
        let config = ConfigLoader::new()
            .file("app.yaml")
            .focus("homechoice.ticket")
            .without_env()
            .load()
            .unwrap();
        let spec = config.backend("default").unwrap();
        assert_eq!(spec.provider, "sync");
        let p: Option<String> = spec.read_key("asana_project").unwrap();
        assert_eq!(p.as_deref(), Some("1209"));
        // A key from the focused file is named as written in the file.
        let msg = spec.read_key::<u32>("page_size").unwrap_err().to_string();
        assert!(msg.contains("`homechoice.ticket.page_size`"), "{msg}");
        assert!(msg.contains("app.yaml"), "{msg}");
        Ok(())
    });
}

#[test]
fn errors_name_key_and_source() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tickets.toml",
            "default = \"nope\"\n[backends.a]\nprovider = \"memory\"\n",
        )?;
        let msg = loader(&[]).load().unwrap_err().to_string();
        assert!(msg.contains("`default`"), "{msg}");
        assert!(msg.contains("tickets.toml"), "{msg}");
        assert!(msg.contains("\"nope\""), "{msg}");

        jail.create_file("tickets.toml", "[backends.a]\nurl = \"x\"\n")?;
        let msg = loader(&[]).load().unwrap_err().to_string();
        assert!(msg.contains("`backends.a.provider`"), "{msg}");
        assert!(msg.contains("is missing"), "{msg}");

        jail.create_file("tickets.toml", "")?;
        let msg = loader(&[
            ("TICKETS_DEFAULT", "ghost"),
            ("TICKETS_BACKENDS__A__PROVIDER", "memory"),
        ])
        .load()
        .unwrap_err()
        .to_string();
        assert!(
            msg.contains("environment variable TICKETS_DEFAULT"),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn key_paths_are_absolute_and_name_their_variable() {
    let config = isolated(&[
        ("TICKETS_BACKENDS__DB__PROVIDER", "internal"),
        ("TICKETS_BACKENDS__DB__MAX_CONNECTIONS", "lots"),
    ])
    .load()
    .unwrap();
    let spec = config.backend("db").unwrap();
    let msg = spec
        .read_key::<u32>("max_connections")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`backends.db.max_connections`"), "{msg}");
    assert!(
        msg.contains("environment variable TICKETS_BACKENDS__DB__MAX_CONNECTIONS"),
        "{msg}"
    );
    assert!(
        !msg.contains("default."),
        "no figment profile in key paths: {msg}"
    );
    // The same for figment's own errors.
    let figment_msg = Error::from(
        spec.figment
            .extract_inner::<u32>("max_connections")
            .unwrap_err(),
    )
    .to_string();
    assert!(!figment_msg.contains("default."), "{figment_msg}");
}

#[test]
fn env_text_is_kept_as_written() {
    #[derive(Deserialize)]
    struct Section {
        version: String,
        password: secrecy::SecretString,
        login: String,
        id: String,
        retries: u32,
        timeout_secs: f64,
        enabled: bool,
        tags: Vec<String>,
        sections: BTreeMap<String, String>,
    }
    let config = isolated(&[
        ("TICKETS_PROVIDER", "x"),
        ("TICKETS_VERSION", "1.0"),
        ("TICKETS_PASSWORD", "0123456"),
        ("TICKETS_LOGIN", "true"),
        ("TICKETS_ID", "007"),
        ("TICKETS_RETRIES", "3"),
        ("TICKETS_TIMEOUT_SECS", "2.5"),
        ("TICKETS_ENABLED", "yes"),
        ("TICKETS_TAGS", "[a, b]"),
        ("TICKETS_SECTIONS", "{new = \"Todo\"}"),
    ])
    .load()
    .unwrap();
    let s: Section = config.backend("default").unwrap().read().unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(s.version, "1.0", "not the float 1");
    assert_eq!(s.password.expose_secret(), "0123456");
    assert_eq!(s.login, "true");
    assert_eq!(s.id, "007");
    assert_eq!((s.retries, s.timeout_secs, s.enabled), (3, 2.5, true));
    assert_eq!(s.tags, ["a", "b"]);
    assert_eq!(s.sections["new"], "Todo");
}

#[test]
fn numbers_in_files_read_as_ids_but_fractions_do_not() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tickets.toml",
            "provider = \"x\"\nproject = 1209000000000000\nversion = 1.0\n",
        )?;
        let config = loader(&[]).load().unwrap();
        let spec = config.backend("default").unwrap();
        let p: Option<String> = spec.read_key("project").unwrap();
        assert_eq!(p.as_deref(), Some("1209000000000000"));
        let msg = spec.read_key::<String>("version").unwrap_err().to_string();
        assert!(msg.contains("`version`") && msg.contains("quotes"), "{msg}");
        Ok(())
    });
}

#[test]
fn out_of_range_numbers_are_errors_naming_the_key() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tickets.toml",
            "provider = \"x\"\nbig = 99999999999999\nneg = -1\nfrac = 1.5\nhuge = 1e300\n",
        )?;
        let config = loader(&[]).load().unwrap();
        let spec = config.backend("default").unwrap();
        for (key, want) in [
            ("big", "out of range"),
            ("neg", "out of range"),
            ("frac", "whole number"),
            ("huge", "whole number"),
        ] {
            let msg = spec.read_key::<u32>(key).unwrap_err().to_string();
            assert!(
                msg.contains(&format!("`{key}`")) && msg.contains(want),
                "{msg}"
            );
        }
        Ok(())
    });
}

#[test]
fn two_config_files_side_by_side_are_an_error() {
    Jail::expect_with(|jail| {
        jail.create_file("tickets.toml", "provider = \"memory\"\n")?;
        jail.create_file("tickets.yaml", "provider: memory\n")?;
        let msg = loader(&[]).load().unwrap_err().to_string();
        assert!(
            msg.contains("tickets.toml") && msg.contains("tickets.yaml"),
            "{msg}"
        );
        // Naming one picks it.
        let config = loader(&[("TICKETS_CONFIG", "tickets.yaml")])
            .load()
            .unwrap();
        assert_eq!(config.backend("default").unwrap().provider, "memory");
        Ok(())
    });
}

#[test]
fn unknown_top_level_keys_suggest_the_nearest() {
    let msg = isolated(&[
        ("TICKETS_DEFALT", "a"),
        ("TICKETS_BACKENDS__A__PROVIDER", "memory"),
    ])
    .load()
    .unwrap_err()
    .to_string();
    assert!(msg.contains("`defalt`"), "{msg}");
    assert!(msg.contains("did you mean `default`"), "{msg}");
    assert!(msg.contains("TICKETS_DEFALT"), "{msg}");
}

#[test]
fn backend_keys_are_checked_against_a_list() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tickets.toml",
            "[backends.main]\nprovider = \"asana\"\ntokn = \"x\"\nproject = 1\n",
        )?;
        let config = loader(&[]).load().unwrap();
        let spec = config.backend("main").unwrap();
        spec.check_keys(&["token", "project"], "asana")
            .expect_err("tokn is unknown");
        let msg = spec
            .check_keys(&["token", "project"], "asana")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`backends.main.tokn`"), "{msg}");
        assert!(msg.contains("did you mean `token`"), "{msg}");
        assert!(msg.contains("tickets.toml"), "{msg}");
        assert!(msg.contains("`asana` backends"), "{msg}");
        Ok(())
    });
}

#[test]
fn nested_unknown_keys_and_variants_are_named() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Layers {
        retries: Option<u32>,
        timeout_secs: Option<f64>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Flow {
        ClientCredentials,
        JwtBearer,
    }
    let config = isolated(&[
        ("TICKETS_PROVIDER", "x"),
        ("TICKETS_LAYERS__RETIRES", "3"),
        ("TICKETS_FLOW", "jwt_berer"),
    ])
    .load()
    .unwrap();
    let spec = config.backend("default").unwrap();
    let msg = spec.read_key::<Layers>("layers").unwrap_err().to_string();
    assert!(msg.contains("`layers.retires`"), "{msg}");
    assert!(msg.contains("did you mean `retries`"), "{msg}");
    assert!(msg.contains("TICKETS_LAYERS__RETIRES"), "{msg}");
    let msg = spec.read_key::<Flow>("flow").unwrap_err().to_string();
    assert!(msg.contains("did you mean `jwt_bearer`"), "{msg}");
}

#[test]
fn env_clashes_and_bad_names_are_errors() {
    let msg = isolated(&[
        ("TICKETS_BACKENDS__A", "x"),
        ("TICKETS_BACKENDS__A__PROVIDER", "memory"),
    ])
    .load()
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("TICKETS_BACKENDS__A ") || msg.contains("TICKETS_BACKENDS__A and"),
        "{msg}"
    );
    let msg = isolated(&[("TICKETS_BACKENDS____X", "1")])
        .load()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("TICKETS_BACKENDS____X"), "{msg}");
    // Variables for tests, benches and the program itself are not config keys.
    let config = isolated(&[
        ("TICKETS_LOG", "debug"),
        ("TICKETS_TEST_POSTGRES_URL", "postgres://x"),
        ("TICKETS_BENCH_OPS", "5"),
    ])
    .load()
    .unwrap();
    assert!(config.is_empty());
}

#[test]
fn missing_named_file_is_an_error() {
    Jail::expect_with(|jail| {
        jail.set_env("TICKETS_CONFIG", "nowhere.toml");
        let msg = ConfigLoader::new().load().unwrap_err().to_string();
        assert!(
            msg.contains("nowhere.toml") && msg.contains("TICKETS_CONFIG"),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn a_broken_file_is_an_error_not_an_empty_config() {
    Jail::expect_with(|jail| {
        jail.create_file("tickets.toml", "[backends.main\nprovider = 1")?;
        let msg = loader(&[]).load().unwrap_err().to_string();
        assert!(msg.contains("tickets.toml"), "{msg}");
        Ok(())
    });
}

#[test]
fn debug_shows_keys_and_sources_never_values() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tickets.toml",
            "[backends.db]\nprovider = \"internal\"\nurl = \"postgres://u:hunter2@h/d\"\n",
        )?;
        let config = loader(&[("TICKETS_BACKENDS__DB__PASSWORD", "sw0rdfish")])
            .load()
            .unwrap();
        let shown = format!("{config:?} {:?}", config.backend("db").unwrap());
        assert!(
            !shown.contains("hunter2") && !shown.contains("sw0rdfish"),
            "{shown}"
        );
        assert!(
            shown.contains("url") && shown.contains("tickets.toml"),
            "{shown}"
        );
        assert!(
            shown.contains("TICKETS_BACKENDS__DB__PASSWORD"),
            "names the variable: {shown}"
        );
        let loader_shown = format!("{:?}", loader(&[("TICKETS_TOKEN", "sw0rdfish")]));
        assert!(!loader_shown.contains("sw0rdfish"), "{loader_shown}");
        Ok(())
    });
}

#[test]
fn struct_keys_come_from_the_deserialize_impl() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct S {
        a: u32,
        #[serde(rename = "bee")]
        b: String,
    }
    assert_eq!(struct_keys::<S>(), Some(&["a", "bee"][..]));
    assert_eq!(struct_keys::<BTreeMap<String, String>>(), None);
    assert_eq!(
        struct_keys::<crate::Workflow>(),
        Some(&["transitions", "reopen_to"][..])
    );
}

#[test]
fn nearest_keys() {
    let known = [
        "retries",
        "timeout_secs",
        "deadline_secs",
        "max_concurrency",
        "tracing",
    ];
    assert_eq!(
        keys::nearest("retires", known.iter().copied()),
        Some("retries")
    );
    assert_eq!(
        keys::nearest("timeout", known.iter().copied()),
        Some("timeout_secs")
    );
    assert_eq!(
        keys::nearest("concurrency", known.iter().copied()),
        Some("max_concurrency")
    );
    assert_eq!(keys::nearest("colour", known.iter().copied()), None);
    assert_eq!(keys::distance("ab", "ba"), 1);
    assert_eq!(keys::distance("", "abc"), 3);
}

#[test]
fn url_passwords_are_redacted() {
    assert_eq!(
        redact_url_password("postgres://app:hunter2@db:5432/t"),
        "postgres://app:***@db:5432/t"
    );
    assert_eq!(
        redact_url_password("mysql://app:pa/ss@w?rd@db/t"),
        "mysql://app:***@db/t"
    );
    assert_eq!(
        redact_url_password("sqlite://tickets.db"),
        "sqlite://tickets.db"
    );
}

#[test]
fn values_of_secret_keys_are_never_shown_in_errors() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Section {
        api_key_in: Option<Mode>,
        token_ttl: Option<u32>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Header,
        QueryOrBody,
    }
    for (var, value) in [
        ("TICKETS_API_KEY_IN", "hunter2-pasted-here"),
        ("TICKETS_TOKEN_TTL", "hunter2-pasted-here"),
    ] {
        let config = isolated(&[("TICKETS_PROVIDER", "x"), (var, value)])
            .load()
            .unwrap();
        let msg = config
            .backend("default")
            .unwrap()
            .read::<Section>()
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains(var), "still names where it came from: {msg}");
    }
}
