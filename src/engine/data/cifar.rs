//! CIFAR-10 and CIFAR-100 from the official binary distribution (`cifar-10-binary.tar.gz`,
//! `cifar-100-binary.tar.gz`) or its batch files, decoded as the bytes arrive: gzip by `flate2`'s
//! push decoder, tar headers by the `tar` crate, records straight into the dataset, so a 162 MB
//! archive never sits in memory inflated.
//!
//! A CIFAR-10 record is 1 label byte + 3,072 pixel bytes (1,024 red, then green, then blue, row
//! by row: CHW already); a CIFAR-100 record has a coarse and a fine label byte first. Which of
//! the two a file holds is told by its name, as in the archives: `data_batch_1.bin` …
//! `data_batch_5.bin` and `test_batch.bin` (CIFAR-10), `train.bin` and `test.bin` (CIFAR-100).

use super::{DataError, DataSplit, Dataset};
use crate::engine::spec::DatasetKind;
use crate::i18n::Message;
use crate::msg;
use flate2::write::GzDecoder;
use std::io::Write;

/// Pixel bytes of one 32×32×3 image.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Most image bytes kept (CIFAR's 60,000 images are 176 MiB); more is refused.
pub const MAX_IMAGE_BYTES: usize = 256 << 20;
/// Most bytes an archive may inflate to (the real one is 185 MB).
pub const MAX_INFLATED: u64 = 1 << 30;

/// Which split a batch file feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    Train,
    Test,
}

/// Where a batch file's records go, from its name (any folder in front is ignored).
fn route(path: &str) -> Option<(DatasetKind, Split)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let name = name.strip_suffix(".gz").unwrap_or(name);
    match name {
        "test_batch.bin" => Some((DatasetKind::Cifar10, Split::Test)),
        "train.bin" => Some((DatasetKind::Cifar100, Split::Train)),
        "test.bin" => Some((DatasetKind::Cifar100, Split::Test)),
        _ => {
            let n = name.strip_prefix("data_batch_")?.strip_suffix(".bin")?;
            matches!(n, "1" | "2" | "3" | "4" | "5").then_some((DatasetKind::Cifar10, Split::Train))
        }
    }
}

/// Label bytes before the pixels of a record.
const fn label_bytes(kind: DatasetKind) -> usize {
    if matches!(kind, DatasetKind::Cifar100) { 2 } else { 1 }
}

fn shape_error(file: &str, reason: Message) -> DataError {
    DataError::Shape { file: file.into(), reason }
}

/// The images and labels read so far, and the batch file being read.
#[derive(Default)]
struct Records {
    kind: Option<DatasetKind>,
    train: (Vec<u8>, Vec<u8>),
    test: (Vec<u8>, Vec<u8>),
    /// The batch file being read: its name, kind and split.
    file: Option<(String, DatasetKind, Split)>,
    /// Bytes of a record not yet complete.
    partial: Vec<u8>,
    /// Records of the current file.
    count: usize,
}

impl Records {
    /// Starts batch file `name`; `size`, when known (tar), must be whole records.
    fn begin(&mut self, name: &str, size: Option<u64>) -> Result<bool, DataError> {
        let Some((kind, split)) = route(name) else { return Ok(false) };
        if let Some(seen) = self.kind.filter(|&k| k != kind) {
            return Err(shape_error(name, msg!("err.cifar_mixed", seen.title(), kind.title())));
        }
        let record = (label_bytes(kind) + IMAGE_BYTES) as u64;
        if let Some(size) = size.filter(|s| s % record != 0) {
            return Err(shape_error(name, msg!("err.cifar_record_size", size, record, kind.title())));
        }
        self.kind = Some(kind);
        self.file = Some((name.to_string(), kind, split));
        self.partial.clear();
        self.count = 0;
        Ok(true)
    }

