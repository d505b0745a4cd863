//! The SOQL subset the fake understands:
//!
//! ```text
//! SELECT f1, f2 FROM Case|CaseComment|User|Group|CaseStatus
//!   [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
//! cond := term (OR term)* ; term := factor (AND factor)* ;
//! factor := NOT factor | '(' cond ')' | field op literal | field [NOT] IN (literal, ...)
//!         | field [NOT] LIKE 'pattern'
//! ```
//! A SELECT list may hold parent-to-child subqueries of Case
//! (`(SELECT Id, CommentBody FROM CaseComments ORDER BY CreatedDate)`), answered as
//! `"CaseComments": {"totalSize": n, "done": true, "records": [...]}`, or `null` when the
//! Case has none (as Salesforce does; the fake never pages a child set).
//! String literals take SOQL's escapes (`\' \" \\ \n \r \t \b \f \uXXXX`, and `\% \_` for a
//! literal `%`/`_` in LIKE patterns). Text comparisons are case-insensitive, like Salesforce's.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::SfError;
use lex::{Tok, lex};

mod children;
mod lex;
use super::state::{Org, Ty, normalize_id, parse_datetime};
pub use children::children;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Pattern(Vec<(char, bool)>),
    Num(f64),
    Bool(bool),
    Null,
    DateTime(DateTime<Utc>),
    Date(NaiveDate),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(String, &'static str, Lit),
    In(String, Vec<Lit>, bool),
    Like(String, Vec<(char, bool)>, bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub field: String,
    pub asc: bool,
    pub nulls_first: bool,
}

/// A parsed and schema-checked query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub object: &'static str,
    pub fields: Vec<String>,
    pub filter: Option<Cond>,
    pub order: Vec<OrderBy>,
    pub limit: Option<usize>,
    pub offset: usize,
    /// Parent-to-child subqueries of the SELECT list.
    pub children: Vec<Child>,
}

/// A parent-to-child subquery: its records come back under `relationship`.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    /// The relationship name (`CaseComments`).
    pub relationship: &'static str,
    /// The child object's field naming the parent (`ParentId`).
    pub parent_field: &'static str,
    /// The subquery, on the child object.
    pub query: Query,
}

/// Child relationships of the fake's schema: (parent, relationship, child, parent field).
const RELATIONSHIPS: [(&str, &str, &str, &str); 2] = [
    ("Case", "CaseComments", "CaseComment", "ParentId"),
    (
        "Case",
        "ContentDocumentLinks",
        "ContentDocumentLink",
        "LinkedEntityId",
    ),
];

