//! Image classification datasets (MNIST-style) decoded from IDX files.

pub mod cifar;
pub mod folders;
pub mod idx;
pub mod synthetic;

pub use idx::{decode_idx, DataError};

/// The four files of an MNIST-style dataset as bundled under `static/data/<dataset>/`.
pub const FILES: [&str; 4] =
    ["train-images.idx.gz", "train-labels.idx.gz", "test-images.idx.gz", "test-labels.idx.gz"];

/// Labelled images, stored as bytes to keep memory small (60k MNIST images = 47 MB, 50k
/// CIFAR-10 images = 154 MB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// `len × channels × rows × cols` values, 0–255, channel planes in order (CHW, as CIFAR).
    pub images: Vec<u8>,
    /// One class index per image.
    pub labels: Vec<u8>,
    /// 1 (greyscale) or 3 (RGB).
    pub channels: usize,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
}

impl Dataset {
    /// Pairs an IDX image file with an IDX label file, checking shapes and label range.
    pub fn from_idx(
        images_name: &str,
        images: &[u8],
        labels_name: &str,
        labels: &[u8],
        classes: usize,
    ) -> Result<Self, DataError> {
        let img = decode_idx(images_name, images)?;
        let lab = decode_idx(labels_name, labels)?;
        let shape_err = |file: &str, reason: crate::i18n::Message| DataError::Shape { file: file.into(), reason };
        let [n, rows, cols] = img.dims[..] else {
            return Err(shape_err(images_name, crate::msg!("err.data_image_dims", format!("{:?}", img.dims))));
        };
        if lab.dims.len() != 1 {
            return Err(shape_err(labels_name, crate::msg!("err.data_label_dims", format!("{:?}", lab.dims))));
        }
        if lab.dims[0] != n {
            return Err(shape_err(labels_name, crate::msg!("err.data_label_count", lab.dims[0], n, images_name)));
        }
        if let Some(pos) = lab.data.iter().position(|&l| l as usize >= classes) {
            return Err(shape_err(labels_name, crate::msg!("err.data_label_range", lab.data[pos], pos, classes)));
        }
        Ok(Self { images: img.data, labels: lab.data, channels: 1, rows, cols })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image (channels × rows × cols).
    pub fn pixels(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// Per-image shape.
    pub fn shape(&self) -> crate::engine::shape::Shape {
        crate::engine::shape::Shape::new(self.channels, self.rows, self.cols)
    }

    /// Writes image `i` scaled to [0, 1] into `out`.
    pub fn image_f32(&self, i: usize, out: &mut [f32]) {
        let px = self.pixels();
        for (o, &p) in out[..px].iter_mut().zip(&self.images[i * px..(i + 1) * px]) {
            *o = p as f32 * (1.0 / 255.0);
        }
    }
}

/// A training set and a test set kept apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSplit {
    /// Images used for training.
    pub train: Dataset,
    /// Held-out images for evaluation.
    pub test: Dataset,
}

impl DataSplit {
    /// Decodes the four files, given in [`FILES`] order.
    pub fn from_files(files: [&[u8]; 4], classes: usize) -> Result<Self, DataError> {
        Ok(Self {
            train: Dataset::from_idx(FILES[0], files[0], FILES[1], files[1], classes)?,
            test: Dataset::from_idx(FILES[2], files[2], FILES[3], files[3], classes)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::idx::encode_idx as idx;
    use super::*;

    #[test]
    fn pairs_images_with_labels() {
        let d = Dataset::from_idx("i", &idx(&[2, 1, 2], &[0, 255, 51, 0]), "l", &idx(&[2], &[3, 9]), 10).unwrap();
        assert_eq!(d.len(), 2);
        let mut px = [0.0; 2];
        d.image_f32(1, &mut px);
        assert!((px[0] - 0.2).abs() < 1e-6 && px[1] == 0.0, "{px:?}");
    }

    #[test]
    fn count_mismatch_and_bad_label_are_named() {
        let img = idx(&[2, 1, 1], &[0, 0]);
        let e = Dataset::from_idx("imgs", &img, "labs", &idx(&[3], &[0, 1, 2]), 10).unwrap_err();
        assert_eq!(e.to_string(), "labs: has 3 labels for 2 images in imgs");
        let e = Dataset::from_idx("imgs", &img, "labs", &idx(&[2], &[0, 12]), 10).unwrap_err();
        assert_eq!(e.to_string(), "labs: label 12 at index 1 is not below 10");
        let e = Dataset::from_idx("imgs", &idx(&[2], &[0, 0]), "labs", &idx(&[2], &[0, 1]), 10).unwrap_err();
        assert!(e.to_string().starts_with("imgs: expected 3 dimensions"));
    }
}
