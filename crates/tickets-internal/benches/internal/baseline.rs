//! The baseline: plain sqlx with the SQL the provider runs, written out by hand, decoding into
//! plain structs. Also seeds the tables in bulk.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};
use tickets_internal::Dialect;

const COLUMNS: &str = "t.number, t.id, t.subject, t.description, t.status, t.priority, t.kind, \
     t.assignee, t.requester, t.watchers, t.tags, t.due, t.custom_fields, t.created_at, \
     t.updated_at, t.version";

const STATUSES: [&str; 8] = [
    "new",
    "triaged",
    "in_progress",
    "on_hold",
    "escalated",
    "resolved",
    "closed",
    "cancelled",
];

#[allow(dead_code)] // fields are decoded to cost what the provider's decoding costs
#[derive(Debug)]
pub struct PlainTicket {
    number: i64,
    id: String,
    subject: String,
    description: String,
    status: String,
    priority: String,
    kind: Option<String>,
    assignee: Option<String>,
    requester: Option<String>,
    watchers: Vec<String>,
    tags: Vec<String>,
    due: Option<NaiveDate>,
    custom_fields: BTreeMap<String, serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

pub enum Baseline {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("time")
}

fn stext(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn pg(sql: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! decode {
    ($row:expr, $time:expr, $date:expr) => {{
        let r = $row;
        PlainTicket {
            number: r.get(0),
            id: r.get(1),
            subject: r.get(2),
            description: r.get(3),
            status: r.get(4),
            priority: r.get(5),
            kind: r.get(6),
            assignee: r.get(7),
            requester: r.get(8),
            watchers: serde_json::from_str(r.get::<&str, _>(9)).unwrap(),
            tags: serde_json::from_str(r.get::<&str, _>(10)).unwrap(),
            due: $date(r, 11),
            custom_fields: serde_json::from_str(r.get::<&str, _>(12)).unwrap(),
            created_at: $time(r, 13),
            updated_at: $time(r, 14),
            version: r.get(15),
        }
    }};
}

fn s_time(r: &sqlx::sqlite::SqliteRow, i: usize) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(r.get::<&str, _>(i))
        .unwrap()
        .with_timezone(&Utc)
}
fn s_date(r: &sqlx::sqlite::SqliteRow, i: usize) -> Option<NaiveDate> {
    r.get::<Option<&str>, _>(i)
        .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}
fn p_time(r: &sqlx::postgres::PgRow, i: usize) -> DateTime<Utc> {
    r.get(i)
}
fn p_date(r: &sqlx::postgres::PgRow, i: usize) -> Option<NaiveDate> {
    r.get(i)
}

impl Baseline {
    pub async fn connect(dialect: Dialect, url: &str) -> Self {
        match dialect {
            Dialect::Sqlite => {
                let opts: SqliteConnectOptions = url.parse().unwrap();
                let opts = opts
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(std::time::Duration::from_secs(5));
                Baseline::Sqlite(SqlitePoolOptions::new().connect_with(opts).await.unwrap())
            }
            Dialect::Postgres => Baseline::Postgres(PgPool::connect(url).await.unwrap()),
            Dialect::MySql => panic!("the bench covers SQLite and PostgreSQL"),
        }
    }

    pub async fn close(&self) {
        match self {
            Baseline::Sqlite(p) => p.close().await,
            Baseline::Postgres(p) => p.close().await,
        }
    }

    /// Inserts `n` tickets in multi-row batches: statuses cycle over 8, assignees over 49
    /// users, one of 10 tags each.
    pub async fn seed(&self, n: usize, batch: usize) {
        let base = now() - chrono::Duration::days(30);
        let mut start = 0;
        while start < n {
            let end = (start + batch).min(n);
            let rows = end - start;
            let one = format!("({})", vec!["?"; 16].join(", "));
            let sql = format!(
                "INSERT INTO tickets (id, subject, description, status, priority, kind, assignee, \
                 requester, watchers, tags, due, custom_fields, idempotency_key, created_at, \
                 updated_at, version) VALUES {}",
                vec![one; rows].join(", ")
            );
            let tag_sql = format!(
                "INSERT INTO ticket_tags (ticket_id, tag) VALUES {}",
                vec!["(?, ?)"; rows].join(", ")
            );
            let mut tickets = Vec::with_capacity(rows);
            for i in start..end {
                let at = base + chrono::Duration::milliseconds(i as i64);
                tickets.push((
                    uuid::Uuid::now_v7().to_string(),
                    format!("Seed ticket {i}: printer {} on floor {}", i % 97, i % 13),
                    format!(
                        "The device number {i} reports error E{} since monday",
                        i % 1000
                    ),
                    STATUSES[i % 8],
                    format!("user{}@example.com", i % 49),
                    format!("req{}@example.com", i % 200),
                    format!("tag{}", i % 10),
                    at,
                ));
            }
            macro_rules! fill {
                ($q:expr, $time:expr) => {{
                    let mut q = $q;
                    for t in &tickets {
                        q = q
                            .bind(t.0.clone())
                            .bind(t.1.clone())
                            .bind(t.2.clone())
                            .bind(t.3)
                            .bind("medium")
                            .bind(None::<String>)
                            .bind(t.4.clone())
                            .bind(t.5.clone())
                            .bind("[]")
                            .bind(format!("[\"{}\"]", t.6))
                            .bind(None::<NaiveDate>)
                            .bind("{}")
                            .bind(None::<String>)
                            .bind($time(t.7))
                            .bind($time(t.7))
                            .bind(1i64);
                    }
                    q
                }};
            }
            macro_rules! tags {
                ($q:expr) => {{
                    let mut q = $q;
                    for t in &tickets {
                        q = q.bind(t.0.clone()).bind(t.6.clone());
                    }
                    q
                }};
            }
            match self {
                Baseline::Sqlite(p) => {
                    let mut tx = p.begin().await.unwrap();
                    fill!(sqlx::query(AssertSqlSafe(sql)), stext)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tags!(sqlx::query(AssertSqlSafe(tag_sql)))
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
                Baseline::Postgres(p) => {
                    let mut tx = p.begin().await.unwrap();
                    fill!(sqlx::query(AssertSqlSafe(pg(&sql))), |t| t)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tags!(sqlx::query(AssertSqlSafe(pg(&tag_sql))))
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
            }
            start = end;
        }
        if let Baseline::Postgres(p) = self {
            sqlx::query("ANALYZE").execute(p).await.unwrap();
        }
    }

    pub async fn sample_ids(&self, n: i64) -> Vec<String> {
        let sql = "SELECT id FROM tickets ORDER BY number DESC LIMIT ?";
        match self {
            Baseline::Sqlite(p) => sqlx::query_scalar(sql).bind(n).fetch_all(p).await,
            Baseline::Postgres(p) => {
                sqlx::query_scalar(AssertSqlSafe(pg(sql)))
                    .bind(n)
                    .fetch_all(p)
                    .await
            }
        }
        .unwrap()
    }

    /// What `create` runs: the ticket, its tags, its history entry, in one transaction.
    pub async fn create(&self, subject: &str) -> i64 {
        let id = uuid::Uuid::now_v7().to_string();
        let at = now();
        let insert = "INSERT INTO tickets (id, subject, description, status, priority, kind, \
             assignee, requester, watchers, tags, due, custom_fields, idempotency_key, \
             created_at, updated_at, version) VALUES \
             (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING number";
        let tags = "INSERT INTO ticket_tags (ticket_id, tag) VALUES (?, ?), (?, ?)";
        let history = "INSERT INTO history (ticket_id, action, field, old_value, new_value, \
             actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
        macro_rules! run {
            ($tx:expr, $q:expr, $time:expr) => {{
                let number: i64 = sqlx::query_scalar($q(insert))
                    .bind(&id)
                    .bind(subject)
                    .bind("created by the bench")
                    .bind("new")
                    .bind("medium")
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind("[]")
                    .bind("[\"bench\",\"new\"]")
                    .bind(None::<NaiveDate>)
                    .bind("{}")
                    .bind(None::<&str>)
                    .bind($time(at))
                    .bind($time(at))
                    .bind(1i64)
                    .fetch_one(&mut *$tx)
                    .await
                    .unwrap();
                sqlx::query($q(tags))
                    .bind(&id)
                    .bind("bench")
                    .bind(&id)
                    .bind("new")
                    .execute(&mut *$tx)
                    .await
                    .unwrap();
                sqlx::query($q(history))
                    .bind(&id)
                    .bind("CREATED")
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind($time(at))
                    .execute(&mut *$tx)
                    .await
                    .unwrap();
                number
            }};
        }
        match self {
            Baseline::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await.unwrap();
                let n = run!(tx, |s: &'static str| s, stext);
                tx.commit().await.unwrap();
                n
            }
            Baseline::Postgres(p) => {
                let mut tx = p.begin().await.unwrap();
                let n = run!(tx, |s: &str| AssertSqlSafe(pg(s)), |t| t);
                tx.commit().await.unwrap();
                n
            }
        }
    }

    pub async fn get(&self, id: &str) -> PlainTicket {
        let sql = format!("SELECT {COLUMNS} FROM tickets t WHERE t.id = ?");
        match self {
            Baseline::Sqlite(p) => {
                let row = sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_one(p)
                    .await
                    .unwrap();
                decode!(&row, s_time, s_date)
            }
            Baseline::Postgres(p) => {
                let row = sqlx::query(AssertSqlSafe(pg(&sql)))
                    .bind(id)
                    .fetch_one(p)
                    .await
                    .unwrap();
                decode!(&row, p_time, p_date)
            }
        }
    }

    /// What `update` runs for a priority change: lock and read, write with the version check,
    /// one history row.
    pub async fn update_priority(&self, id: &str, priority: &str) {
        let at = now();
        let select = format!("SELECT {COLUMNS} FROM tickets t WHERE t.id = ?");
        let update = "UPDATE tickets SET subject = ?, description = ?, status = ?, priority = ?, \
             kind = ?, assignee = ?, requester = ?, watchers = ?, tags = ?, due = ?, \
             custom_fields = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?";
        let history = "INSERT INTO history (ticket_id, action, field, old_value, new_value, \
             actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
        macro_rules! run {
            ($tx:expr, $select:expr, $q:expr, $time:expr, $due:expr, $decode_time:expr, $decode_date:expr) => {{
                let row = sqlx::query(AssertSqlSafe($select))
                    .bind(id)
                    .fetch_one(&mut *$tx)
                    .await
                    .unwrap();
                let t = decode!(&row, $decode_time, $decode_date);
                let done = sqlx::query($q(update))
                    .bind(&t.subject)
                    .bind(&t.description)
                    .bind(&t.status)
                    .bind(priority)
                    .bind(&t.kind)
                    .bind(&t.assignee)
                    .bind(&t.requester)
                    .bind(serde_json::to_string(&t.watchers).unwrap())
                    .bind(serde_json::to_string(&t.tags).unwrap())
                    .bind($due(t.due))
                    .bind(serde_json::to_string(&t.custom_fields).unwrap())
                    .bind($time(at))
                    .bind(t.version + 1)
                    .bind(id)
                    .bind(t.version)
                    .execute(&mut *$tx)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1);
                sqlx::query($q(history))
                    .bind(id)
                    .bind("UPDATED")
                    .bind("priority")
                    .bind(&t.priority)
                    .bind(priority)
                    .bind(None::<&str>)
                    .bind($time(at))
                    .execute(&mut *$tx)
                    .await
                    .unwrap();
            }};
        }
        match self {
            Baseline::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await.unwrap();
                run!(
                    tx,
                    select,
                    |s: &'static str| s,
                    stext,
                    |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()),
                    s_time,
                    s_date
                );
                tx.commit().await.unwrap();
            }
            Baseline::Postgres(p) => {
                let mut tx = p.begin().await.unwrap();
                let select = pg(&format!("{select} FOR UPDATE"));
                run!(
                    tx,
                    select,
                    |s: &str| AssertSqlSafe(pg(s)),
                    |t| t,
                    |d: Option<NaiveDate>| d,
                    p_time,
                    p_date
                );
                tx.commit().await.unwrap();
            }
        }
    }

    /// What `add_comment` runs: touch the ticket, insert the comment and a history row.
    pub async fn comment(&self, id: &str, body: &str, author: &str) {
        let at = now();
        let cid = uuid::Uuid::now_v7().to_string();
        let touch = "UPDATE tickets SET updated_at = ? WHERE id = ?";
        let insert = "INSERT INTO comments (id, ticket_id, author, body, public, \
             idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
        let history = "INSERT INTO history (ticket_id, action, field, old_value, new_value, \
             actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
        macro_rules! run {
            ($tx:expr, $q:expr, $time:expr) => {{
                sqlx::query($q(touch))
                    .bind($time(at))
                    .bind(id)
                    .execute(&mut *$tx)
                    .await
                    .unwrap();
                sqlx::query($q(insert))
                    .bind(&cid)
                    .bind(id)
                    .bind(author)
                    .bind(body)
                    .bind(true)
                    .bind(None::<&str>)
                    .bind($time(at))
                    .execute(&mut *$tx)
                    .await
                    .unwrap();
                sqlx::query($q(history))
                    .bind(id)
                    .bind("COMMENT_ADDED")
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind(author)
                    .bind($time(at))
                    .execute(&mut *$tx)
                    .await
                    .unwrap();
            }};
        }
        match self {
            Baseline::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await.unwrap();
                run!(tx, |s: &'static str| s, stext);
                tx.commit().await.unwrap();
            }
            Baseline::Postgres(p) => {
                let mut tx = p.begin().await.unwrap();
                run!(tx, |s: &str| AssertSqlSafe(pg(s)), |t| t);
                tx.commit().await.unwrap();
            }
        }
    }

    /// The filtered first page: status and assignee, keyset order; returns the row count.
    pub async fn filtered_page(&self, status: &str, assignee: &str, size: i64) -> usize {
        let sql = format!(
            "SELECT {COLUMNS} FROM tickets t WHERE 1 = 1 AND t.status IN (?) AND t.assignee = ? \
             ORDER BY t.number LIMIT ?"
        );
        match self {
            Baseline::Sqlite(p) => {
                let rows = sqlx::query(AssertSqlSafe(sql))
                    .bind(status)
                    .bind(assignee)
                    .bind(size + 1)
                    .fetch_all(p)
                    .await
                    .unwrap();
                let items: Vec<PlainTicket> =
                    rows.iter().map(|r| decode!(r, s_time, s_date)).collect();
                items.len().min(size as usize)
            }
            Baseline::Postgres(p) => {
                let rows = sqlx::query(AssertSqlSafe(pg(&sql)))
                    .bind(status)
                    .bind(assignee)
                    .bind(size + 1)
                    .fetch_all(p)
                    .await
                    .unwrap();
                let items: Vec<PlainTicket> =
                    rows.iter().map(|r| decode!(r, p_time, p_date)).collect();
                items.len().min(size as usize)
            }
        }
    }
}
