//! Smoothing of training curves as TensorBoard does it: an exponential moving average over the
//! points with a weight `w` in [0, 1), debiased so that the first points are not pulled towards 0
//! (the average starts at 0 and is divided by `1 − wⁿ`, the weight it has gathered). Non-finite
//! points (a diverged step) are skipped instead of poisoning the rest of the curve.

/// Largest smoothing weight the charts accept (0.999 would average over about 1,000 points).
pub const MAX_WEIGHT: f64 = 0.999;

/// The smoothed curve of `points` (`(x, y)` pairs) with weight `weight` (0 = the raw curve);
/// non-finite `y` keep the previous smoothed value.
pub fn smooth(points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
    let w = if weight.is_finite() { weight.clamp(0.0, MAX_WEIGHT) } else { 0.0 };
    let (mut avg, mut gathered) = (0.0f64, 0.0f64);
    let mut last = f64::NAN;
    points
        .iter()
        .map(|&(x, y)| {
            if y.is_finite() {
                avg = w * avg + (1.0 - w) * y;
                // 1 − wⁿ after n finite points, kept as a running product to avoid powi per point.
                gathered = w * gathered + (1.0 - w);
                last = avg / gathered;
            }
            (x, last)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ys(points: &[(f64, f64)]) -> Vec<f64> {
        points.iter().map(|p| p.1).collect()
    }

    #[test]
    fn a_constant_stays_constant_from_the_first_point() {
        let flat: Vec<(f64, f64)> = (0..50).map(|i| (i as f64, 2.5)).collect();
        for w in [0.0, 0.6, 0.9, 0.99] {
            assert!(ys(&smooth(&flat, w)).iter().all(|&y| (y - 2.5).abs() < 1e-12), "weight {w}");
        }
    }

    #[test]
    fn weight_zero_is_the_raw_curve_and_the_average_is_debiased() {
        let pts = [(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)];
        assert_eq!(smooth(&pts, 0.0), pts);
        // w = 0.5: averages 0.5, 1.75, 1.875 over weights 0.5, 0.75, 0.875.
        let s = ys(&smooth(&pts, 0.5));
        for (got, want) in s.iter().zip([1.0, 1.75 / 0.75, 1.875 / 0.875]) {
            assert!((got - want).abs() < 1e-12, "{s:?}");
        }
    }

    #[test]
    fn a_drop_is_followed_within_a_few_points_at_the_default_weight() {
        // A loss that falls from 2 to 0.2 at point 100: at weight 0.6 the smoothed curve is within
        // 0.02 of the new level 10 points later (the old charts' fixed 0.9 needed ~43).
        let pts: Vec<(f64, f64)> = (0..200).map(|i| (i as f64, if i < 100 { 2.0 } else { 0.2 })).collect();
        let s = ys(&smooth(&pts, 0.6));
        assert!((s[110] - 0.2).abs() < 0.02, "{}", s[110]);
        assert!((ys(&smooth(&pts, 0.9))[110] - 0.2).abs() > 0.5, "the fixed 0.9 lags");
        assert!(s[100] > 0.2 && s[100] < 2.0);
    }

    #[test]
    fn non_finite_points_are_skipped() {
        let pts = [(0.0, 1.0), (1.0, f64::NAN), (2.0, f64::INFINITY), (3.0, 1.0)];
        let s = ys(&smooth(&pts, 0.9));
        assert!(s.iter().all(|y| (y - 1.0).abs() < 1e-12), "{s:?}");
        assert!(ys(&smooth(&[(0.0, f64::NAN)], 0.5))[0].is_nan(), "nothing to show yet");
        assert_eq!(smooth(&pts, f64::NAN).len(), 4);
    }
}
