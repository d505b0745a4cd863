//! Parser and evaluator tests.

use super::*;
use serde_json::json;

fn org() -> Org {
    Org::new()
}

#[test]
fn parses_escapes_and_keywords_inside_strings() {
    let org = org();
    let q = parse(
        &org,
        r"select Id, Subject from case where Subject = 'it\'s \\ AND OR \' LIMIT' and (Status IN ('New','Working') or IsClosed = true) order by CreatedDate desc nulls last, Id limit 5",
    )
    .unwrap();
    assert_eq!(q.object, "Case");
    assert_eq!(q.fields, ["Id", "Subject"]);
    assert_eq!(q.limit, Some(5));
    assert_eq!(
        q.order[0],
        OrderBy {
            field: "CreatedDate".into(),
            asc: false,
            nulls_first: false
        }
    );
    let Some(Cond::And(parts)) = &q.filter else {
        panic!("{:?}", q.filter)
    };
    assert_eq!(
        parts[0],
        Cond::Cmp(
            "Subject".into(),
            "=",
            Lit::Str(r"it's \ AND OR ' LIMIT".into())
        )
    );
}

#[test]
fn rejects_bad_queries() {
    let org = org();
    for (q, code) in [
        ("SELECT Id FROM Case WHERE Subject = 'x", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Case", "INVALID_FIELD"),
        (
            "SELECT Id FROM Case WHERE Description = 'x'",
            "INVALID_FIELD",
        ),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        (
            "SELECT Id FROM Case WHERE Subject = 'a\\qb'",
            "MALFORMED_QUERY",
        ),
        (
            "SELECT Id FROM Case WHERE LastModifiedDate > '2024-01-01'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        ("SELECT Id FROM Case LIMIT 5 extra", "MALFORMED_QUERY"),
    ] {
        let err = parse(&org, q).unwrap_err();
        assert_eq!(err.errors[0].0, code, "{q}");
    }
}

#[test]
fn like_handles_wildcards_and_escapes() {
    let t: Vec<char> = "a;50%_off;b".chars().collect();
    let lit = |s: &str| -> Vec<(char, bool)> {
        let org = org();
        let q = parse(
            &org,
            &format!("SELECT Id FROM Case WHERE Subject LIKE '{s}'"),
        )
        .unwrap();
        match q.filter {
            Some(Cond::Like(_, p, _)) => p,
            other => panic!("{other:?}"),
        }
    };
    assert!(like(&t, &lit(r"%;50\%\_off;%")));
    assert!(!like(&t, &lit(r"%;50\%\_offx;%")));
    assert!(like(&t, &lit("A;%")));
    assert!(like(&t, &lit("a;50%_OFF;_")));
    assert!(!like(
        &"a;50%xoff;b".chars().collect::<Vec<_>>(),
        &lit(r"%50\%\_off%")
    ));
}

#[test]
fn evaluates_filters() {
    let org = org();
    let rec = json!({"Id": "500Dn0000000001AAA", "Subject": "Printer on FIRE", "Status": "New",
        "IsClosed": false, "LastModifiedDate": "2024-01-15T10:20:30.000+0000", "SuppliedEmail": null});
    let rec = rec.as_object().unwrap();
    let check = |w: &str| {
        let q = parse(&org, &format!("SELECT Id FROM Case WHERE {w}")).unwrap();
        matches(&org, "Case", rec, q.filter.as_ref().unwrap())
    };
    assert!(check("Subject = 'printer on fire'"));
    assert!(check("Subject LIKE '%fire%' AND IsClosed = false"));
    assert!(check("LastModifiedDate >= 2024-01-15T10:20:30.000Z"));
    assert!(!check("LastModifiedDate > 2024-01-15T10:20:30Z"));
    assert!(check("SuppliedEmail = null AND NOT Status = 'Closed'"));
    assert!(check("Status NOT IN ('Closed') OR Subject = 'x'"));
    assert!(!check("SuppliedEmail = 'x@y'"));
}
