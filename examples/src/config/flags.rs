//! The command line's flags, and the file's entries they override, as one serde map: the
//! same `Deserialize` fills [`Settings`](super::Settings) from both. A flag's value is text
//! (`--max-connections 64`); [`FlagValue`] parses it into whatever the field asks for.

use std::{cell::Cell, collections::BTreeMap, sync::OnceLock};

use serde::{
    Deserializer,
    de::{
        DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor, value::StringDeserializer,
    },
    forward_to_deserialize_any,
};

use super::ConfigError;

/// The keys of [`Settings`](super::Settings), learned from its `Deserialize`.
pub(super) static KEYS: OnceLock<&'static [&'static str]> = OnceLock::new();

pub(super) fn probe_keys() -> &'static [&'static str] {
    let seen = Cell::new(&[][..]);
    let _ = <super::Settings as serde::Deserialize>::deserialize(Probe(&seen));
    seen.get()
}

/// Asks a struct's `Deserialize` for its field names, then stops.
struct Probe<'a>(&'a Cell<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ConfigError> {
        Err(ConfigError("probe".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ConfigError> {
        self.0.set(fields);
        Err(ConfigError("probe".into()))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Where a setting's value comes from.
enum Source<'a> {
    File(toml::Value),
    Flag(&'a [String]),
}

/// The file's entries (if any) with the flags over them, as a map for a struct.
pub(super) struct FlagMap<'a> {
    flags: &'a BTreeMap<String, Vec<String>>,
    entries: std::vec::IntoIter<(String, Source<'a>)>,
    current: Option<(String, Source<'a>)>,
}

impl<'a> FlagMap<'a> {
    pub(super) fn new(
        flags: &'a BTreeMap<String, Vec<String>>,
        file: Option<&toml::Table>,
    ) -> Self {
        let mut entries: Vec<(String, Source<'a>)> = file
            .into_iter()
            .flatten()
            .filter(|(k, _)| !flags.contains_key(k.as_str()))
            .map(|(k, v)| (k.clone(), Source::File(v.clone())))
            .collect();
        entries.extend(
            flags
                .iter()
                .map(|(k, v)| (k.clone(), Source::Flag(v.as_slice()))),
        );
        Self {
            flags,
            entries: entries.into_iter(),
            current: None,
        }
    }
}

impl<'de> Deserializer<'de> for FlagMap<'_> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_map(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConfigError> {
        if let Some(unknown) = self.flags.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(ConfigError(format!("unknown option --{unknown}")));
        }
        visitor.visit_map(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

impl<'de> MapAccess<'de> for FlagMap<'_> {
    type Error = ConfigError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ConfigError> {
        let Some((key, source)) = self.entries.next() else {
            return Ok(None);
        };
        let k = seed.deserialize(IntoDeserializer::<ConfigError>::into_deserializer(
            key.clone(),
        ))?;
        self.current = Some((key, source));
        Ok(Some(k))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ConfigError> {
        let Some((key, source)) = self.current.take() else {
            return Err(ConfigError("a value without a key".into()));
        };
        match source {
            Source::File(value) => seed
                .deserialize(value)
                .map_err(|e| ConfigError(format!("key `{key}`: {}", e.message().trim_end()))),
            Source::Flag(values) => {
                let shown = values.last().map_or("", String::as_str);
                seed.deserialize(FlagValue(values))
                    .map_err(|e| ConfigError(format!("--{key} {shown}: {e}")))
            }
        }
    }
}

/// A flag's values (one, or several for a repeated flag), as what the field asks for.
struct FlagValue<'a>(&'a [String]);

impl FlagValue<'_> {
    /// The value a single-valued field takes: the last one given.
    fn last(&self) -> &str {
        self.0.last().map_or("", String::as_str)
    }

    fn number<T: std::str::FromStr>(&self) -> Result<T, ConfigError> {
        self.last()
            .parse()
            .map_err(|_| ConfigError("expected a number".into()))
    }
}

macro_rules! numbers {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
            visitor.$visit(self.number::<$t>()?)
        }
    )*};
}

impl<'de> Deserializer<'de> for FlagValue<'_> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        if self.0.len() > 1 {
            self.deserialize_seq(visitor)
        } else {
            visitor.visit_string(self.last().to_owned())
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        match self.last() {
            "yes" | "on" | "true" => visitor.visit_bool(true),
            "no" | "off" | "false" => visitor.visit_bool(false),
            _ => Err(ConfigError("expected yes or no".into())),
        }
    }

    numbers! {
        deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16, deserialize_u32 visit_u32 u32,
        deserialize_u64 visit_u64 u64, deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64, deserialize_f32 visit_f32 f32,
        deserialize_f64 visit_f64 f64
    }

    /// A field read from text takes the last value given: `--imap A --imap B` is B.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_string(self.last().to_owned())
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ConfigError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_seq(Each(self.0.iter()))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConfigError> {
        let one: StringDeserializer<ConfigError> = self.last().to_owned().into_deserializer();
        visitor.visit_enum(one)
    }

    forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// A repeated flag's values, one element each.
struct Each<'a>(std::slice::Iter<'a, String>);

impl<'de> SeqAccess<'de> for Each<'_> {
    type Error = ConfigError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ConfigError> {
        match self.0.next() {
            Some(v) => seed
                .deserialize(FlagValue(std::slice::from_ref(v)))
                .map(Some),
            None => Ok(None),
        }
    }
}
