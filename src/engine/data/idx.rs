//! Decoder for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).
//!
//! Layout: magic `00 00 <type> <ndims>`, then `ndims` big-endian u32 sizes, then the data.
//! Only unsigned bytes (type 0x08) are used by these datasets.

use flate2::read::GzDecoder;
use std::borrow::Cow;
use std::io::Read;
use crate::i18n::Message;
use crate::msg;

/// A decoded IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimension sizes, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// Row-major values.
    pub data: Vec<u8>,
}

/// Why a file could not be read as a dataset. Every message names the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataError {
    /// The file is shorter than its header says.
    Truncated { file: String, expected: usize, found: usize },
    /// The magic number is not an IDX one.
    BadMagic { file: String, magic: Vec<u8> },
    /// The element type is not unsigned bytes.
    UnsupportedType { file: String, code: u8 },
    /// gzip decompression failed.
    Gzip { file: String, reason: Message },
    /// The array does not have the shape the dataset needs.
    Shape { file: String, reason: Message },
}

impl DataError {
    /// The error as a message of the tables.
    pub fn message(&self) -> Message {
        match self {
            DataError::Truncated { file, expected, found } => msg!("err.data_truncated", file, expected, found),
            DataError::BadMagic { file, magic } => msg!("err.data_magic", file, format!("{magic:02x?}")),
            DataError::UnsupportedType { file, code } => msg!("err.data_type", file, format!("{code:02x}")),
            DataError::Gzip { file, reason } => msg!("err.data_gzip", file, reason),
            DataError::Shape { file, reason } => msg!("err.data_file", file, reason),
        }
    }
}

crate::message_error!(DataError);

/// Largest inflated IDX file accepted (MNIST's training images are 47 MB).
pub const MAX_INFLATED: usize = 256 << 20;

/// The bytes of an IDX file, inflated if gzip-compressed (at most [`MAX_INFLATED`]).
pub fn maybe_gunzip<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(MAX_INFLATED));
        // Capped: a small crafted file must not inflate past what a tab can hold.
        GzDecoder::new(bytes)
            .take(MAX_INFLATED as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| DataError::Gzip { file: file.into(), reason: Message::verbatim(e.to_string()) })?;
        if out.len() > MAX_INFLATED {
            return Err(DataError::Gzip { file: file.into(), reason: msg!("err.data_inflates", MAX_INFLATED >> 20) });
        }
        Ok(Cow::Owned(out))
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// Decodes an IDX file (gzip-compressed or raw). `file` names it in errors.
pub fn decode_idx(file: &str, bytes: &[u8]) -> Result<IdxArray, DataError> {
    let bytes = maybe_gunzip(file, bytes)?;
    let truncated = |expected| DataError::Truncated { file: file.into(), expected, found: bytes.len() };
    if bytes.len() < 4 {
        return Err(truncated(4));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[3] == 0 || bytes[3] > 4 {
        return Err(DataError::BadMagic { file: file.into(), magic: bytes[..4].to_vec() });
    }
    if bytes[2] != 0x08 {
        return Err(DataError::UnsupportedType { file: file.into(), code: bytes[2] });
    }
    let ndims = bytes[3] as usize;
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(truncated(header));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let expected = count.and_then(|c| c.checked_add(header)).unwrap_or(usize::MAX);
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    Ok(IdxArray { data: bytes[header..expected].to_vec(), dims })
}

/// Encodes an unsigned-byte IDX file (for tests and tools that need small datasets).
pub fn encode_idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        encode_idx(dims, data)
    }

    #[test]
    fn decodes_raw_and_gzipped() {
        let raw = idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = decode_idx("x", &raw).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.data[11], 12);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&raw).unwrap();
        assert_eq!(decode_idx("x", &gz.finish().unwrap()).unwrap(), a);
    }

    #[test]
    fn truncated_file_says_how_much_is_missing() {
        let raw = idx(&[3, 2, 2], &[0; 11]);
        let e = decode_idx("train-images", &raw).unwrap_err();
        assert_eq!(e.to_string(), "train-images: truncated: expected 28 bytes, found 27");
        let e = decode_idx("h", &[0, 0, 8, 3, 0, 0]).unwrap_err();
        assert!(matches!(e, DataError::Truncated { expected: 16, found: 6, .. }));
    }

    #[test]
    fn wrong_magic_and_type_are_named() {
        let e = decode_idx("labels", b"<!DOCTYPE html>").unwrap_err();
        assert_eq!(e.to_string(), "labels: not an IDX file (magic bytes [3c, 21, 44, 4f], expected 00 00 08 nn)");
        let e = decode_idx("f", &[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e, DataError::UnsupportedType { file: "f".into(), code: 0x0d });
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let e = decode_idx("g", &[0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap_err();
        assert!(matches!(e, DataError::Gzip { .. }), "{e}");
    }
}
