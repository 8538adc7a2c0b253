use super::*;
use crate::engine::data::synthetic::{cifar_archive, colour_shapes};

fn records(labels: &[u8], cifar100: bool) -> Vec<u8> {
    labels
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| {
            let mut r = if cifar100 { vec![l / 5, l] } else { vec![l] };
            r.extend((0..IMAGE_BYTES).map(|p| (p * 7 + i * 13) as u8));
            r
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, name, *data).unwrap();
    }
    t.into_inner().unwrap()
}

fn error(files: &[(&str, &[u8])]) -> String {
    read_files(files, 1000).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn archive_decodes_bit_exact_whatever_the_chunk_size() {
    let archive = cifar_archive(false, 50, 20, 7);
    let (train, test) = (colour_shapes(50, 32, 7), colour_shapes(20, 32, 8));
    for chunk in [1, 511, 4096, 1 << 20] {
        let (kind, split) = read_files(&[("cifar-10-binary.tar.gz", &archive)], chunk).unwrap();
        assert_eq!(kind, DatasetKind::Cifar10);
        assert_eq!(split.train, train, "chunk {chunk}");
        assert_eq!(split.test, test, "chunk {chunk}");
    }
}

#[test]
fn cifar100_uses_the_fine_label() {
    let archive = cifar_archive(true, 12, 6, 3);
    let (kind, split) = read_files(&[("cifar-100-binary.tar.gz", &archive)], 999).unwrap();
    assert_eq!(kind, DatasetKind::Cifar100);
    let expected: Vec<u8> = colour_shapes(12, 32, 3).labels.iter().map(|l| l * 10).collect();
    assert_eq!(split.train.labels, expected);
    assert_eq!((split.train.len(), split.test.len(), split.test.channels), (12, 6, 3));
}

#[test]
fn batch_files_plain_tarred_or_gzipped_are_read() {
    let labels: Vec<u8> = (0..10).collect();
    let train = records(&labels, false);
    let test = records(&[3, 4], false);
    let from_bins = read_files(&[("data_batch_1.bin", &train), ("test_batch.bin", &test)], 3000).unwrap().1;
    assert_eq!(from_bins.train.labels, labels);
    assert_eq!(from_bins.train.images[..5], [0, 7, 14, 21, 28]);
    let tarred = tar(&[("x/data_batch_1.bin", &train), ("x/readme.html", b"<p>hi</p>"), ("x/test_batch.bin", &test)]);
    assert_eq!(read_files(&[("cifar.tar", &tarred)], 700).unwrap().1, from_bins);
    let gz_bins = [("data_batch_1.bin.gz", gzip(&train)), ("test_batch.bin.gz", gzip(&test))];
    let gz_bins: Vec<(&str, &[u8])> = gz_bins.iter().map(|(n, b)| (*n, &b[..])).collect();
    assert_eq!(read_files(&gz_bins, 100).unwrap().1, from_bins);
}

#[test]
fn long_names_in_gnu_archives_route_the_file() {
    let deep = format!("{}/data_batch_2.bin", "d".repeat(120));
    let train = records(&[1, 2], false);
    let test = records(&[0], false);
    let archive = tar(&[(&deep, &train), ("test_batch.bin", &test)]);
    let split = read_files(&[("long.tar", &archive)], 64).unwrap().1;
    assert_eq!(split.train.labels, [1, 2]);
}

#[test]
fn refusals_name_the_file_and_what_is_wrong() {
    let train = records(&[0, 1], false);
    let test = records(&[2], false);
    // Not gzip, not tar, not a batch file.
    assert_eq!(error(&[("photo.tar.gz", b"GIF89a and more bytes")]), "photo.tar.gz: not a CIFAR archive (.tar.gz or .tar) nor a batch file (data_batch_1.bin … data_batch_5.bin, test_batch.bin; train.bin, test.bin)");
    // Wrong record size (tar gives the size up front).
    let bad = tar(&[("data_batch_1.bin", &train[..3073 + 100]), ("test_batch.bin", &test)]);
    assert_eq!(error(&[("c.tar", &bad)]), "data_batch_1.bin: 3173 bytes is not a whole number of 3073-byte CIFAR-10 records");
    // A bare batch file cut inside a record.
    assert_eq!(error(&[("data_batch_1.bin", &train[..5000])]), "data_batch_1.bin: ends 1927 bytes into a 3073-byte record (after 1 whole records)");
    // Label out of range.
    let mut wrong = train.clone();
    wrong[3073] = 12;
    assert_eq!(error(&[("data_batch_1.bin", &wrong)]), "data_batch_1.bin: label 12 of record 1 is not below 10");
    // Truncated archive: cut in the middle of the gzip stream.
    let archive = cifar_archive(false, 10, 5, 1);
    let cut = error(&[("cifar-10-binary.tar.gz", &archive[..archive.len() / 2])]);
    assert!(cut.starts_with("cifar-10-binary.tar.gz: corrupt gzip data") || cut.contains("ends inside"), "{cut}");
    // Truncated tar (no gzip): cut inside an entry.
    let plain = tar(&[("data_batch_1.bin", &train), ("test_batch.bin", &test)]);
    assert_eq!(error(&[("c.tar", &plain[..2000])]), "c.tar: the archive ends inside an entry, at byte 2000");
    // Corrupt gzip.
    let mut corrupt = archive.clone();
    corrupt[40] ^= 0xff;
    corrupt[41] ^= 0xff;
    assert!(error(&[("c.tar.gz", &corrupt)]).starts_with("c.tar.gz: "), "named");
    // A bad tar header checksum.
    let mut broken = plain.clone();
    broken[100] ^= 1;
    assert_eq!(error(&[("c.tar", &broken)]), "c.tar: damaged tar header at byte 0");
    // Both kinds mixed, or a split missing.
    assert_eq!(error(&[("data_batch_1.bin", &train), ("test.bin", &records(&[1], true))]), "test.bin: holds CIFAR-100 records, but CIFAR-10 files came before");
    assert_eq!(error(&[("data_batch_1.bin", &train)]), "CIFAR-10: no test images were found (test_batch.bin or test.bin)");
    assert_eq!(error(&[("readme.tar", &tar(&[("readme.html", b"hi")]))]), "CIFAR: no batch files were found (data_batch_1.bin … test_batch.bin, or train.bin and test.bin)");
}
