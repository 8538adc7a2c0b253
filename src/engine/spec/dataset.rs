//! Which data a spec trains on: the bundled greyscale sets, CIFAR-10/100 from the user's own
//! archive, or the user's own images. The input shape and the classes come from here.

use super::SpecError;
use crate::engine::shape::Shape;
use crate::engine::class_names::{CIFAR10, CIFAR100, DIGITS, FASHION};
use crate::msg;
use serde::{Deserialize, Serialize};

/// Which dataset to train on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits (LeCun et al.), 60k train / 10k test, bundled.
    #[default]
    Mnist,
    /// Zalando clothing images, same format as MNIST, bundled.
    FashionMnist,
    /// CIFAR-10 (Krizhevsky 2009), 32×32 colour, 10 classes, from the user's binary archive.
    #[serde(rename = "cifar-10")]
    Cifar10,
    /// CIFAR-100 with its 100 fine labels, from the user's binary archive.
    #[serde(rename = "cifar-100")]
    Cifar100,
    /// The user's own images: shape and class names in [`ImageSet`].
    Images,
}

/// Smallest and largest side of the user's own images.
pub const IMAGE_SIDES: (usize, usize) = (8, 64);
/// Fewest and most classes a dataset may have.
pub const CLASS_COUNT: (usize, usize) = (2, 100);
/// Longest class name, in characters.
pub const CLASS_NAME_CHARS: usize = 32;

/// The shape and classes of the user's own images (`dataset: images`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSet {
    /// 1 (greyscale) or 3 (RGB).
    pub channels: usize,
    /// Images are resized to `side × side`.
    pub side: usize,
    /// Class names in label order (from the folder names).
    pub classes: Vec<String>,
}

impl DatasetKind {
    /// Every kind, in menu order.
    pub const ALL: [DatasetKind; 5] = [Self::Mnist, Self::FashionMnist, Self::Cifar10, Self::Cifar100, Self::Images];

    /// The dataset's usual name.
    pub const fn title(self) -> &'static str {
        match self {
            Self::Mnist => "MNIST",
            Self::FashionMnist => "Fashion-MNIST",
            Self::Cifar10 => "CIFAR-10",
            Self::Cifar100 => "CIFAR-100",
            Self::Images => "images",
        }
    }

    /// The word used in specs, URLs and the CLI (`mnist`, `cifar-10`, …).
    pub fn word(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// Bundled with the app (downloaded from the app's own `data/` folder).
    pub const fn bundled(self) -> bool {
        matches!(self, Self::Mnist | Self::FashionMnist)
    }

    /// Folder name of the bundled assets.
    pub const fn asset_dir(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Cifar10 => "cifar-10",
            Self::Cifar100 => "cifar-100",
            Self::Images => "images",
        }
    }

    /// Per-sample input shape of a built-in dataset (`None` for the user's images).
    pub const fn fixed_shape(self) -> Option<Shape> {
        match self {
            Self::Mnist | Self::FashionMnist => Some(Shape::new(1, 28, 28)),
            Self::Cifar10 | Self::Cifar100 => Some(Shape::new(3, 32, 32)),
            Self::Images => None,
        }
    }

    /// Class names of a built-in dataset (`None` for the user's images).
    pub const fn fixed_classes(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Mnist => Some(&DIGITS),
            Self::FashionMnist => Some(&FASHION),
            Self::Cifar10 => Some(&CIFAR10),
            Self::Cifar100 => Some(&CIFAR100),
            Self::Images => None,
        }
    }
}

/// True for a class name the spec accepts: 1–32 characters of letters, digits, space, `_-./`.
pub fn valid_class_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=CLASS_NAME_CHARS).contains(&n)
        && name.trim() == name
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '/'))
}

impl ImageSet {
    /// Checks ranges; errors name the field (`images.<field>`).
    pub fn check(&self) -> Result<(), SpecError> {
        if !matches!(self.channels, 1 | 3) {
            return Err(SpecError::top("images.channels", msg!("err.in_range", "{1, 3}", self.channels)));
        }
        let (lo, hi) = IMAGE_SIDES;
        if !(lo..=hi).contains(&self.side) {
            return Err(SpecError::top("images.side", msg!("err.in_range", format!("[{}, {}]", lo, hi), self.side)));
        }
        let (lo, hi) = CLASS_COUNT;
        if !(lo..=hi).contains(&self.classes.len()) {
            return Err(SpecError::top("images.classes", msg!("err.class_count", lo, hi, self.classes.len())));
        }
        if let Some(bad) = self.classes.iter().find(|c| !valid_class_name(c)) {
            return Err(SpecError::top("images.classes", msg!("err.class_name", bad.chars().take(40).collect::<String>(), CLASS_NAME_CHARS)));
        }
        for (i, c) in self.classes.iter().enumerate() {
            if self.classes[..i].contains(c) {
                return Err(SpecError::top("images.classes", msg!("err.class_repeated", c)));
            }
        }
        Ok(())
    }
}

impl super::Spec {
    /// Checks that the dataset fields agree: `images` is given exactly when `dataset` is `images`.
    pub fn check_dataset(&self) -> Result<(), SpecError> {
        match (&self.images, self.dataset) {
            (Some(set), DatasetKind::Images) => set.check(),
            (None, DatasetKind::Images) => Err(SpecError::top("images", msg!("err.images_missing"))),
            (Some(_), kind) => Err(SpecError::top("images", msg!("err.images_unused", kind.word()))),
            (None, _) => Ok(()),
        }
    }

