//! Thread warm-up: every pool thread grows its per-thread buffers before the first step.

use super::*;

impl Trainer {
    /// Grows the per-thread buffers (im2col's padded planes, GEMM panels, augmentation
    /// workspace) of every thread in the current pool to what a training step needs, by running
    /// one chunk and one augmentation on each thread. Which thread runs which chunk of a step
    /// depends on scheduling (on a busy machine one thread may do all the work for a while), so
    /// without this a thread meeting a layer for the first time would allocate mid-training.
    /// The network is only read, and the chunk workspaces it borrows are cleared by every step,
    /// so results are untouched and no memory is added.
    pub fn prepare_threads(&mut self) {
        if self.threads_prepared || !self.parallel {
            return;
        }
        let (net, loss, spec) = (&self.network, &self.loss, &self.spec);
        let shape = self.network.input;
        // Threads beyond the chunk count take turns with a workspace.
        let slots: Vec<std::sync::Mutex<&mut Workspace>> = self.workspaces.iter_mut().map(std::sync::Mutex::new).collect();
        let x = vec![0.0; CHUNK * net.input.len()];
        let labels = vec![0; CHUNK];
        rayon::broadcast(|ctx| {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            {
                let mut ws = slots[ctx.index() % slots.len()].lock().unwrap_or_else(|p| p.into_inner());
                let mut pass = Pass { train: true, backward: true, rng: &mut rng };
                net.train_chunk(&x, &labels, loss, 1.0, &mut ws, &mut pass);
            }
            if spec.training.augment.enabled() {
                let mut img = vec![0.0; shape.len()];
                crate::engine::augment::augment(&spec.training.augment, &mut img, shape, &mut rng);
            }
        });
        self.threads_prepared = true;
    }
}
