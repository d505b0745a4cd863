//! Reads config values into typed structs, the same way from every source.
//!
//! figment's own deserializer takes each value as its provider typed it: an environment
//! variable `TICKETS_VERSION=1.0` arrives as the float `1`, a password of digits as a number
//! that a string field refuses. Here the target type decides instead:
//!
//! - text fields take text as written, and whole numbers as their digits (ids may be written
//!   as numbers); a number with a fraction or exponent is refused (its text is lost), with a
//!   hint to quote it;
//! - number and boolean fields take their own type, or text that parses as one (`"30"`,
//!   `"true"`); out-of-range, fractional and non-finite values are refused naming the range;
//! - lists and tables take their own type, or text in figment's inline syntax (`[a, b]`,
//!   `{k = v}`), which is how an environment variable gives one.
//!
//! Errors carry the path of the key that failed, for [`super::keys`] to turn into a message
//! naming the key, where its value came from and, for unknown keys, the nearest known one.

use std::fmt;

use figment::value::{Dict, Empty, Num, Value};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Expected, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};

/// What went wrong while reading a value, and where.
#[derive(Debug)]
pub(crate) struct DeError {
    /// Path segments, innermost first (each level adds its own on the way out).
    rev_path: Vec<String>,
    pub(crate) kind: DeErrorKind,
}

#[derive(Debug)]
pub(crate) enum DeErrorKind {
    Message(String),
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
    },
    MissingField(&'static str),
}

impl DeError {
    fn msg(message: impl Into<String>) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::Message(message.into()),
        }
    }

    /// Adds the segment of the level the error passes on its way out.
    pub(crate) fn at(mut self, segment: impl Into<String>) -> Self {
        self.rev_path.push(segment.into());
        self
    }

    /// The path of the key the error is about, outermost first (a missing field included).
    pub(crate) fn path(&self) -> Vec<String> {
        let mut path: Vec<String> = self.rev_path.iter().rev().cloned().collect();
        if let DeErrorKind::MissingField(field) = &self.kind {
            path.push((*field).to_owned());
        }
        path
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DeErrorKind::Message(m) => f.write_str(m),
            DeErrorKind::UnknownField { field, .. } => write!(f, "unknown key `{field}`"),
            DeErrorKind::UnknownVariant { variant, expected } => {
                write!(f, "`{variant}` is not one of: {}", expected.join(", "))
            }
            DeErrorKind::MissingField(field) => write!(f, "`{field}` is missing"),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::msg(msg.to_string())
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::UnknownField {
                field: field.to_owned(),
                expected,
            },
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::UnknownVariant {
                variant: variant.to_owned(),
                expected,
            },
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::MissingField(field),
        }
    }
}

/// Deserializes `T` from a config value (see the module docs for the rules).
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, DeError> {
    T::deserialize(ValueDe(value))
}

/// A deserializer over one figment value. It never lends out borrowed data (every string is
/// visited as `visit_str`), so it deserializes owned types for any `'de`.
#[derive(Clone, Copy)]
pub(crate) struct ValueDe<'a>(pub(crate) &'a Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::String(_, s) => Unexpected::Str(s),
        Value::Char(_, c) => Unexpected::Char(*c),
        Value::Bool(_, b) => Unexpected::Bool(*b),
        Value::Num(_, n) => match *n {
            Num::F32(v) => Unexpected::Float(f64::from(v)),
            Num::F64(v) => Unexpected::Float(v),
            n => match (n.to_u128(), n.to_i128()) {
                (Some(u), _) => u64::try_from(u)
                    .map(Unexpected::Unsigned)
                    .unwrap_or(Unexpected::Other("a very large integer")),
                (None, Some(i)) => i64::try_from(i)
                    .map(Unexpected::Signed)
                    .unwrap_or(Unexpected::Other("a very large negative integer")),
                (None, None) => Unexpected::Other("a number"),
            },
        },
        Value::Empty(_, _) => Unexpected::Unit,
        Value::Dict(..) => Unexpected::Map,
        Value::Array(..) => Unexpected::Seq,
    }
}

fn invalid(value: &Value, exp: &dyn Expected) -> DeError {
    de::Error::invalid_type(unexpected(value), exp)
}

/// A whole number from a config value: an integer, or text holding one.
fn whole(value: &Value, exp: &dyn Expected) -> Result<i128OrU128, DeError> {
    match value {
        Value::Num(_, n) => match *n {
            Num::F32(_) | Num::F64(_) => Err(DeError::msg(format!(
                "expected {exp} (a whole number), found {}",
                FloatText(n)
            ))),
            n => n
                .to_i128()
                .map(i128OrU128::I)
                .or_else(|| n.to_u128().map(i128OrU128::U))
                .ok_or_else(|| invalid(value, exp)),
        },
        Value::String(_, s) => {
            let t = s.trim();
            t.parse::<i128>()
                .map(i128OrU128::I)
                .or_else(|_| t.parse::<u128>().map(i128OrU128::U))
                .map_err(|_| {
                    DeError::msg(format!("expected {exp} (a whole number), found text {s:?}"))
                })
        }
        other => Err(invalid(other, exp)),
    }
}

