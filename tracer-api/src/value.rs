//! Tag and log values.
//!
//! A [`Value`] is a bool, a signed or unsigned integer, a float or a string. Static strings are
//! kept as `&'static str`, so tagging with literals allocates nothing.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

/// A tag or log-field value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed integer (all signed widths widen to this).
    I64(i64),
    /// An unsigned integer (all unsigned widths widen to this).
    U64(u64),
    /// A float (`f32` widens to this).
    F64(f64),
    /// A string; `Cow::Borrowed` for static strings.
    Str(Cow<'static, str>),
}

impl Value {
    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a `u64`, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U64(v) => Some(v),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I64(v) => Some(v),
            Value::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a bool, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }
}

/// Formats the value the way Go's `fmt.Sprint` would for the same type (`true`, `42`, `1.5`,
/// text as is), which is what Zipkin and Appdash tags carry.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Str(v) => f.write_str(v),
        }
    }
}

macro_rules! from_int {
    ($variant:ident, $wide:ty: $($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(<$wide>::from(v))
            }
        }
    )*};
}
from_int!(I64, i64: i8, i16, i32, i64);
from_int!(U64, u64: u8, u16, u32, u64);

impl From<isize> for Value {
    fn from(v: isize) -> Value {
        Value::I64(v as i64)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::U64(v as u64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::F64(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::F64(f64::from(v))
    }
}
impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::Str(Cow::Borrowed(v))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(Cow::Owned(v))
    }
}
impl From<Cow<'static, str>> for Value {
    fn from(v: Cow<'static, str>) -> Value {
        Value::Str(v)
    }
}

/// A key and a value: a span tag, a process tag or a log field.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// The key; static keys cost no allocation.
    pub key: Cow<'static, str>,
    /// The value.
    pub value: Value,
}

impl KeyValue {
    /// Makes a key/value pair.
    pub fn new(key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A structured log entry on a span: a timestamp and its fields.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// When the event happened (wall clock).
    pub timestamp: SystemTime,
    /// The fields, in the order they were logged.
    pub fields: Vec<KeyValue>,
}

impl LogRecord {
    /// The value of the first field named `key`.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|f| f.key == key).map(|f| &f.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_widen_and_print_like_go() {
        assert_eq!(Value::from(7u16), Value::U64(7));
        assert_eq!(Value::from(-7i8), Value::I64(-7));
        assert_eq!(Value::from(true).to_string(), "true");
        assert_eq!(Value::from(1.5f32).to_string(), "1.5");
        assert_eq!(Value::from("x").to_string(), "x");
        assert_eq!(Value::from(3i32).as_u64(), Some(3));
        assert_eq!(Value::from(-3i32).as_u64(), None);
        assert!(matches!(Value::from("s"), Value::Str(Cow::Borrowed("s"))));
    }
}
