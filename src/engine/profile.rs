//! Per-layer timing hooks. The engine has no clock of its own (wasm32 has no `Instant`), so the
//! host passes a [`Profiler`] that reads its clock; [`NoProfiler`] compiles to nothing.

/// Which pass of a layer is being timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Forward pass.
    Forward,
    /// Backward pass (input and parameter gradients).
    Backward,
}

/// Receives a call before and after every layer pass.
pub trait Profiler {
    /// Layer `layer` starts `phase`.
    fn enter(&mut self, _layer: usize, _phase: Phase) {}
    /// Layer `layer` finished `phase`.
    fn exit(&mut self, _layer: usize, _phase: Phase) {}
}

/// A profiler that records nothing.
pub struct NoProfiler;

impl Profiler for NoProfiler {}

/// Accumulates time per layer and phase from a host clock (milliseconds).
pub struct LayerTimer<C: Fn() -> f64> {
    clock: C,
    started: f64,
    /// Total forward milliseconds per layer.
    pub forward_ms: Vec<f64>,
    /// Total backward milliseconds per layer.
    pub backward_ms: Vec<f64>,
}

impl<C: Fn() -> f64> LayerTimer<C> {
    /// A timer for `layers` layers reading `clock`.
    pub fn new(layers: usize, clock: C) -> Self {
        Self { clock, started: 0.0, forward_ms: vec![0.0; layers], backward_ms: vec![0.0; layers] }
    }
}

impl<C: Fn() -> f64> Profiler for LayerTimer<C> {
    fn enter(&mut self, _layer: usize, _phase: Phase) {
        self.started = (self.clock)();
    }

    fn exit(&mut self, layer: usize, phase: Phase) {
        let dt = (self.clock)() - self.started;
        match phase {
            Phase::Forward => self.forward_ms[layer] += dt,
            Phase::Backward => self.backward_ms[layer] += dt,
        }
    }
}
