//! JSON decoding that remembers duplicate object keys (the last value wins, as in Go's
//! decoder), so that `fieldValidation` can report them as kube-apiserver's strict decoder
//! does: `duplicate field "spec.replicas"`.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A decoded body and the paths of the keys it repeats.
#[derive(Debug)]
pub struct DecodedBody {
    /// The value.
    pub value: Value,
    /// Field paths (`spec.template.spec.containers[0].image`) given more than once.
    pub duplicates: Vec<String>,
}

/// Decodes JSON, recording duplicate keys.
pub fn decode_json(body: &[u8]) -> Result<DecodedBody, serde_json::Error> {
    let mut duplicates = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Seed {
        path: String::new(),
        dups: &mut duplicates,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(DecodedBody { value, duplicates })
}

struct Seed<'a> {
    path: String,
    dups: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let seed = Seed {
                path: format!("{}[{}]", self.path, out.len()),
                dups: &mut *self.dups,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = child(&self.path, &key);
            let v = map.next_value_seed(Seed {
                path: path.clone(),
                dups: &mut *self.dups,
            })?;
            if out.insert(key, v).is_some() && !self.dups.contains(&path) {
                self.dups.push(path);
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_named_by_path_and_the_last_wins() {
        let d = decode_json(br#"{"spec":{"replicas":1,"replicas":2,"c":[{"a":1,"a":2}]},"x":1.5}"#)
            .unwrap();
        assert_eq!(d.duplicates, vec!["spec.replicas", "spec.c[0].a"]);
        assert_eq!(d.value["spec"]["replicas"], 2);
        assert_eq!(d.value["x"], 1.5);
        assert!(decode_json(b"{} x").is_err());
    }
}
