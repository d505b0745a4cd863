//! Tests of `config.rs`: checked settings, and problems named by key.

use super::*;

fn base() -> SalesforceConfig {
    SalesforceConfig {
        login_url: Some("https://login.salesforce.com".into()),
        client_id: Some("id".into()),
        client_secret: Some(SecretString::from("s3cr3t-value")),
        ..SalesforceConfig::default()
    }
}

#[test]
fn defaults() {
    let s = base().settings(None).unwrap();
    assert_eq!(s.api_version, "v62.0");
    assert_eq!(
        s.token_url.as_str(),
        "https://login.salesforce.com/services/oauth2/token"
    );
    assert_eq!(s.origin.as_deref(), Some("Web"));
    assert!(!s.auto_assign);
}

#[test]
fn problems_name_the_key() {
    let mut c = base();
    c.client_secret = None;
    let e = c.settings(None).unwrap_err().to_string();
    assert!(
        e.contains("client_secret") && e.contains("client_credentials"),
        "{e}"
    );
    let mut c = base();
    c.api_version = Some("latest".into());
    assert!(
        c.settings(None)
            .unwrap_err()
            .to_string()
            .contains("api_version")
    );
    let mut c = base();
    c.external_id_field = Some("Key__c; DROP".into());
    assert!(
        c.settings(None)
            .unwrap_err()
            .to_string()
            .contains("external_id_field")
    );
    let mut c = base();
    c.flow = Flow::JwtBearer;
    c.username = Some("u".into());
    c.private_key = Some("/nonexistent/key.pem".into());
    assert!(
        c.settings(None)
            .unwrap_err()
            .to_string()
            .contains("private_key")
    );
    let mut c = base();
    c.login_url = None;
    assert!(
        c.settings(None)
            .unwrap_err()
            .to_string()
            .contains("login_url")
    );
    let mut c = base();
    c.api_version = Some("61.0".into());
    assert_eq!(c.settings(None).unwrap().api_version, "v61.0");
}

#[test]
fn instance_url_is_the_token_host_when_login_url_is_unset() {
    let mut c = base();
    c.login_url = None;
    c.instance_url = Some("https://acme.my.salesforce.com/".into());
    let s = c.settings(None).unwrap();
    assert_eq!(
        s.token_url.as_str(),
        "https://acme.my.salesforce.com/services/oauth2/token"
    );
    c.instance_url = Some("ftp://acme".into());
    assert!(
        c.settings(None)
            .unwrap_err()
            .to_string()
            .contains("instance_url")
    );
}

#[test]
fn debug_hides_secrets() {
    let c = base();
    let shown = format!("{c:?} {:?}", c.settings(None).unwrap());
    assert!(!shown.contains("s3cr3t-value"), "{shown}");
}

#[test]
fn keys_are_the_fields_of_the_struct() {
    let mut fields = tickets_core::config::struct_keys::<SalesforceConfig>()
        .expect("a plain struct")
        .to_vec();
    let mut keys = SalesforceConfig::KEYS.to_vec();
    fields.sort_unstable();
    keys.sort_unstable();
    assert_eq!(
        keys, fields,
        "KEYS must list exactly the fields serde reads"
    );
}

#[test]
fn timeouts_that_cannot_work_name_the_key() {
    for secs in [1e20, -1.0, 0.0, f64::NAN, f64::INFINITY, 86_401.0] {
        let e = base()
            .timeout_secs(secs)
            .settings(None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeout_secs"), "{secs}: {e}");
    }
    let s = base().timeout_secs(2.5).settings(None).unwrap();
    assert_eq!(s.timeout, Duration::from_millis(2500));
}

#[test]
fn pacing_and_cache_keys() {
    let s = base().settings(None).unwrap();
    assert_eq!(s.requests_per_minute, DEFAULT_REQUESTS_PER_MINUTE);
    assert_eq!(s.metadata_ttl, Duration::from_secs(3600));
    let s = base().cache_dir("/tmp/x").settings(None).unwrap();
    assert_eq!(s.metadata_cache_dir, Some(PathBuf::from("/tmp/x")));
    let s = base()
        .cache_dir("/tmp/x")
        .metadata_cache(false)
        .settings(None)
        .unwrap();
    assert_eq!(s.metadata_cache_dir, None);
    for (c, key) in [
        (base().requests_per_minute(0), "requests_per_minute"),
        (base().requests_per_minute(2_000_000), "requests_per_minute"),
        (base().metadata_ttl_secs(u64::MAX), "metadata_ttl_secs"),
    ] {
        let e = c.settings(None).unwrap_err().to_string();
        assert!(e.contains(key), "{e}");
    }
}