    /// Takes bytes of the current batch file.
    fn take(&mut self, mut bytes: &[u8]) -> Result<(), DataError> {
        let Some((name, kind, split)) = &self.file else { return Ok(()) };
        let record = label_bytes(*kind) + IMAGE_BYTES;
        let classes = if *kind == DatasetKind::Cifar100 { 100 } else { 10 };
        let room = MAX_IMAGE_BYTES - if *split == Split::Train { self.test.0.len() } else { self.train.0.len() };
        let (images, labels) = if *split == Split::Train { &mut self.train } else { &mut self.test };
        while !bytes.is_empty() {
            let need = record - self.partial.len();
            let (now, rest) = bytes.split_at(need.min(bytes.len()));
            bytes = rest;
            // A whole record straight from the input, or completed in `partial`.
            let full: &[u8] = if self.partial.is_empty() && now.len() == record {
                now
            } else {
                self.partial.extend_from_slice(now);
                if self.partial.len() < record {
                    return Ok(());
                }
                &self.partial
            };
            let label = full[label_bytes(*kind) - 1];
            if label as usize >= classes || (*kind == DatasetKind::Cifar100 && full[0] >= 20) {
                let bad = if label as usize >= classes { label } else { full[0] };
                return Err(shape_error(name, msg!("err.cifar_label", bad, self.count, classes)));
            }
            if images.len() + IMAGE_BYTES > room {
                return Err(shape_error(name, msg!("err.cifar_too_many", MAX_IMAGE_BYTES >> 20)));
            }
            images.extend_from_slice(&full[label_bytes(*kind)..]);
            labels.push(label);
            self.count += 1;
            self.partial.clear();
        }
        Ok(())
    }

    /// Ends the current batch file: a part record left over means it was cut short.
    fn end(&mut self) -> Result<(), DataError> {
        if let Some((name, kind, _)) = self.file.take() {
            if !self.partial.is_empty() {
                let record = label_bytes(kind) + IMAGE_BYTES;
                return Err(shape_error(&name, msg!("err.cifar_partial", self.partial.len(), record, self.count)));
            }
        }
        Ok(())
    }
}

/// What the bytes of a file (after any gzip) turned out to be.
enum Contents {
    /// Fewer than a tar header's bytes seen so far.
    Sniffing(Vec<u8>),
    /// A tar archive.
    Tar(TarReader),
    /// A single batch file.
    Batch,
}

/// A tar archive read as it arrives: 512-byte headers, entry data padded to 512 bytes.
#[derive(Default)]
struct TarReader {
    header: Vec<u8>,
    /// Bytes left in the current entry, and whether they are a batch file's.
    left: u64,
    batch: bool,
    /// A GNU long name being read (`././@LongLink`), and the name it gives the next entry.
    long_name: Option<Vec<u8>>,
    next_name: Option<String>,
    /// Padding after the current entry.
    pad: u64,
    /// Zero blocks seen in a row; two end the archive.
    zeros: usize,
    /// Archive bytes so far (for error positions).
    offset: u64,
}

impl TarReader {
    fn push(&mut self, archive: &str, records: &mut Records, mut bytes: &[u8]) -> Result<(), DataError> {
        while !bytes.is_empty() {
            if self.zeros >= 2 {
                return Ok(()); // The end-of-archive blocks; anything after is padding.
            }
            if self.left > 0 {
                let n = self.left.min(bytes.len() as u64) as usize;
                if self.batch {
                    records.take(&bytes[..n])?;
                } else if let Some(name) = self.long_name.as_mut() {
                    name.extend_from_slice(&bytes[..n]);
                }
                self.left -= n as u64;
                self.offset += n as u64;
                bytes = &bytes[n..];
                if self.left == 0 {
                    self.end_entry(records)?;
                }
                continue;
            }
            if self.pad > 0 {
                let n = self.pad.min(bytes.len() as u64) as usize;
                self.pad -= n as u64;
                self.offset += n as u64;
                bytes = &bytes[n..];
                continue;
            }
            let n = (512 - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.header.len() == 512 {
                self.header_done(archive, records)?;
                self.offset += 512;
                self.header.clear();
            }
        }
        Ok(())
    }

    fn header_done(&mut self, archive: &str, records: &mut Records) -> Result<(), DataError> {
        if self.header.iter().all(|&b| b == 0) {
            self.zeros += 1;
            return Ok(());
        }
        self.zeros = 0;
        let header = tar::Header::from_byte_slice(&self.header);
        // The checksum: the header's bytes summed with its own checksum field read as spaces.
        let sum: u32 = self.header.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u32 }).sum();
        let size = header.entry_size();
        if header.cksum().ok() != Some(sum) || size.is_err() {
            return Err(shape_error(archive, msg!("err.tar_header", self.offset)));
        }
        let size = size.unwrap_or(0);
        let name = match self.next_name.take() {
            Some(long) => long,
            None => String::from_utf8_lossy(&header.path_bytes()).into_owned(),
        };
        let kind = header.entry_type();
        self.left = size;
        self.pad = (512 - size % 512) % 512;
        self.batch = false;
        if kind.is_gnu_longname() {
            if size > 4096 {
                return Err(shape_error(archive, msg!("err.tar_header", self.offset)));
            }
            self.long_name = Some(Vec::new());
        } else if kind.is_file() {
            self.batch = records.begin(&name, Some(size))?;
        }
        if size == 0 {
            self.end_entry(records)?;
        }
        Ok(())
    }

    fn end_entry(&mut self, records: &mut Records) -> Result<(), DataError> {
        if let Some(name) = self.long_name.take() {
            let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
            self.next_name = Some(String::from_utf8_lossy(name).into_owned());
        }
        if std::mem::take(&mut self.batch) {
            records.end()?;
        }
        Ok(())
    }
}