fn malformed(msg: impl Into<String>) -> SfError {
    SfError::bad("MALFORMED_QUERY", msg, &[])
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    org: &'a Org,
    object: &'static str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), SfError> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(malformed(format!(
                "expecting '{kw}', found '{}'",
                self.describe()
            )))
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "EOF".into(),
            Some(Tok::Word(w)) | Some(Tok::Num(w)) => w.clone(),
            Some(Tok::Str(s)) => s.iter().map(|(c, _)| *c).collect(),
            Some(t) => format!("{t:?}"),
        }
    }

    fn field(&mut self, filtering: bool) -> Result<String, SfError> {
        let Some(Tok::Word(name)) = self.next() else {
            return Err(malformed(format!(
                "expecting a field name, found '{}'",
                self.describe()
            )));
        };
        resolve_field(self.org, self.object, &name, filtering)
    }

    fn literal(&mut self) -> Result<Lit, SfError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Pattern(s)),
            Some(Tok::Num(n)) => {
                if let Some(at) = parse_datetime(&n) {
                    Ok(Lit::DateTime(at))
                } else if let Ok(d) = NaiveDate::parse_from_str(&n, "%Y-%m-%d") {
                    Ok(Lit::Date(d))
                } else {
                    n.parse()
                        .map(Lit::Num)
                        .map_err(|_| malformed(format!("invalid literal: {n}")))
                }
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Lit::Bool(true)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Lit::Bool(false)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(Lit::Null),
            other => Err(malformed(format!("unexpected token in filter: {other:?}"))),
        }
    }

    fn cond(&mut self) -> Result<Cond, SfError> {
        let mut terms = vec![self.term()?];
        while self.keyword("OR") {
            terms.push(self.term()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::Or(terms)
        })
    }

    fn term(&mut self) -> Result<Cond, SfError> {
        let mut factors = vec![self.factor()?];
        while self.keyword("AND") {
            factors.push(self.factor()?);
        }
        Ok(if factors.len() == 1 {
            factors.remove(0)
        } else {
            Cond::And(factors)
        })
    }

    fn factor(&mut self) -> Result<Cond, SfError> {
        if self.keyword("NOT") {
            return Ok(Cond::Not(Box::new(self.factor()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.cond()?;
            if self.next() != Some(Tok::RParen) {
                return Err(malformed("expecting ')'"));
            }
            return Ok(c);
        }
        let field = self.field(true)?;
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            if self.next() != Some(Tok::LParen) {
                return Err(malformed("expecting '(' after IN"));
            }
            let mut values = vec![self.typed(&field)?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                values.push(self.typed(&field)?);
            }
            if self.next() != Some(Tok::RParen) {
                return Err(malformed("expecting ')' after IN list"));
            }
            return Ok(Cond::In(field, values, negated));
        }
        if self.keyword("LIKE") {
            let Some(Tok::Str(p)) = self.next() else {
                return Err(malformed("LIKE needs a string pattern"));
            };
            return Ok(Cond::Like(field, p, negated));
        }
        if negated {
            return Err(malformed("expecting IN or LIKE after NOT"));
        }
        let Some(Tok::Op(op)) = self.next() else {
            return Err(malformed(format!("expecting an operator after {field}")));
        };
        let value = self.typed(&field)?;
        Ok(Cond::Cmp(field, op, value))
    }

    /// A literal checked against the field's type.
    fn typed(&mut self, field: &str) -> Result<Lit, SfError> {
        let lit = self.literal()?;
        let ty = self
            .org
            .field(self.object, field)
            .map(|f| f.ty)
            .unwrap_or(Ty::Text(255));
        let wrong = |kind: &str, quoted: bool| {
            SfError::bad(
                "INVALID_QUERY_FILTER_OPERATOR",
                format!(
                    "value of filter criterion for field '{field}' must be of type {kind} and should {}be enclosed in quotes",
                    if quoted { "" } else { "not " }
                ),
                &[],
            )
        };
        Ok(match (ty, lit) {
            (_, Lit::Null) => Lit::Null,
            (Ty::Bool, Lit::Bool(b)) => Lit::Bool(b),
            (Ty::Bool, _) => return Err(wrong("boolean", false)),
            (Ty::DateTime, Lit::DateTime(d)) => Lit::DateTime(d),
            (Ty::DateTime, _) => return Err(wrong("dateTime", false)),
            (Ty::Date, Lit::Date(d)) => Lit::Date(d),
            (Ty::Date, _) => return Err(wrong("date", false)),
            (Ty::Int, Lit::Num(n)) => Lit::Num(n),
            (Ty::Int, _) => return Err(wrong("double", false)),
            (Ty::Id | Ty::Reference, Lit::Pattern(p)) => {
                let s: String = p.into_iter().map(|(c, _)| c).collect();
                let id = normalize_id(&s).ok_or_else(|| {
                    SfError::bad(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        format!("invalid ID field: {s}"),
                        &[],
                    )
                })?;
                Lit::Str(id)
            }
            (_, Lit::Pattern(p)) => Lit::Str(p.into_iter().map(|(c, _)| c).collect()),
            _ => return Err(wrong("string", true)),
        })
    }
}

fn resolve_field(org: &Org, object: &str, name: &str, filtering: bool) -> Result<String, SfError> {
    let def = org.field(object, name).ok_or_else(|| {
        SfError::bad(
            "INVALID_FIELD",
            format!(
                "No such column '{name}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
            ),
            &[],
        )
    })?;
    if filtering && !def.filterable() {
        return Err(SfError::bad(
            "INVALID_FIELD",
            format!("field '{}' can not be filtered in a query call", def.name),
            &[],
        ));
    }
    Ok(def.name.clone())
}

/// Parses `soql` against the org's schema.
pub fn parse(org: &Org, soql: &str) -> Result<Query, SfError> {
    Ok(parse_tokens(org, lex(soql)?, None)?.0)
}

/// Parses one (sub)query; in a subquery (`parent` set) FROM names a child relationship, and
/// the answer carries the relationship's name and parent field.
fn parse_tokens(
    org: &Org,
    toks: Vec<Tok>,
    parent: Option<&'static str>,
) -> Result<(Query, &'static str, &'static str), SfError> {
    // Find the object first so fields can be resolved: the FROM outside any parentheses.
    let mut depth = 0i32;
    let from = toks
        .iter()
        .position(|t| {
            match t {
                Tok::LParen => depth += 1,
                Tok::RParen => depth -= 1,
                _ => {}
            }
            depth == 0 && matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("FROM"))
        })
        .ok_or_else(|| malformed("unexpected token: missing FROM"))?;
    let Some(Tok::Word(obj)) = toks.get(from + 1) else {
        return Err(malformed("expecting an object after FROM"));
    };
    let (object, relationship, parent_field) = match parent {
        None => {
            let object = org.object(obj).ok_or_else(|| {
                SfError::bad(
                    "INVALID_TYPE",
                    format!("sObject type '{obj}' is not supported."),
                    &[],
                )
            })?;
            (object, "", "")
        }
        Some(parent) => RELATIONSHIPS
            .iter()
            .find(|(p, r, _, _)| *p == parent && r.eq_ignore_ascii_case(obj))
            .and_then(|(_, r, child, field)| Some((org.object(child)?, *r, *field)))
            .ok_or_else(|| {
                SfError::bad(
                    "INVALID_TYPE",
                    format!(
                        "Didn't understand relationship '{obj}' in FROM part of query call. If \
                         you are attempting to use a custom relationship, be sure to append the \
                         '__r' after the custom relationship name."
                    ),
                    &[],
                )
            })?,
    };
    let mut p = Parser {
        toks,
        pos: 0,
        org,
        object,
    };
    p.expect_keyword("SELECT")?;
    let mut fields = Vec::new();
    let mut children = Vec::new();
    loop {
        let sub = p.peek() == Some(&Tok::LParen)
            && matches!(p.toks.get(p.pos + 1), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SELECT"));
        if sub && parent.is_none() {
            let mut depth = 0i32;
            let end = (p.pos..p.toks.len())
                .find(|&i| {
                    match p.toks[i] {
                        Tok::LParen => depth += 1,
                        Tok::RParen => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .ok_or_else(|| malformed("unexpected token: missing ')'"))?;
            let inner = p.toks[p.pos + 1..end].to_vec();
            let (query, relationship, parent_field) = parse_tokens(org, inner, Some(object))?;
            children.push(Child {
                relationship,
                parent_field,
                query,
            });
            p.pos = end + 1;
        } else {
            fields.push(p.field(false)?);
        }
        if p.peek() == Some(&Tok::Comma) {
            p.pos += 1;
        } else {
            break;
        }
    }
    p.expect_keyword("FROM")?;
    p.pos += 1;
    let filter = if p.keyword("WHERE") {
        Some(p.cond()?)
    } else {
        None
    };
    let mut order = Vec::new();
    if p.keyword("ORDER") {
        p.expect_keyword("BY")?;
        loop {
            let field = p.field(false)?;
            let asc = !p.keyword("DESC");
            if asc {
                p.keyword("ASC");
            }
            let mut nulls_first = asc;
            if p.keyword("NULLS") {
                nulls_first = p.keyword("FIRST");
                if !nulls_first {
                    p.expect_keyword("LAST")?;
                }
            }
            order.push(OrderBy {
                field,
                asc,
                nulls_first,
            });
            if p.peek() == Some(&Tok::Comma) {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    let number = |p: &mut Parser<'_>, kw: &str| -> Result<Option<usize>, SfError> {
        if !p.keyword(kw) {
            return Ok(None);
        }
        match p.next() {
            Some(Tok::Num(n)) => n
                .parse()
                .map(Some)
                .map_err(|_| malformed(format!("invalid {kw}: {n}"))),
            _ => Err(malformed(format!("expecting a number after {kw}"))),
        }
    };
    let limit = number(&mut p, "LIMIT")?;
    let offset = number(&mut p, "OFFSET")?.unwrap_or(0);
    if p.pos < p.toks.len() {
        return Err(malformed(format!("unexpected token: '{}'", p.describe())));
    }
    Ok((
        Query {
            object,
            fields,
            filter,
            order,
            limit,
            offset,
            children,
        },
        relationship,
        parent_field,
    ))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Compares a stored value with a literal; `None` when either side is null.
fn compare(org: &Org, object: &str, field: &str, stored: &Value, lit: &Lit) -> Option<Ordering> {
    if stored.is_null() || *lit == Lit::Null {
        return None;
    }
    let ty = org.field(object, field).map(|f| f.ty)?;
    match (ty, lit) {
        (Ty::Id | Ty::Reference, Lit::Str(s)) => Some(stored.as_str()?.cmp(s.as_str())),
        (_, Lit::Str(s)) => Some(text(stored)?.to_lowercase().cmp(&s.to_lowercase())),
        (_, Lit::Bool(b)) => Some(stored.as_bool()?.cmp(b)),
        (_, Lit::Num(n)) => stored.as_f64()?.partial_cmp(n),
        (_, Lit::DateTime(d)) => Some(parse_datetime(stored.as_str()?)?.cmp(d)),
        (_, Lit::Date(d)) => Some(
            NaiveDate::parse_from_str(stored.as_str()?, "%Y-%m-%d")
                .ok()?
                .cmp(d),
        ),
        _ => None,
    }
}

fn like(text: &[char], pattern: &[(char, bool)]) -> bool {
    // Iterative wildcard match with backtracking on the last '%'.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            let (pc, escaped) = pattern[p];
            if !escaped && pc == '%' {
                star = Some((p, t));
                p += 1;
                continue;
            }
            if (!escaped && pc == '_') || pc.to_lowercase().eq(text[t].to_lowercase()) {
                t += 1;
                p += 1;
                continue;
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&(c, e)| !e && c == '%')
}

/// True when `record` passes `cond`.
pub fn matches(org: &Org, object: &str, record: &Map<String, Value>, cond: &Cond) -> bool {
    let get = |f: &str| record.get(f).unwrap_or(&Value::Null);
    match cond {
        Cond::And(cs) => cs.iter().all(|c| matches(org, object, record, c)),
        Cond::Or(cs) => cs.iter().any(|c| matches(org, object, record, c)),
        Cond::Not(c) => !matches(org, object, record, c),
        Cond::Cmp(f, op, Lit::Null) => {
            let is_null = get(f).is_null();
            match *op {
                "=" => is_null,
                "!=" => !is_null,
                _ => false,
            }
        }
        Cond::Cmp(f, op, lit) => match compare(org, object, f, get(f), lit) {
            None => *op == "!=",
            Some(o) => match *op {
                "=" => o == Ordering::Equal,
                "!=" => o != Ordering::Equal,
                "<" => o == Ordering::Less,
                "<=" => o != Ordering::Greater,
                ">" => o == Ordering::Greater,
                _ => o != Ordering::Less,
            },
        },
        Cond::In(f, values, negated) => {
            let hit = values
                .iter()
                .any(|v| compare(org, object, f, get(f), v) == Some(Ordering::Equal));
            hit != *negated
        }
        Cond::Like(f, pattern, negated) => {
            let hit = text(get(f)).is_some_and(|s| like(&s.chars().collect::<Vec<_>>(), pattern));
            hit != *negated
        }
    }
}

/// Sorts rows by the query's ORDER BY (then by Id, so the order is stable).
pub fn sort(org: &Org, q: &Query, rows: &mut [Map<String, Value>]) {
    rows.sort_by(|a, b| {
        for o in &q.order {
            let (va, vb) = (
                a.get(&o.field).unwrap_or(&Value::Null),
                b.get(&o.field).unwrap_or(&Value::Null),
            );
            let ord = match (va.is_null(), vb.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if o.nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if o.nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, false) => {
                    let lit = match org.field(q.object, &o.field).map(|f| f.ty) {
                        Some(Ty::DateTime) => {
                            parse_datetime(vb.as_str().unwrap_or("")).map(Lit::DateTime)
                        }
                        Some(Ty::Bool) => vb.as_bool().map(Lit::Bool),
                        Some(Ty::Int) => vb.as_f64().map(Lit::Num),
                        Some(Ty::Date) => vb.as_str().map(|s| Lit::Str(s.to_owned())),
                        _ => text(vb).map(Lit::Str),
                    };
                    let ord = lit
                        .and_then(|l| compare(org, q.object, &o.field, va, &l))
                        .unwrap_or(Ordering::Equal);
                    if o.asc { ord } else { ord.reverse() }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let id =
            |r: &Map<String, Value>| r.get("Id").and_then(Value::as_str).unwrap_or("").to_owned();
        id(a).cmp(&id(b))
    });
}
#[cfg(test)]
mod tests;
