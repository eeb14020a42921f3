//! JSON read strictly: an object holding two keys that are equal under Unicode case folding
//! (`amount` and `Amount`, `Maße` and `MASSE`, or the same key twice) is found while parsing.
//!
//! serde_json keeps the last of two equal keys, and some upstreams match keys without regard
//! to case: either way an upstream could act on a value the policy never saw. The gateway
//! refuses such messages instead of guessing which key was meant.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use unicase::UniCase;

/// Two keys of one object that are equal ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyClash {
    pub(crate) first: String,
    pub(crate) second: String,
    /// Whether the object is inside the message's top-level `params`.
    pub(crate) in_params: bool,
}

impl fmt::Display for KeyClash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.second {
            write!(f, "key `{}` appears twice in one object", self.first)
        } else {
            write!(
                f,
                "keys `{}` and `{}` of one object differ only in letter case",
                self.first, self.second
            )
        }
    }
}

/// Parses `bytes` as JSON; also returns the first key clash found, if any.
pub(crate) fn parse(bytes: &[u8]) -> Result<(Value, Option<KeyClash>), serde_json::Error> {
    let clash = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict {
        clash: &clash,
        depth: 0,
        in_params: false,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, clash.into_inner()))
}

/// Builds a `serde_json::Value` like serde_json does, checking every object's keys.
#[derive(Clone, Copy)]
struct Strict<'a> {
    clash: &'a RefCell<Option<KeyClash>>,
    /// Nesting depth of the value: 0 for the message itself.
    depth: usize,
    in_params: bool,
}

impl Strict<'_> {
    fn child(self, key: Option<&str>) -> Self {
        Self {
            depth: self.depth + 1,
            in_params: self.in_params || (self.depth == 0 && key == Some("params")),
            ..self
        }
    }

    fn found(&self, first: &str, second: &str) {
        let mut clash = self.clash.borrow_mut();
        if clash.is_none() {
            *clash = Some(KeyClash {
                first: first.to_owned(),
                second: second.to_owned(),
                in_params: self.in_params,
            });
        }
    }

    /// Reports two keys of `map` that fold to the same string. Most objects are small and
    /// ASCII: compared pairwise without allocating; others through a folded-key map.
    fn check(&self, map: &Map<String, Value>) {
        if map.len() < 2 || self.clash.borrow().is_some() {
            return;
        }
        if map.len() <= 8 && map.keys().all(|k| k.is_ascii()) {
            let keys: Vec<&String> = map.keys().collect();
            for (i, a) in keys.iter().enumerate() {
                if let Some(b) = keys.iter().skip(i + 1).find(|b| a.eq_ignore_ascii_case(b)) {
                    return self.found(a, b);
                }
            }
            return;
        }
        let mut seen: HashMap<UniCase<&str>, &str> = HashMap::with_capacity(map.len());
        for key in map.keys() {
            if let Some(earlier) = seen.insert(UniCase::new(key.as_str()), key.as_str()) {
                return self.found(earlier, key);
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
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

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(self.child(None))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(self.child(Some(&key)))?;
            if map.contains_key(&key) {
                self.found(&key, &key);
            }
            map.insert(key, value);
        }
        self.check(&map);
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn values_parse_as_serde_json_reads_them() {
        let text = br#"{"a": [1, -2, 3.5, true, null, "s"], "b": {"c": {}}}"#;
        let (value, clash) = parse(text).unwrap();
        assert_eq!(
            value,
            serde_json::from_slice::<serde_json::Value>(text).unwrap()
        );
        assert_eq!(clash, None);
        assert!(parse(b"{\"a\": 1} trailing").is_err());
        assert!(parse(b"{\"a\": ").is_err());
    }

    #[test]
    fn case_variant_and_repeated_keys_are_found() {
        let (_, clash) =
            parse(br#"{"params": {"arguments": {"amount": 1, "Amount": 9}}}"#).unwrap();
        let clash = clash.unwrap();
        let mut pair = [clash.first.as_str(), clash.second.as_str()];
        pair.sort_unstable();
        assert_eq!(pair, ["Amount", "amount"]);
        assert!(clash.in_params);
        let (_, clash) = parse(br#"{"method": "a", "Method": "b"}"#).unwrap();
        assert!(!clash.unwrap().in_params);
        let (_, clash) = parse(br#"{"params": {"name": "a", "name": "b"}}"#).unwrap();
        assert_eq!(
            clash.unwrap().to_string(),
            "key `name` appears twice in one object"
        );
        // Full case folding, beyond ASCII: ß folds to ss, the Kelvin sign to k.
        let (_, clash) = parse("{\"params\": {\"MASSE\": 1, \"Maße\": 2}}".as_bytes()).unwrap();
        assert!(clash.is_some());
        let (_, clash) = parse("{\"params\": {\"k\": 1, \"\u{212a}\": 2}}".as_bytes()).unwrap();
        assert!(clash.is_some());
        // Inside arrays, and in big objects.
        let mut big = serde_json::Map::new();
        for i in 0..20 {
            big.insert(format!("key{i}"), json!(i));
        }
        big.insert("KEY7".into(), json!(0));
        let text = serde_json::to_vec(&json!({"params": {"list": [big]}})).unwrap();
        assert!(parse(&text).unwrap().1.is_some());
    }

    #[test]
    fn distinct_keys_pass() {
        let (_, clash) = parse(
            "{\"params\": {\"a\": 1, \"b\": 2, \"São\": 3, \"Sao\": 4, \"ab\": 5, \"a_b\": 6}}"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(clash, None);
    }
}