#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
enum i128OrU128 {
    I(i128),
    U(u128),
}

impl fmt::Display for i128OrU128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::I(i) => i.fmt(f),
            Self::U(u) => u.fmt(f),
        }
    }
}

struct FloatText<'a>(&'a Num);

impl fmt::Display for FloatText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self.0 {
            Num::F32(v) => write!(f, "{v:?}"),
            Num::F64(v) => write!(f, "{v:?}"),
            _ => f.write_str("a number"),
        }
    }
}

macro_rules! integer {
    ($method:ident, $ty:ty, $visit:ident) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let n = whole(self.0, &visitor)?;
            let fits = match n {
                i128OrU128::I(i) => <$ty>::try_from(i).ok(),
                i128OrU128::U(u) => <$ty>::try_from(u).ok(),
            };
            match fits {
                Some(v) => visitor.$visit(v),
                None => Err(DeError::msg(format!(
                    "{n} is out of range: expected a whole number from {} to {}",
                    <$ty>::MIN,
                    <$ty>::MAX
                ))),
            }
        }
    };
}

fn float(value: &Value, exp: &dyn Expected) -> Result<f64, DeError> {
    match value {
        Value::Num(_, n) => Ok(match *n {
            Num::F32(v) => f64::from(v),
            Num::F64(v) => v,
            // Integers as floats: exact up to 2^53, which covers every sane setting.
            n => match (n.to_i128(), n.to_u128()) {
                (Some(i), _) => i as f64,
                (None, Some(u)) => u as f64,
                (None, None) => return Err(invalid(value, exp)),
            },
        }),
        Value::String(_, s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| DeError::msg(format!("expected {exp}, found text {s:?}"))),
        other => Err(invalid(other, exp)),
    }
}

fn boolean(value: &Value, exp: &dyn Expected) -> Result<bool, DeError> {
    match value {
        Value::Bool(_, b) => Ok(*b),
        Value::String(_, s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(DeError::msg(format!(
                "expected {exp} (true or false), found text {s:?}"
            ))),
        },
        other => Err(invalid(other, exp)),
    }
}

/// Text in figment's inline syntax (`[a, b]`, `{k = v}`), parsed when a list or table is
/// wanted and text was given (an environment variable).
fn parsed(value: &Value) -> Option<Value> {
    match value {
        Value::String(_, s) => s.parse::<Value>().ok(),
        _ => None,
    }
}