    /// Moves the spec to another dataset; a last linear layer that gave one score per class
    /// of the old dataset gives one per class of the new one.
    pub fn switch_dataset(&mut self, kind: DatasetKind, images: Option<ImageSet>) {
        let old = self.classes();
        self.dataset = kind;
        self.images = if kind == DatasetKind::Images { images } else { None };
        let new = self.classes();
        if let Some(super::LayerSpec::Linear { out_features, .. }) = self.layers.last_mut() {
            if *out_features == old {
                *out_features = new;
            }
        }
    }

    /// Per-sample input shape (C×H×W). A spec whose `images` is missing gets MNIST's shape;
    /// [`Spec::check_dataset`] reports it.
    pub fn input_shape(&self) -> Shape {
        match (self.dataset.fixed_shape(), &self.images) {
            (Some(shape), _) => shape,
            (None, Some(set)) => Shape::new(set.channels, set.side, set.side),
            (None, None) => Shape::new(1, 28, 28),
        }
    }

    /// Class names in label order. A spec whose `images` is missing gets MNIST's digits; [`Spec::check_dataset`] reports it.
    pub fn class_names(&self) -> Vec<String> {
        match (self.dataset.fixed_classes(), &self.images) {
            (Some(names), _) => names.iter().map(|s| s.to_string()).collect(),
            (None, Some(set)) => set.classes.clone(),
            (None, None) => DIGITS.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Number of classes (the last layer's width), from the same lists as [`Spec::class_names`].
    pub fn classes(&self) -> usize {
        match (self.dataset.fixed_classes(), &self.images) {
            (Some(names), _) => names.len(),
            (None, Some(set)) => set.classes.len(),
            (None, None) => DIGITS.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::Spec;

    fn images(channels: usize, side: usize, classes: &[&str]) -> ImageSet {
        ImageSet { channels, side, classes: classes.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn shapes_and_classes_follow_the_dataset() {
        let mut spec = Spec { dataset: DatasetKind::Cifar100, ..Spec::default() };
        assert_eq!(spec.input_shape(), Shape::new(3, 32, 32));
        assert_eq!((spec.classes(), spec.class_names().len()), (100, 100));
        assert_eq!(spec.class_names()[99], "worm");
        spec.dataset = DatasetKind::FashionMnist;
        assert_eq!((spec.input_shape(), spec.class_names()[9].as_str()), (Shape::new(1, 28, 28), "Ankle boot"));
        spec.dataset = DatasetKind::Images;
        spec.images = Some(images(3, 48, &["cat", "dog", "ship"]));
        assert_eq!((spec.input_shape(), spec.classes()), (Shape::new(3, 48, 48), 3));
        assert_eq!(DatasetKind::Cifar10.word(), "cifar-10");
        assert_eq!(serde_json::from_str::<DatasetKind>("\"cifar-100\"").unwrap(), DatasetKind::Cifar100);
    }

    #[test]
    fn switching_datasets_resizes_the_class_scores() {
        let mut spec = Spec::default();
        spec.switch_dataset(DatasetKind::Cifar100, None);
        assert_eq!(spec.layers.last(), Some(&crate::engine::spec::LayerSpec::linear(100)));
        assert!(spec.infer().is_ok());
        spec.switch_dataset(DatasetKind::Images, Some(images(1, 16, &["a", "b"])));
        assert_eq!((spec.layers.last(), spec.input_shape()), (Some(&crate::engine::spec::LayerSpec::linear(2)), Shape::new(1, 16, 16)));
        assert!(spec.infer().is_ok(), "{:?}", spec.infer());
        spec.switch_dataset(DatasetKind::Mnist, Some(images(1, 16, &["a", "b"])));
        assert_eq!((spec.images.as_ref(), spec.classes()), (None, 10));
    }

    #[test]
    fn image_sets_out_of_range_are_named() {
        let err = |set: ImageSet| {
            let spec = Spec { dataset: DatasetKind::Images, images: Some(set), ..Spec::default() };
            let e = spec.check_dataset().unwrap_err();
            format!("{}: {}", e.field, e.message)
        };
        assert_eq!(err(images(2, 32, &["a", "b"])), "images.channels: must be in {1, 3}, not 2");
        assert_eq!(err(images(3, 65, &["a", "b"])), "images.side: must be in [8, 64], not 65");
        assert_eq!(err(images(3, 32, &["a"])), "images.classes: 2 to 100 classes are needed, not 1");
        assert!(err(images(3, 32, &["a", "b&c"])).starts_with("images.classes: class name \"b&c\""));
        assert_eq!(err(images(3, 32, &["a", "a"])), "images.classes: class \"a\" is given twice");
        let missing = Spec { dataset: DatasetKind::Images, ..Spec::default() }.check_dataset().unwrap_err();
        assert_eq!(missing.field, "images");
        let unused = Spec { images: Some(images(3, 32, &["a", "b"])), ..Spec::default() }.check_dataset().unwrap_err();
        assert_eq!(unused.message.to_string(), "only used with the dataset `images`, not `mnist`");
    }
}
