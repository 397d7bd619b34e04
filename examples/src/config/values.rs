//! The kinds of value a setting takes, each read from a TOML value or a flag's text.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

use serde::{
    Deserialize, Deserializer,
    de::{self, SeqAccess, Visitor},
};

/// A listener's address, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Not listening.
    Off,
    /// Listening on this address.
    On(SocketAddr),
}

impl Listen {
    /// Listening on `addr`.
    pub fn at(addr: SocketAddr) -> Self {
        Self::On(addr)
    }

    /// The address, unless off.
    pub fn addr(self) -> Option<SocketAddr> {
        match self {
            Self::Off => None,
            Self::On(a) => Some(a),
        }
    }
}

impl FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "none" {
            return Ok(Self::Off);
        }
        s.parse().map(Self::On).map_err(|_| {
            format!("expected an address with a port (127.0.0.1:2525, [::]:25) or none, not {s:?}")
        })
    }
}

/// Deserializes through `FromStr` from a string.
macro_rules! from_str_value {
    ($t:ty, $what:literal) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$t, E> {
                        s.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

from_str_value!(Listen, "an address with a port, or none");

/// `yes`/`no` (also `true`/`false`, `on`/`off`; in the file a TOML boolean too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YesNo(pub bool);

impl<'de> Deserialize<'de> for YesNo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = YesNo;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("yes or no")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<YesNo, E> {
                Ok(YesNo(b))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<YesNo, E> {
                match s {
                    "yes" | "on" | "true" => Ok(YesNo(true)),
                    "no" | "off" | "false" => Ok(YesNo(false)),
                    _ => Err(E::custom(format!("expected yes or no, not {s:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A number of octets: `1048576`, or with a binary unit `512K`, `35M`, `2G`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Octets(pub u64);

impl FromStr for Octets {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => t.split_at(i),
            None => (t, ""),
        };
        let shift = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 0,
            "K" | "KB" | "KIB" => 10,
            "M" | "MB" | "MIB" => 20,
            "G" | "GB" | "GIB" => 30,
            "T" | "TB" | "TIB" => 40,
            _ => {
                return Err(format!(
                    "expected octets (1048576, 512K, 35M, 2G), not {s:?}"
                ));
            }
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1u64 << shift))
            .map(Self)
            .ok_or_else(|| format!("expected octets (1048576, 512K, 35M, 2G), not {s:?}"))
    }
}

/// A number of seconds (`300`), or with a unit: `90s`, `5m`, `2h`. Never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (digits, factor) = match t.as_bytes().last() {
            Some(b's') => (&t[..t.len() - 1], 1),
            Some(b'm') => (&t[..t.len() - 1], 60),
            Some(b'h') => (&t[..t.len() - 1], 3600),
            _ => (t, 1),
        };
        match digits.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Self(Duration::from_secs(n.saturating_mul(factor)))),
            _ => Err(format!(
                "expected a positive number of seconds (300, 5m), not {s:?}"
            )),
        }
    }
}

/// Numbers or strings with a unit.
macro_rules! number_or_str {
    ($t:ty, $what:literal, $from:expr) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_u64<E: de::Error>(self, n: u64) -> Result<$t, E> {
                        let from: fn(u64) -> Result<$t, String> = $from;
                        from(n).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, n: i64) -> Result<$t, E> {
                        let n = u64::try_from(n)
                            .map_err(|_| E::custom(format!("expected {}, not {n}", $what)))?;
                        self.visit_u64(n)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$t, E> {
                        s.parse().map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

number_or_str!(Octets, "a number of octets", |n| Ok(Octets(n)));
number_or_str!(Seconds, "a positive number of seconds", |n| {
    if n == 0 {
        Err("expected a positive number of seconds, not 0".to_owned())
    } else {
        Ok(Seconds(Duration::from_secs(n)))
    }
});

/// `NAME:PASSWORD`: an account with a plaintext password (the name lower-cased).
#[derive(Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// The name, lower case.
    pub name: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserSpec({}:..)", self.name)
    }
}

impl FromStr for UserSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some((name, password)) if !name.is_empty() => Ok(Self {
                name: name.to_lowercase(),
                password: password.to_owned(),
            }),
            _ => Err("expected NAME:PASSWORD".to_owned()),
        }
    }
}

from_str_value!(UserSpec, "NAME:PASSWORD");

/// A log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLevel(pub tracing::Level);

impl Default for LogLevel {
    fn default() -> Self {
        Self(tracing::Level::INFO)
    }
}

impl FromStr for LogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.parse()
            .map(Self)
            .map_err(|_| format!("expected error, warn, info, debug or trace, not {s:?}"))
    }
}

from_str_value!(LogLevel, "error, warn, info, debug or trace");

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO connection closed protocol="imap" ...`
    Text,
    /// One JSON object a line.
    Json,
}

/// A list that may be written as one value (`domain = "example.org"`) or several.
pub(super) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a value or a list of values")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<T>, E> {
            T::deserialize(de::value::StrDeserializer::<E>::new(s)).map(|t| vec![t])
        }
        fn visit_string<E: de::Error>(self, s: String) -> Result<Vec<T>, E> {
            self.visit_str(&s)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(t) = seq.next_element()? {
                out.push(t);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}
