//! The workflow as a real 5.0.6 answers it (select values, `is_confirmed`, comment-required
//! moves) and the knob that stops a multi-request change half-way.

use serde_json::json;

use super::tests::{T, code};

#[tokio::test]
async fn select_values_match_case_insensitively_and_unknown_ones_are_51() {
    // As a real 5.0.6 answers: `in_progress`, `fixed`, `high` are taken and stored in the
    // legal spelling; an unknown value is 404 code 51 "There is no <field> named 'x'.".
    let t = T::new(false).await;
    let id = t.create("case").await;
    let (s, b) = t
        .put(
            &format!("/bug/{id}"),
            json!({"status": "in_progress", "priority": "high"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = t
        .put(
            &format!("/bug/{id}"),
            json!({"status": "resolved", "resolution": "fixed"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let bug = t.fake.bug(id).unwrap();
    assert_eq!(
        (&bug["status"], &bug["resolution"], &bug["priority"]),
        (&json!("RESOLVED"), &json!("FIXED"), &json!("High"))
    );
    for (body, message) in [
        (
            json!({"resolution": "MOVED"}),
            "There is no Resolution named 'MOVED'.",
        ),
        (
            json!({"priority": "Bogus"}),
            "There is no Priority named 'Bogus'.",
        ),
        (json!({"op_sys": "bogus"}), "There is no OS named 'bogus'."),
        (
            json!({"platform": "bogus"}),
            "There is no Hardware named 'bogus'.",
        ),
        (
            json!({"status": "REOPENED"}),
            "There is no status named 'REOPENED'.",
        ),
    ] {
        let (s, b) = t.put(&format!("/bug/{id}"), body).await;
        assert_eq!((s, code(&b)), (404, 51), "{b}");
        assert_eq!(b["message"], message);
    }
}

#[tokio::test]
async fn fail_writes_after_stops_a_change_half_way() {
    let t = T::new(false).await;
    let id = t.create("half").await;
    // One write goes through, the next one fails before it is applied, then all is normal.
    t.fake.faults().fail_writes_after(1, 1, 503);
    let (s, _) = t.get(&format!("/bug/{id}")).await;
    assert_eq!(s, 200, "reads are not counted");
    let (s, b) = t
        .put(
            &format!("/bug/{id}"),
            json!({"status": "RESOLVED", "resolution": "FIXED"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let resp = t
        .http
        .put(t.url(&format!("/bug/{id}")))
        .json(&json!({"api_key": t.fake.api_key(), "status": "VERIFIED", "resolution": "FIXED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(t.fake.bug(id).unwrap()["status"], "RESOLVED");
    let (s, b) = t
        .put(&format!("/bug/{id}"), json!({"status": "VERIFIED"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(t.fake.bug(id).unwrap()["status"], "VERIFIED");
    assert_eq!(t.fake.faults().stats().injected, 1);
}

#[tokio::test]
async fn is_confirmed_follows_everconfirmed_as_on_a_real_5_0_6() {
    // Seen on a real 5.0.6: a move to UNCONFIRMED clears it (and says so in `changes`), a
    // move to a closed status keeps it, a move to another open status sets it.
    let t = T::new(false).await;
    let id = t.create("confirmed?").await;
    let path = format!("/bug/{id}");
    let confirmed = |t: &T| t.fake.bug(id).unwrap()["is_confirmed"].clone();
    assert_eq!(confirmed(&t), true);
    t.put(&path, json!({"status": "RESOLVED", "resolution": "FIXED"}))
        .await;
    let (_, b) = t.put(&path, json!({"status": "UNCONFIRMED"})).await;
    assert_eq!(
        b["bugs"][0]["changes"]["is_confirmed"],
        json!({"removed": "1", "added": "0"})
    );
    let (_, b) = t
        .put(&path, json!({"status": "RESOLVED", "resolution": "FIXED"}))
        .await;
    assert!(b["bugs"][0]["changes"].get("is_confirmed").is_none(), "{b}");
    assert_eq!(confirmed(&t), false, "closing keeps it");
    let (_, b) = t
        .put(&path, json!({"status": "CONFIRMED", "resolution": ""}))
        .await;
    assert_eq!(
        b["bugs"][0]["changes"]["is_confirmed"],
        json!({"removed": "0", "added": "1"})
    );
    assert_eq!(confirmed(&t), true);
}

#[tokio::test]
async fn a_move_that_requires_a_comment_is_refused_without_one() {
    // As a real 5.0.6 with `require_comment` set on RESOLVED -> CONFIRMED answers.
    let t = T::new(false).await;
    t.fake.require_comment("RESOLVED", "CONFIRMED");
    let (_, f) = t.get("/field/bug/bug_status").await;
    let resolved = f["fields"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "RESOLVED")
        .unwrap()
        .clone();
    assert_eq!(
        resolved["can_change_to"],
        json!([{"name": "UNCONFIRMED", "comment_required": false},
               {"name": "CONFIRMED", "comment_required": true},
               {"name": "VERIFIED", "comment_required": false}])
    );
    let id = t.create("talk first").await;
    let path = format!("/bug/{id}");
    t.put(&path, json!({"status": "RESOLVED", "resolution": "FIXED"}))
        .await;
    let (s, b) = t
        .put(&path, json!({"status": "CONFIRMED", "resolution": ""}))
        .await;
    assert_eq!((s, code(&b)), (400, 32000));
    assert_eq!(
        b["message"],
        "You have to specify a comment when changing the Status of a bug from RESOLVED to CONFIRMED."
    );
    let (s, b) = t
        .put(
            &path,
            json!({"status": "CONFIRMED", "resolution": "", "comment": {"body": "why"}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(t.fake.bug(id).unwrap()["status"], "CONFIRMED");
}
