//! Bulk data beside the message: images, feature maps and weights cross the worker boundary as
//! typed arrays, not as JSON numbers. A field marked `#[serde(with = "crate::protocol::bulk")]`
//! serializes, while [`to_wire`] runs, as `{"bulk": n}`, a reference to the n-th [`Chunk`] that
//! travels beside the JSON (the web glue posts each chunk as a transferred `Float32Array` or
//! `Uint8Array`); [`from_wire`] puts the chunks back. Outside `to_wire` the field is a plain JSON
//! array, so saved state and native tools read as before. Floats in a chunk keep every bit,
//! NaN and ±∞ included: they can never arrive as `null`.
//!
//! No web dependencies: the engine's types name this module, the browser glue moves the chunks.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;

/// One bulk array.
#[derive(Clone, Debug, PartialEq)]
pub enum Chunk {
    /// 32-bit floats (a `Float32Array`).
    F32(Vec<f32>),
    /// Bytes (a `Uint8Array`).
    U8(Vec<u8>),
}

impl Chunk {
    /// Its size in bytes.
    pub fn byte_len(&self) -> usize {
        match self {
            Chunk::F32(v) => 4 * v.len(),
            Chunk::U8(v) => v.len(),
        }
    }
}

/// Element types that travel as chunks.
pub trait Element: Sized + Clone + Serialize + DeserializeOwned {
    /// The values as a chunk.
    fn chunk(values: &[Self]) -> Chunk;
    /// The values of a chunk of this type (None for a chunk of the other type).
    fn values(chunk: Chunk) -> Option<Vec<Self>>;
}

impl Element for f32 {
    fn chunk(values: &[f32]) -> Chunk {
        Chunk::F32(values.to_vec())
    }
    fn values(chunk: Chunk) -> Option<Vec<f32>> {
        match chunk {
            Chunk::F32(v) => Some(v),
            Chunk::U8(_) => None,
        }
    }
}

impl Element for u8 {
    fn chunk(values: &[u8]) -> Chunk {
        Chunk::U8(values.to_vec())
    }
    fn values(chunk: Chunk) -> Option<Vec<u8>> {
        match chunk {
            Chunk::U8(v) => Some(v),
            Chunk::F32(_) => None,
        }
    }
}

thread_local! {
    /// Chunks taken out of the message being written by [`to_wire`] (None outside it).
    static OUTBOX: RefCell<Option<Vec<Chunk>>> = const { RefCell::new(None) };
    /// Chunks of the message being read by [`from_wire`], each taken once.
    static INBOX: RefCell<Option<Vec<Option<Chunk>>>> = const { RefCell::new(None) };
}

/// A message as JSON plus the chunks its bulk fields refer to.
pub fn to_wire<T: Serialize>(value: &T) -> serde_json::Result<(String, Vec<Chunk>)> {
    OUTBOX.with(|o| *o.borrow_mut() = Some(Vec::new()));
    let json = serde_json::to_string(value);
    let chunks = OUTBOX.with(|o| o.borrow_mut().take()).unwrap_or_default();
    Ok((json?, chunks))
}

/// Reads a message written by [`to_wire`]; a reference to a chunk that is missing, taken twice
/// or of the wrong type is an error, never a panic.
pub fn from_wire<T: DeserializeOwned>(json: &str, chunks: Vec<Chunk>) -> serde_json::Result<T> {
    INBOX.with(|i| *i.borrow_mut() = Some(chunks.into_iter().map(Some).collect()));
    let value = serde_json::from_str(json);
    INBOX.with(|i| *i.borrow_mut() = None);
    value
}

/// The reference a bulk field is written as.
#[derive(Serialize)]
struct Reference {
    bulk: usize,
}

/// Reads a bulk field from the values (plain JSON, element by element, no buffering) or from a
/// reference `{"bulk": n}` (the wire): serde's untagged enums would buffer a whole array first.
struct BulkVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Element> serde::de::Visitor<'de> for BulkVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of numbers or a bulk reference {\"bulk\": n}")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(v) = seq.next_element()? {
            values.push(v);
        }
        Ok(values)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        use serde::de::Error;
        let mut index = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "bulk" || index.is_some() {
                return Err(A::Error::custom(format!("unexpected key `{key}` in a bulk reference")));
            }
            index = Some(map.next_value::<usize>()?);
        }
        let bulk = index.ok_or_else(|| A::Error::custom("a bulk reference without `bulk`"))?;
        let chunk = INBOX.with(|i| i.borrow_mut().as_mut().and_then(|chunks| chunks.get_mut(bulk).and_then(Option::take)));
        let chunk = chunk.ok_or_else(|| A::Error::custom(format!("bulk array {bulk} is missing")))?;
        T::values(chunk).ok_or_else(|| A::Error::custom(format!("bulk array {bulk} has the wrong element type")))
    }
}

