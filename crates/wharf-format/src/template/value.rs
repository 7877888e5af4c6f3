//! The values a template computes with.

use std::borrow::Cow;

use serde_json::Value;

/// A value during execution: a JSON value (borrowed from the data when
/// possible) or "missing", Go's invalid `reflect.Value` that a map lookup of
/// an absent key yields and that prints as `<no value>`.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Missing,
    V(Cow<'a, Value>),
}

impl<'a> Val<'a> {
    pub fn owned(v: impl Into<Value>) -> Val<'a> {
        Val::V(Cow::Owned(v.into()))
    }

    pub fn borrowed(v: &'a Value) -> Val<'a> {
        Val::V(Cow::Borrowed(v))
    }

    /// The JSON value, if not missing.
    pub fn get(&self) -> Option<&Value> {
        match self {
            Val::Missing => None,
            Val::V(v) => Some(v),
        }
    }

    /// The JSON value, with missing turned into `null` (what a Go function
    /// taking `interface{}` receives).
    pub fn into_value(self) -> Value {
        match self {
            Val::Missing => Value::Null,
            Val::V(v) => v.into_owned(),
        }
    }

    /// True for missing and `null`: Go's nil.
    pub fn is_nil(&self) -> bool {
        matches!(self.get(), None | Some(Value::Null))
    }

    /// Go's `isTrue`: false, 0, "", nil and empty collections are false.
    pub fn truth(&self) -> bool {
        match self.get() {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
        }
    }

    /// `.name` on an object value, taking the child out of an owned value.
    pub fn into_field(self, name: &str) -> Option<Val<'a>> {
        match self {
            Val::V(Cow::Borrowed(Value::Object(m))) => {
                Some(m.get(name).map_or(Val::Missing, Val::borrowed))
            }
            Val::V(Cow::Owned(Value::Object(mut m))) => {
                Some(m.remove(name).map_or(Val::Missing, Val::owned))
            }
            _ => None,
        }
    }

    /// `.name` on an object value behind a reference.
    pub fn field(&self, name: &str) -> Option<Val<'a>> {
        match self {
            Val::V(Cow::Borrowed(Value::Object(m))) => {
                Some(m.get(name).map_or(Val::Missing, Val::borrowed))
            }
            Val::V(Cow::Owned(Value::Object(m))) => {
                Some(m.get(name).map_or(Val::Missing, |v| Val::owned(v.clone())))
            }
            _ => None,
        }
    }

    /// The elements to `range` over, as (key or index, element) pairs;
    /// objects in sorted key order. `None` if the value is not iterable.
    pub fn into_entries(self) -> Option<Vec<(Val<'a>, Val<'a>)>> {
        let index = |i: usize| Val::owned(i as u64);
        Some(match self {
            Val::V(Cow::Borrowed(Value::Array(a))) => a
                .iter()
                .enumerate()
                .map(|(i, e)| (index(i), Val::borrowed(e)))
                .collect(),
            Val::V(Cow::Owned(Value::Array(a))) => a
                .into_iter()
                .enumerate()
                .map(|(i, e)| (index(i), Val::owned(e)))
                .collect(),
            Val::V(Cow::Borrowed(Value::Object(m))) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                entries
                    .into_iter()
                    .map(|(k, v)| (Val::owned(k.clone()), Val::borrowed(v)))
                    .collect()
            }
            Val::V(Cow::Owned(Value::Object(m))) => {
                let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries
                    .into_iter()
                    .map(|(k, v)| (Val::owned(k), Val::owned(v)))
                    .collect()
            }
            _ => return None,
        })
    }
}
