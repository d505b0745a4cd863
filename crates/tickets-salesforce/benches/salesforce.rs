//! `cargo xtask bench salesforce`: the provider against the fake Salesforce, next to raw
//! reqwest doing the same HTTP calls in the same run, so the table shows what the provider
//! adds on top of the wire (conversion, owner lookups, session handling).
//!
//! `SF_BENCH_ITERS` (default 300) sets the operations per row; `SF_BENCH_CONCURRENCY`
//! (default 8) the tasks running them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use tickets_core::{NewComment, NewTicket, TicketPatch, TicketProvider, TicketQuery};
use tickets_fakes::salesforce::FakeSalesforce;
use tickets_salesforce::{SalesforceConfig, SalesforceProvider};

const FIELDS: &str = "Id,CaseNumber,Subject,Description,Status,Priority,Type,OwnerId,SuppliedEmail,IsClosed,IsEscalated,CreatedDate,LastModifiedDate";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(sf: &FakeSalesforce) -> Self {
        let http = reqwest::Client::new();
        let t: Value = http
            .post(format!("{}/services/oauth2/token", sf.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", sf.client_id()),
                ("client_secret", sf.client_secret()),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token json");
        Self {
            http,
            base: format!("{}/services/data/v62.0", sf.url()),
            token: t["access_token"].as_str().expect("access_token").to_owned(),
        }
    }

    async fn send(&self, m: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(m, format!("{}/{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let text = r
            .send()
            .await
            .expect("send")
            .error_for_status()
            .expect("status")
            .text()
            .await
            .expect("body");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn read(&self, id: &str) -> Value {
        self.send(
            reqwest::Method::GET,
            &format!("sobjects/Case/{id}?fields={FIELDS}"),
            None,
        )
        .await
    }
}

struct Row {
    name: &'static str,
    provider: Duration,
    raw: Duration,
    n: usize,
}

/// Runs `op(i)` `n` times over `conc` tasks; returns the wall time.
async fn timed<F, Fut>(n: usize, conc: usize, op: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let per = n.div_ceil(conc);
    join_all((0..conc).map(|t| {
        let op = op.clone();
        tokio::spawn(async move {
            for i in t * per..((t + 1) * per).min(n) {
                op(i).await;
            }
        })
    }))
    .await
    .into_iter()
    .for_each(|r| r.expect("bench task"));
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let n = env_usize("SF_BENCH_ITERS", 300);
    let conc = env_usize("SF_BENCH_CONCURRENCY", 8).max(1);
    let sf = FakeSalesforce::start().await.expect("fake starts");
    // Room for big runs under the fake's daily API allocation.
    sf.set_api_usage(0, 100_000_000);
    let config = SalesforceConfig::client_credentials(sf.url(), sf.client_id(), sf.client_secret())
        .requests_per_minute(1_000_000)
        .metadata_cache(false);
    let p = Arc::new(
        SalesforceProvider::new(config.settings(None).expect("config")).expect("provider"),
    );
    let raw = Arc::new(Raw::new(&sf).await);
    // Warm up: log in, fill the owner cache.
    let seed = p.create(NewTicket::new("warm-up")).await.expect("warm-up");
    let mut rows = Vec::new();

    // create = POST + re-read on both sides.
    let pc = p.clone();
    let provider = timed(n, conc, move |i| {
        let p = pc.clone();
        async move {
            p.create(NewTicket::new(format!("bench {i}")).description("d"))
                .await
                .expect("create");
        }
    })
    .await;
    let rc = raw.clone();
    let rawt = timed(n, conc, move |i| {
        let r = rc.clone();
        async move {
            let body = json!({"Subject": format!("raw {i}"), "Description": "d", "Status": "New",
                "IsEscalated": false, "Priority": "Medium", "Origin": "Web"});
            let a = r
                .send(reqwest::Method::POST, "sobjects/Case", Some(body))
                .await;
            r.read(a["id"].as_str().expect("id")).await;
        }
    })
    .await;
    rows.push(Row {
        name: "create (+re-read)",
        provider,
        raw: rawt,
        n,
    });

    let id = seed.id.clone();
    let (pc, idc) = (p.clone(), id.clone());
    let provider = timed(n, conc, move |_| {
        let (p, id) = (pc.clone(), idc.clone());
        async move {
            p.get(&id).await.expect("get");
        }
    })
    .await;
    let (rc, ids) = (raw.clone(), id.to_string());
    let rawt = timed(n, conc, move |_| {
        let (r, id) = (rc.clone(), ids.clone());
        async move {
            r.read(&id).await;
        }
    })
    .await;
    rows.push(Row {
        name: "get",
        provider,
        raw: rawt,
        n,
    });

    let (pc, idc) = (p.clone(), id.clone());
    let provider = timed(n, conc, move |i| {
        let (p, id) = (pc.clone(), idc.clone());
        async move {
            p.update(&id, TicketPatch::new().subject(format!("renamed {i}")))
                .await
                .expect("update");
        }
    })
    .await;
    let (rc, ids) = (raw.clone(), id.to_string());
    let rawt = timed(n, conc, move |i| {
        let (r, id) = (rc.clone(), ids.clone());
        async move {
            let body = json!({"Subject": format!("raw renamed {i}")});
            r.send(
                reqwest::Method::PATCH,
                &format!("sobjects/Case/{id}"),
                Some(body),
            )
            .await;
            r.read(&id).await;
        }
    })
    .await;
    rows.push(Row {
        name: "update (+re-read)",
        provider,
        raw: rawt,
        n,
    });

    let (pc, idc) = (p.clone(), id.clone());
    let provider = timed(n, conc, move |i| {
        let (p, id) = (pc.clone(), idc.clone());
        async move {
            p.add_comment(&id, NewComment::new(format!("c {i}")).author("Bench"))
                .await
                .expect("comment");
        }
    })
    .await;
    let (rc, ids) = (raw.clone(), id.to_string());
    let rawt = timed(n, conc, move |i| {
        let (r, id) = (rc.clone(), ids.clone());
        async move {
            let body = json!({"ParentId": id, "CommentBody": format!("[from: Bench]\nc {i}"), "IsPublished": true});
            r.send(reqwest::Method::POST, "sobjects/CaseComment", Some(body)).await;
        }
    })
    .await;
    rows.push(Row {
        name: "add_comment",
        provider,
        raw: rawt,
        n,
    });

    let list_n = (n / 10).max(10);
    let pc = p.clone();
    let provider = timed(list_n, conc, move |_| {
        let p = pc.clone();
        async move {
            let page = p
                .list(&TicketQuery::new().page_size(50))
                .await
                .expect("list");
            assert_eq!(page.items.len(), 50);
        }
    })
    .await;
    let rc = raw.clone();
    let rawt = timed(list_n, conc, move |_| {
        let r = rc.clone();
        async move {
            let q = format!(
                "SELECT {} FROM Case ORDER BY Id LIMIT 51",
                FIELDS.replace(',', ", ")
            );
            let url = format!(
                "query?q={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            );
            let a = r.send(reqwest::Method::GET, &url, None).await;
            assert_eq!(a["records"].as_array().map(Vec::len), Some(51));
        }
    })
    .await;
    rows.push(Row {
        name: "list page of 50",
        provider,
        raw: rawt,
        n: list_n,
    });

    println!();
    println!("salesforce provider vs raw reqwest, fake Salesforce on 127.0.0.1 ({conc} tasks)");
    println!(
        "{:<20} {:>7} {:>14} {:>14} {:>16}",
        "operation", "ops", "provider op/s", "raw op/s", "provider / raw"
    );
    println!("{}", "-".repeat(75));
    for r in &rows {
        let ps = r.n as f64 / r.provider.as_secs_f64();
        let rs = r.n as f64 / r.raw.as_secs_f64();
        println!(
            "{:<20} {:>7} {:>14.0} {:>14.0} {:>15.2}x",
            r.name,
            r.n,
            ps,
            rs,
            ps / rs
        );
    }
    let usage = p
        .api_usage()
        .map(|u| format!("{}/{}", u.used, u.max))
        .unwrap_or_default();
    println!(
        "\nSforce-Limit-Info api-usage at the end: {usage}; sessions: {}",
        p.client().logins()
    );
}
