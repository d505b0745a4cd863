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

mod access;
mod error;

use std::fmt;

use figment::value::{Empty, Num, Value};
use serde::de::{self, Deserializer, Expected, IntoDeserializer, Unexpected, Visitor};

use access::{EnumDe, MapDe, SeqDe};
pub(crate) use error::{DeError, DeErrorKind};

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
fn whole(value: &Value, exp: &dyn Expected) -> Result<Whole, DeError> {
    match value {
        Value::Num(_, n) => match *n {
            Num::F32(_) | Num::F64(_) => Err(DeError::msg(format!(
                "expected {exp} (a whole number), found {}",
                FloatText(n)
            ))),
            n => n
                .to_i128()
                .map(Whole::I)
                .or_else(|| n.to_u128().map(Whole::U))
                .ok_or_else(|| invalid(value, exp)),
        },
        Value::String(_, s) => {
            let t = s.trim();
            t.parse::<i128>()
                .map(Whole::I)
                .or_else(|_| t.parse::<u128>().map(Whole::U))
                .map_err(|_| {
                    DeError::msg(format!("expected {exp} (a whole number), found text {s:?}"))
                })
        }
        other => Err(invalid(other, exp)),
    }
}

#[derive(Clone, Copy)]
enum Whole {
    I(i128),
    U(u128),
}

impl fmt::Display for Whole {
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
                Whole::I(i) => <$ty>::try_from(i).ok(),
                Whole::U(u) => <$ty>::try_from(u).ok(),
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
