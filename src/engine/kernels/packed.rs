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
/// zero past `oc` channels and `n` pixels. Same floats as [`pack_channels_ref`]; with wasm
/// SIMD128, whole panels are transposed four pixels at a time (the scalar gather cost about as
/// much as conv1's bias gradient did).
pub fn pack_channels(oc: usize, n: usize, dy: &[f32], out: &mut [f32]) {
    let pixels = n.div_ceil(NR) * NR;
    for (jo, panel) in out[..channel_panels_len(oc, n)].chunks_exact_mut(pixels * NR).enumerate() {
        // Pixels the SIMD transposes wrote (whole panels only); the scalar loop does the rest.
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let first = if (jo + 1) * NR <= oc { simd::pack_whole_panel(n, &dy[jo * NR * n..(jo + 1) * NR * n], panel) } else { 0 };
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        let first = 0;
        pack_panel(jo, oc, n, dy, panel, first);
    }
}

/// Scalar reference of [`pack_channels`].
pub fn pack_channels_ref(oc: usize, n: usize, dy: &[f32], out: &mut [f32]) {
    let pixels = n.div_ceil(NR) * NR;
    for (jo, panel) in out[..channel_panels_len(oc, n)].chunks_exact_mut(pixels * NR).enumerate() {
        pack_panel(jo, oc, n, dy, panel, 0);
    }
}

/// Panel `jo` of [`pack_channels`] from pixel `first` on, one float at a time.
#[inline(always)]
fn pack_panel(jo: usize, oc: usize, n: usize, dy: &[f32], panel: &mut [f32], first: usize) {
    for (i, slot) in panel[first * NR..].chunks_exact_mut(NR).enumerate() {
        let p = first + i;
        for (t, v) in slot.iter_mut().enumerate() {
            let o = jo * NR + t;
            *v = if o < oc && p < n { dy[o * n + p] } else { 0.0 };
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::NR;
    use core::arch::wasm32::*;

    /// The first `4·⌊n/4⌋` pixels of one panel of NR whole channels (`rows`: NR × n) into
    /// `panel` (`[pixel][NR]`): four pixels of four channels are one 4×4 transpose. Returns how
    /// many pixels it wrote (the rest and the padding are the scalar loop's).
    pub(super) fn pack_whole_panel(n: usize, rows: &[f32], panel: &mut [f32]) -> usize {
        assert!(rows.len() >= NR * n && panel.len() >= n * NR);
        let quads = n / 4;
        for q in 0..quads {
            for half in 0..NR / 4 {
                // SAFETY: channel half·4 + t, pixels 4q..4q+4 < n: inside rows (asserted);
                // stores at pixel 4q + j < n, lanes half·4..+4: inside panel.
                unsafe {
                    let at = |t: usize| v128_load(rows.as_ptr().add((half * 4 + t) * n + 4 * q) as *const v128);
                    let (a0, a1, a2, a3) = (at(0), at(1), at(2), at(3));
                    let (t0, t1) = (i32x4_shuffle::<0, 4, 1, 5>(a0, a1), i32x4_shuffle::<2, 6, 3, 7>(a0, a1));
                    let (t2, t3) = (i32x4_shuffle::<0, 4, 1, 5>(a2, a3), i32x4_shuffle::<2, 6, 3, 7>(a2, a3));
                    let pixels = [
                        i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
                        i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
                        i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
                        i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
                    ];
                    for (j, v) in pixels.into_iter().enumerate() {
                        v128_store(panel.as_mut_ptr().add((4 * q + j) * NR + half * 4) as *mut v128, v);
                    }
                }
            }
        }
        4 * quads
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
