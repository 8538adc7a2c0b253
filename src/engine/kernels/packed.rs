//! Packed operand layouts for the convolution kernels (`implicit.rs`): the weights in row tiles
//! `[tile][k][MR]` ([`pack_a`]), so the four values a tile broadcasts per k step are adjacent,
//! and dY in channel panels `[panel][pixel][NR]` ([`pack_channels`]), so the eight output
//! channels of a tile are one pair of vectors per pixel. Every load of the inner loops is then
//! one pointer plus a constant offset, which is what V8 compiles best: a kernel keeping four
//! row pointers and their strides live runs out of registers and spills its loop counter (seen
//! in V8's x64 code).

/// Rows of a register tile (A values broadcast one at a time).
pub const MR: usize = 4;
/// Columns of a register tile: two 4-lane vectors. 4×8 keeps eight accumulators, two B vectors
/// and a broadcast in registers, within the 16 vector registers V8 and x86-64 give us.
pub const NR: usize = 8;

/// Floats of `m × k` packed into row tiles.
pub const fn packed_a_len(m: usize, k: usize) -> usize {
    m.div_ceil(MR) * MR * k
}

/// Packs A (`m × k`, row `i` at `a[i·lda..]`) into row tiles `[tile][k][MR]`; rows past `m` are
/// zero.
pub fn pack_a(m: usize, k: usize, a: &[f32], lda: usize, out: &mut [f32]) {
    for (tile, block) in out[..packed_a_len(m, k)].chunks_exact_mut(MR * k).enumerate() {
        for (p, slot) in block.chunks_exact_mut(MR).enumerate() {
            for (r, v) in slot.iter_mut().enumerate() {
                let i = tile * MR + r;
                *v = if i < m { a[i * lda + p] } else { 0.0 };
            }
        }
    }
}

/// Floats of dY for `oc` channels over `n` pixels in channel panels `[panel][pixel][NR]`
/// (pixels rounded up to a multiple of NR).
pub const fn channel_panels_len(oc: usize, n: usize) -> usize {
    oc.div_ceil(NR) * n.div_ceil(NR) * NR * NR
}

/// Writes dY (`oc × n`, one channel after another) as channel panels `[panel][pixel][NR]`,
/// zero past `oc` channels and `n` pixels.
pub fn pack_channels(oc: usize, n: usize, dy: &[f32], out: &mut [f32]) {
    let pixels = n.div_ceil(NR) * NR;
    for (jo, panel) in out[..channel_panels_len(oc, n)].chunks_exact_mut(pixels * NR).enumerate() {
        for (p, slot) in panel.chunks_exact_mut(NR).enumerate() {
            for (t, v) in slot.iter_mut().enumerate() {
                let o = jo * NR + t;
                *v = if o < oc && p < n { dy[o * n + p] } else { 0.0 };
            }
        }
    }
}

/// How a forward kernel starts each output element.
#[derive(Clone, Copy, Debug)]
pub enum Start<'a> {
    /// From zero (the output is overwritten).
    Zero,
    /// From `bias[row]` (the output is overwritten).
    Bias(&'a [f32]),
}