/// The bytes of one file after any gzip layer, and the records they give.
struct Sink {
    /// The file's name (errors, routing a bare batch file).
    name: String,
    contents: Contents,
    records: Records,
    /// Bytes after any gzip layer.
    inflated: u64,
    /// The first error, kept here because `flate2` passes only `io::Error` through.
    error: Option<DataError>,
}

impl Sink {
    fn feed(&mut self, bytes: &[u8]) -> Result<(), DataError> {
        self.inflated += bytes.len() as u64;
        if self.inflated > MAX_INFLATED {
            return Err(DataError::Gzip { file: self.name.clone(), reason: msg!("err.data_inflates", MAX_INFLATED >> 20) });
        }
        match &mut self.contents {
            Contents::Sniffing(head) => {
                head.extend_from_slice(bytes);
                if head.len() >= 512 {
                    let head = std::mem::take(head);
                    self.decide(&head, false)?;
                }
                Ok(())
            }
            Contents::Tar(tar) => tar.push(&self.name, &mut self.records, bytes),
            Contents::Batch => self.records.take(bytes),
        }
    }

    /// Tells a tar archive (`ustar` at byte 257) from a batch file, then reads `head`.
    fn decide(&mut self, head: &[u8], at_end: bool) -> Result<(), DataError> {
        if head.len() >= 262 && &head[257..262] == b"ustar" {
            let mut tar = TarReader::default();
            tar.push(&self.name, &mut self.records, head)?;
            self.contents = Contents::Tar(tar);
        } else if self.records.begin(&self.name, None)? {
            self.contents = Contents::Batch;
            self.records.take(head)?;
        } else if head.is_empty() && at_end {
            return Err(shape_error(&self.name, msg!("err.cifar_empty")));
        } else {
            return Err(shape_error(&self.name, msg!("err.cifar_not_archive")));
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), DataError> {
        if let Contents::Sniffing(head) = &mut self.contents {
            let head = std::mem::take(head);
            self.decide(&head, true)?;
        }
        match &self.contents {
            Contents::Tar(tar) if tar.left > 0 || !tar.header.is_empty() => {
                Err(shape_error(&self.name, msg!("err.tar_truncated", tar.offset + tar.header.len() as u64)))
            }
            _ => self.records.end(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.error.is_some() {
            return Err(std::io::Error::other("stopped"));
        }
        match self.feed(bytes) {
            Ok(()) => Ok(bytes.len()),
            Err(e) => {
                self.error = Some(e);
                Err(std::io::Error::other("stopped"))
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One file being read: through gzip or not, decided by its first two bytes.
enum Layer {
    Start(Sink),
    Gzip(GzDecoder<Sink>),
    Plain(Sink),
}

/// Reads CIFAR files pushed chunk by chunk: `.tar.gz`, `.tar`, `.bin` or `.bin.gz`, any number,
/// in any order. Errors name the file and what is wrong with it.
pub struct CifarReader {
    layer: Option<Layer>,
    records: Records,
    /// Archive bytes pushed so far, over all files.
    pub bytes_read: u64,
}

impl Default for CifarReader {
    fn default() -> Self {
        Self { layer: None, records: Records::default(), bytes_read: 0 }
    }
}

impl CifarReader {
    /// A reader with nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the file `name` (ends the previous one first).
    pub fn begin(&mut self, name: &str) -> Result<(), DataError> {
        self.end()?;
        let records = std::mem::take(&mut self.records);
        let sink = Sink { name: name.to_string(), contents: Contents::Sniffing(Vec::new()), records, inflated: 0, error: None };
        self.layer = Some(Layer::Start(sink));
        Ok(())
    }

    /// Takes the next bytes of the current file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), DataError> {
        self.bytes_read += chunk.len() as u64;
        let layer = self.layer.take().ok_or_else(|| shape_error("CIFAR", msg!("err.cifar_no_file")))?;
        let layer = match layer {
            Layer::Start(sink) if chunk.is_empty() => Layer::Start(sink),
            Layer::Start(sink) if chunk[0] == 0x1f && chunk.get(1).is_none_or(|&b| b == 0x8b) => Layer::Gzip(GzDecoder::new(sink)),
            Layer::Start(sink) => Layer::Plain(sink),
            other => other,
        };
        self.layer = Some(layer);
        match self.layer.as_mut() {
            Some(Layer::Gzip(gz)) => {
                if let Err(e) = gz.write_all(chunk) {
                    return Err(gzip_error(gz.get_mut(), e));
                }
                Ok(())
            }
            Some(Layer::Plain(sink)) => sink.feed(chunk),
            _ => Ok(()),
        }
    }

    /// Ends the current file: checks that nothing was cut short.
    pub fn end(&mut self) -> Result<(), DataError> {
        let mut sink = match self.layer.take() {
            None => return Ok(()),
            Some(Layer::Start(sink) | Layer::Plain(sink)) => sink,
            Some(Layer::Gzip(mut gz)) => {
                if let Err(e) = gz.try_finish() {
                    return Err(gzip_error(gz.get_mut(), e));
                }
                match gz.finish() {
                    Ok(sink) => sink,
                    Err(e) => return Err(DataError::Gzip { file: String::new(), reason: Message::verbatim(e.to_string()) }),
                }
            }
        };
        sink.end()?;
        self.records = std::mem::take(&mut sink.records);
        Ok(())
    }

    /// Ends the last file and gives the dataset: which CIFAR it is and its two splits.
    pub fn finish(mut self) -> Result<(DatasetKind, DataSplit), DataError> {
        self.end()?;
        let r = self.records;
        let Some(kind) = r.kind else { return Err(shape_error("CIFAR", msg!("err.cifar_no_batches"))) };
        let set = |(images, labels): (Vec<u8>, Vec<u8>)| Dataset { images, labels, channels: 3, rows: 32, cols: 32 };
        if r.train.1.is_empty() || r.test.1.is_empty() {
            let missing = if r.train.1.is_empty() { msg!("err.cifar_no_train") } else { msg!("err.cifar_no_test") };
            return Err(shape_error(kind.title(), missing));
        }
        Ok((kind, DataSplit { train: set(r.train), test: set(r.test) }))
    }
}

/// The sink's own error if it stopped the decoder, else the gzip error, naming the file.
fn gzip_error(sink: &mut Sink, e: std::io::Error) -> DataError {
    sink.error.take().unwrap_or_else(|| DataError::Gzip { file: sink.name.clone(), reason: Message::verbatim(e.to_string()) })
}

/// Reads whole files (name, bytes) in chunks of `chunk` bytes, as the browser and CLI do.
pub fn read_files(files: &[(&str, &[u8])], chunk: usize) -> Result<(DatasetKind, DataSplit), DataError> {
    let mut reader = CifarReader::new();
    for (name, bytes) in files {
        reader.begin(name)?;
        for part in bytes.chunks(chunk.max(1)) {
            reader.push(part)?;
        }
    }
    reader.finish()
}

#[cfg(test)]
mod tests;
