//! Parallel inference over a dataset in a fixed number of lanes, so that the memory it takes
//! does not grow with the thread count (a browser may report 32 cores) and the memory budget of
//! `spec::memory` can count it.

use rayon::prelude::*;

/// Most lanes (each with its own workspace) an inference pass runs at once.
pub const LANES: usize = 4;

/// `f(state, item)` for every item in order; with `parallel`, the items are cut into at most
/// [`LANES`] contiguous runs that run at once, each with one `init()` state. The results are
/// those of the sequential loop, in the same order, whatever the thread count.
pub fn map_in_lanes<S, T: Send>(items: &[usize], parallel: bool, init: impl Fn() -> S + Sync, f: impl Fn(&mut S, usize) -> T + Sync) -> Vec<T> {
    if !parallel || items.len() < 2 {
        let mut state = init();
        return items.iter().map(|&i| f(&mut state, i)).collect();
    }
    let per_lane = items.len().div_ceil(LANES);
    let lanes: Vec<Vec<T>> = items
        .par_chunks(per_lane)
        .map(|run| {
            let mut state = init();
            run.iter().map(|&i| f(&mut state, i)).collect()
        })
        .collect();
    lanes.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_in_order_with_at_most_four_states() {
        let items: Vec<usize> = (0..103).collect();
        let states = AtomicUsize::new(0);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build().unwrap();
        let out = pool.install(|| {
            map_in_lanes(&items, true, || states.fetch_add(1, Ordering::SeqCst), |_, i| i * 2)
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(states.load(Ordering::SeqCst) <= LANES);
        assert_eq!(map_in_lanes(&items[..1], true, || 0, |_, i| i), [0]);
        assert_eq!(map_in_lanes(&[], true, || 0, |_, i: usize| i), Vec::<usize>::new());
    }
}
