//! Lists, tables and enum variants inside a config value.

use figment::value::{Dict, Value};
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::{DeError, ValueDe, invalid};

/// List items, owned (cloned from the config, or parsed from a variable's text).
pub(super) struct SeqDe {
    items: std::vec::IntoIter<Value>,
    next: usize,
}

impl SeqDe {
    pub(super) fn new(items: Vec<Value>) -> Self {
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
pub(super) struct MapDe {
    entries: std::collections::btree_map::IntoIter<String, Value>,
    value: Option<(String, Value)>,
}

impl MapDe {
    pub(super) fn new(dict: Dict) -> Self {
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
pub(super) struct EnumDe {
    pub(super) key: String,
    pub(super) value: Value,
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

pub(super) struct VariantDe {
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
