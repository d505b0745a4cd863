//! Org, id and save-rule tests.

use super::*;

#[test]
fn ids_have_prefix_checksum_and_order() {
    let mut org = Org::new();
    let a = org.new_id("Case");
    let b = org.new_id("Case");
    assert_eq!(a.len(), 18);
    assert!(a.starts_with("500"));
    assert!(a < b);
    assert_eq!(normalize_id(&a[..15]).as_deref(), Some(a.as_str()));
    assert_eq!(normalize_id(&a).as_deref(), Some(a.as_str()));
    assert_eq!(normalize_id("nope"), None);
    assert_eq!(normalize_id("500Dn0000000001ZZZ"), None);
}

#[test]
fn known_checksum() {
    // A documented example: 001A0000006Vm9r -> 001A0000006Vm9rIAC.
    assert_eq!(id_suffix("001A0000006Vm9r"), "IAC");
}

#[test]
fn save_validates_picklists_and_derives_closed() {
    let mut org = Org::new();
    let user = org.new_id("User");
    let mut rec = Map::new();
    let body = json!({"Subject": "s", "Status": "Closed"});
    org.save("Case", &mut rec, body.as_object().unwrap(), true, &user)
        .unwrap();
    assert_eq!(rec["IsClosed"], true);
    assert_eq!(rec["CaseNumber"], "00001000");
    assert!(rec["ClosedDate"].is_string());
    let bad = json!({"Status": "Nope"});
    let err = org
        .save("Case", &mut rec, bad.as_object().unwrap(), false, &user)
        .unwrap_err();
    assert_eq!(err.errors[0].0, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let err = org
        .save(
            "Case",
            &mut rec,
            json!({"Foo__c": 1}).as_object().unwrap(),
            false,
            &user,
        )
        .unwrap_err();
    assert_eq!(err.errors[0].0, "INVALID_FIELD");
    let err = org
        .save(
            "Case",
            &mut rec,
            json!({"OwnerId": "xyz"}).as_object().unwrap(),
            false,
            &user,
        )
        .unwrap_err();
    assert_eq!(err.errors[0].0, "MALFORMED_ID");
}