/// `serialize_with` of a bulk field.
pub fn serialize<T: Element, S: Serializer>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
    let index = OUTBOX.with(|o| {
        o.borrow_mut().as_mut().map(|chunks| {
            chunks.push(T::chunk(values));
            chunks.len() - 1
        })
    });
    match index {
        Some(bulk) => Reference { bulk }.serialize(serializer),
        None => values.serialize(serializer),
    }
}

/// `deserialize_with` of a bulk field.
pub fn deserialize<'de, T: Element, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
    deserializer.deserialize_any(BulkVisitor(std::marker::PhantomData))
}

/// The same for a list of bulk arrays (`Vec<Vec<u8>>`: one chunk each).
pub mod many {
    use super::*;

    /// `serialize_with` of a list of bulk arrays.
    pub fn serialize<T: Element, S: Serializer>(lists: &[Vec<T>], serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(lists.len()))?;
        for list in lists {
            seq.serialize_element(&One(list))?;
        }
        seq.end()
    }

    /// `deserialize_with` of a list of bulk arrays.
    pub fn deserialize<'de, T: Element, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Vec<T>>, D::Error> {
        let lists = Vec::<Owned<T>>::deserialize(deserializer)?;
        Ok(lists.into_iter().map(|o| o.0).collect())
    }

    struct One<'a, T>(&'a [T]);

    impl<T: Element> Serialize for One<'_, T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, serializer)
        }
    }

    struct Owned<T>(Vec<T>);

    impl<'de, T: Element> Deserialize<'de> for Owned<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            super::deserialize(deserializer).map(Owned)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super")]
        floats: Vec<f32>,
        #[serde(with = "super")]
        bytes: Vec<u8>,
        #[serde(with = "super::many")]
        images: Vec<Vec<u8>>,
        loss: f64,
    }

    fn sample() -> Sample {
        Sample { floats: vec![1.5, f32::NAN, f32::INFINITY, -0.0], bytes: vec![0, 255, 7], images: vec![vec![1, 2], vec![3]], loss: 0.25 }
    }

    #[test]
    fn bulk_fields_travel_beside_the_json_with_every_bit() {
        let (json, chunks) = to_wire(&sample()).expect("writes");
        assert_eq!(json, r#"{"floats":{"bulk":0},"bytes":{"bulk":1},"images":[{"bulk":2},{"bulk":3}],"loss":0.25}"#);
        assert_eq!(chunks.iter().map(Chunk::byte_len).sum::<usize>(), 16 + 3 + 3);
        let back: Sample = from_wire(&json, chunks).expect("reads");
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.floats), bits(&sample().floats), "NaN, ∞ and -0 arrive as they left");
        assert_eq!((back.bytes, back.images, back.loss), (sample().bytes, sample().images, 0.25));
    }

    #[test]
    fn outside_the_wire_bulk_fields_are_plain_json_arrays() {
        let plain = Sample { floats: vec![1.5], ..sample() };
        let json = serde_json::to_string(&plain).expect("writes");
        assert_eq!(json, r#"{"floats":[1.5],"bytes":[0,255,7],"images":[[1,2],[3]],"loss":0.25}"#);
        assert_eq!(serde_json::from_str::<Sample>(&json).expect("reads"), plain);
        // Plain arrays read on the wire too (a message written by hand or by an older page).
        assert_eq!(from_wire::<Sample>(&json, Vec::new()).expect("reads"), plain);
    }

    #[test]
    fn missing_reused_or_mistyped_chunks_are_errors() {
        let (json, chunks) = to_wire(&sample()).expect("writes");
        assert!(from_wire::<Sample>(&json, chunks[..2].to_vec()).unwrap_err().to_string().contains("bulk array 2 is missing"));
        let reused = json.replace(r#""bytes":{"bulk":1}"#, r#""bytes":{"bulk":2}"#).replace(r#"[{"bulk":2}"#, r#"[{"bulk":1}"#);
        assert!(from_wire::<Sample>(&reused, chunks.clone()).is_ok(), "two u8 chunks swapped still read");
        let twice = json.replace(r#"{"bulk":3}"#, r#"{"bulk":2}"#);
        assert!(from_wire::<Sample>(&twice, chunks.clone()).unwrap_err().to_string().contains("bulk array 2 is missing"));
        let mistyped = json.replace(r#""floats":{"bulk":0}"#, r#""floats":{"bulk":1}"#);
        assert!(from_wire::<Sample>(&mistyped, chunks).unwrap_err().to_string().contains("wrong element type"));
        let odd = json.replace(r#"{"bulk":0}"#, r#"{"bulk":0,"extra":1}"#);
        assert!(from_wire::<Sample>(&odd, to_wire(&sample()).unwrap().1).unwrap_err().to_string().contains("unexpected key `extra`"));
        // After a failed read nothing is left over for the next message.
        assert!(from_wire::<Sample>(r#"{"floats":{"bulk":0},"bytes":[],"images":[],"loss":0}"#, Vec::new()).is_err());
    }
}