impl<'de> Deserializer<'de> for ValueDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::String(_, s) => visitor.visit_str(s),
            Value::Char(_, c) => visitor.visit_char(*c),
            Value::Bool(_, b) => visitor.visit_bool(*b),
            Value::Num(_, n) => match *n {
                Num::F32(v) => visitor.visit_f32(v),
                Num::F64(v) => visitor.visit_f64(v),
                n => match (n.to_u128(), n.to_i128()) {
                    (Some(u), _) => match u64::try_from(u) {
                        Ok(u) => visitor.visit_u64(u),
                        Err(_) => visitor.visit_u128(u),
                    },
                    (None, Some(i)) => match i64::try_from(i) {
                        Ok(i) => visitor.visit_i64(i),
                        Err(_) => visitor.visit_i128(i),
                    },
                    (None, None) => Err(invalid(self.0, &visitor)),
                },
            },
            Value::Empty(_, Empty::None) => visitor.visit_none(),
            Value::Empty(_, Empty::Unit) => visitor.visit_unit(),
            Value::Dict(_, d) => visitor.visit_map(MapDe::new(d.clone())),
            Value::Array(_, a) => visitor.visit_seq(SeqDe::new(a.clone())),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let b = boolean(self.0, &visitor)?;
        visitor.visit_bool(b)
    }

    integer!(deserialize_i8, i8, visit_i8);
    integer!(deserialize_i16, i16, visit_i16);
    integer!(deserialize_i32, i32, visit_i32);
    integer!(deserialize_i64, i64, visit_i64);
    integer!(deserialize_i128, i128, visit_i128);
    integer!(deserialize_u8, u8, visit_u8);
    integer!(deserialize_u16, u16, visit_u16);
    integer!(deserialize_u32, u32, visit_u32);
    integer!(deserialize_u64, u64, visit_u64);
    integer!(deserialize_u128, u128, visit_u128);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let v = float(self.0, &visitor)?;
        visitor.visit_f64(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let v = float(self.0, &visitor)?;
        visitor.visit_f64(v)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Char(_, c) => visitor.visit_char(*c),
            Value::String(_, s) if s.chars().count() == 1 => visitor.visit_str(s),
            other => Err(invalid(other, &visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::String(_, s) => visitor.visit_str(s),
            Value::Char(_, c) => visitor.visit_string(c.to_string()),
            Value::Num(_, n @ (Num::F32(_) | Num::F64(_))) => Err(DeError::msg(format!(
                "expected text, found the number {}; a number with a fraction or exponent \
                 cannot be read back as the text it was written as: put it in quotes",
                FloatText(n)
            ))),
            v @ Value::Num(_, n) => match (n.to_i128(), n.to_u128()) {
                (Some(i), _) => visitor.visit_string(i.to_string()),
                (None, Some(u)) => visitor.visit_string(u.to_string()),
                (None, None) => Err(invalid(v, &visitor)),
            },
            other => Err(invalid(other, &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::String(_, s) => visitor.visit_bytes(s.as_bytes()),
            Value::Array(_, a) => visitor.visit_seq(SeqDe::new(a.clone())),
            other => Err(invalid(other, &visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Empty(..) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Empty(..) => visitor.visit_unit(),
            other => Err(invalid(other, &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Array(_, a) => visitor.visit_seq(SeqDe::new(a.clone())),
            other => match parsed(other) {
                Some(Value::Array(_, a)) => visitor.visit_seq(SeqDe::new(a)),
                _ => Err(invalid(other, &visitor)),
            },
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Dict(_, d) => visitor.visit_map(MapDe::new(d.clone())),
            other => match parsed(other) {
                Some(Value::Dict(_, d)) => visitor.visit_map(MapDe::new(d)),
                _ => Err(invalid(other, &visitor)),
            },
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::String(_, s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Dict(_, d) if d.len() == 1 => {
                let (key, value) = d.iter().next().expect("one entry");
                visitor.visit_enum(EnumDe {
                    key: key.clone(),
                    value: value.clone(),
                })
            }
            other => Err(invalid(other, &visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// List items, owned (cloned from the config, or parsed from a variable's text).
struct SeqDe {
    items: std::vec::IntoIter<Value>,
    next: usize,
}

impl SeqDe {
    fn new(items: Vec<Value>) -> Self {
        Self {
            items: items.into_iter(),
            next: 0,
        }
    }
}

impl<'de> SeqAccess<'de> for SeqDe {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.next;
        self.next += 1;
        seed.deserialize(ValueDe(&item))
            .map(Some)
            .map_err(|e| e.at(index.to_string()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Table entries, owned; keys are read like text values (so `Status` keys and numeric keys
/// work), values through [`ValueDe`].
struct MapDe {
    entries: std::collections::btree_map::IntoIter<String, Value>,
    value: Option<(String, Value)>,
}

impl MapDe {
    fn new(dict: Dict) -> Self {
        Self {
            entries: dict.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for MapDe {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let text = Value::from(key.clone());
        let parsed = seed
            .deserialize(ValueDe(&text))
            .map_err(|e| e.at(key.clone()))?;
        self.value = Some((key, value));
        Ok(Some(parsed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, value) = self
            .value
            .take()
            .ok_or_else(|| DeError::msg("a value was asked for before its key"))?;
        seed.deserialize(ValueDe(&value)).map_err(|e| e.at(key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// `{ variant = value }`: an enum variant with content.
struct EnumDe {
    key: String,
    value: Value,
}

impl<'de> EnumAccess<'de> for EnumDe {
    type Error = DeError;
    type Variant = VariantDe;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDe), DeError> {
        let text = Value::from(self.key.clone());
        let variant = seed
            .deserialize(ValueDe(&text))
            .map_err(|e| e.at(self.key.clone()))?;
        Ok((
            variant,
            VariantDe {
                key: self.key,
                value: self.value,
            },
        ))
    }
}

struct VariantDe {
    key: String,
    value: Value,
}

impl<'de> VariantAccess<'de> for VariantDe {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match &self.value {
            Value::Empty(..) => Ok(()),
            other => Err(invalid(other, &"a variant without a value").at(self.key)),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(ValueDe(&self.value))
            .map_err(|e| e.at(self.key))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        ValueDe(&self.value)
            .deserialize_seq(visitor)
            .map_err(|e| e.at(self.key))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        ValueDe(&self.value)
            .deserialize_map(visitor)
            .map_err(|e| e.at(self.key))
    }
}
