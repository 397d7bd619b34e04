//! The octet pairs that decide how message data is unstuffed: `CR LF` ends a line, and
//! `LF "."` starts a line that is stuffed or ends the data (RFC 5321 §4.5.2).
//!
//! [`scan`] reads a run of input once for both. With the `simd` feature on an x86-64 CPU with
//! AVX2 it compares 32 pairs an instruction (runtime dispatch through `pulp`, which keeps
//! this crate free of `unsafe`); otherwise two passes that compilers vectorize for the
//! baseline target do the same.

use memchr::memmem;

/// What [`scan`] found in the pairs `(input[k], input[k + 1])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineEnds {
    /// The first `k` with `input[k]` LF and `input[k + 1]` `.`.
    pub(crate) dot_line: Option<usize>,
    /// Before `dot_line` (or anywhere, without one), a CR not followed by LF or an LF not
    /// preceded by CR: some pair with exactly one of `input[k] == CR`, `input[k + 1] == LF`.
    pub(crate) irregular: bool,
}

/// Scans every pair of adjacent octets of `input` up to the first `LF "."`.
pub(crate) fn scan(input: &[u8]) -> LineEnds {
    #[cfg(all(feature = "simd", target_arch = "x86_64"))]
    if let Some(simd) = *avx2::AVX2 {
        return avx2::scan(simd, input);
    }
    portable(input)
}

/// [`scan`] without vector instructions beyond the target's baseline.
pub(crate) fn portable(input: &[u8]) -> LineEnds {
    static DOT_LINE: std::sync::LazyLock<memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memmem::Finder::new(b"\n."));
    let Some(next) = input.get(1..) else {
        return tail(input, 0, false);
    };
    let dot_line = DOT_LINE.find(input);
    let pairs = dot_line.unwrap_or(next.len());
    // An OR-reduction without early exit, so that it vectorizes.
    let mut irregular = 0u8;
    for (a, b) in input[..pairs].iter().zip(next) {
        irregular |= u8::from(*a == b'\r') ^ u8::from(*b == b'\n');
    }
    LineEnds {
        dot_line,
        irregular: irregular != 0,
    }
}

/// The pairs from `k` on, one at a time: the tail after the vector blocks.
fn tail(input: &[u8], k: usize, mut irregular: bool) -> LineEnds {
    let mut dot_line = None;
    for (at, pair) in input.windows(2).enumerate().skip(k) {
        if pair == b"\n." {
            dot_line = Some(at);
            break;
        }
        irregular |= (pair[0] == b'\r') != (pair[1] == b'\n');
    }
    LineEnds {
        dot_line,
        irregular,
    }
}

#[cfg(all(feature = "simd", target_arch = "x86_64"))]
mod avx2 {
    use std::arch::x86_64::__m256i;

    use pulp::x86::V3;

    use super::LineEnds;

    /// AVX2 and the rest of x86-64-v3, when this CPU has them.
    pub(super) static AVX2: std::sync::LazyLock<Option<V3>> = std::sync::LazyLock::new(V3::try_new);

    pub(super) fn scan(simd: V3, input: &[u8]) -> LineEnds {
        struct Scan<'a>(V3, &'a [u8]);
        impl pulp::NullaryFnOnce for Scan<'_> {
            type Output = LineEnds;
            // Inlined into the function that `vectorize` compiles for AVX2, or it is no AVX2.
            #[allow(clippy::inline_always)]
            #[inline(always)]
            fn call(self) -> LineEnds {
                blocks(self.0, self.1)
            }
        }
        simd.vectorize(Scan(simd, input))
    }

    /// 32 pairs a round: the octets at `k..k + 32` against those at `k + 1..k + 33`.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn blocks(simd: V3, input: &[u8]) -> LineEnds {
        let (avx, avx2) = (simd.avx, simd.avx2);
        let splat = |b: u8| avx._mm256_set1_epi8(i8::from_ne_bytes([b]));
        let bits = |v| u32::from_ne_bytes(avx2._mm256_movemask_epi8(v).to_ne_bytes());
        let (cr, lf, dot) = (splat(b'\r'), splat(b'\n'), splat(b'.'));
        let Some(next) = input.get(1..) else {
            return super::tail(input, 0, false);
        };
        let mut irregular = avx._mm256_setzero_si256();
        let mut k = 0;
        for (a, b) in input.chunks_exact(32).zip(next.chunks_exact(32)) {
            let (Ok(a), Ok(b)) = (<[u8; 32]>::try_from(a), <[u8; 32]>::try_from(b)) else {
                break;
            };
            let (a, b): (__m256i, __m256i) = (pulp::cast(a), pulp::cast(b));
            let eq = |v, c| avx2._mm256_cmpeq_epi8(v, c);
            let dot_lines = bits(avx2._mm256_and_si256(eq(a, lf), eq(b, dot)));
            let odd = avx2._mm256_xor_si256(eq(a, cr), eq(b, lf));
            if dot_lines != 0 {
                let at = dot_lines.trailing_zeros();
                let before = bits(odd) & ((1 << at) - 1);
                return LineEnds {
                    dot_line: Some(k + at as usize),
                    irregular: before != 0 || avx._mm256_testz_si256(irregular, irregular) == 0,
                };
            }
            irregular = avx2._mm256_or_si256(irregular, odd);
            k += 32;
        }
        super::tail(input, k, avx._mm256_testz_si256(irregular, irregular) == 0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The definition, one pair at a time.
    fn reference(input: &[u8]) -> LineEnds {
        tail(input, 0, false)
    }

    fn data() -> impl Strategy<Value = Vec<u8>> {
        // Mostly text, so that blocks without a dot line or a stray CR/LF occur too.
        let octet = prop_oneof![
            20 => Just(b'a'),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            1 => Just(b'.'),
        ];
        prop_oneof![
            proptest::collection::vec(octet, 0..300),
            // Regular lines, with one octet changed somewhere.
            (1..20usize, 0..2000usize, any::<u8>()).prop_map(|(lines, at, b)| {
                let mut v = b"some text of a line\r\n".repeat(lines);
                let at = at % v.len();
                v[at] = b;
                v
            }),
        ]
    }

    proptest! {
        #[test]
        fn scan_is_the_reference(input in data(), skip in 0..40usize) {
            let input = &input[skip.min(input.len())..];
            let want = reference(input);
            prop_assert_eq!(portable(input), want);
            prop_assert_eq!(scan(input), want);
        }
    }

    #[test]
    fn pairs_across_block_ends() {
        // A CRLF or LF "." split by each 32-octet boundary of the vector loop.
        for at in 0..100 {
            let mut v = vec![b'x'; 128];
            v[at] = b'\n';
            v[at + 1] = b'.';
            let want = LineEnds {
                dot_line: Some(at),
                irregular: at > 0,
            };
            assert_eq!(scan(&v), want, "{at}");
            v[at] = b'\r';
            v[at + 1] = b'\n';
            assert_eq!(
                scan(&v),
                LineEnds {
                    dot_line: None,
                    irregular: false
                },
                "{at}"
            );
            v[at + 1] = b'y';
            assert_eq!(
                scan(&v),
                LineEnds {
                    dot_line: None,
                    irregular: true
                },
                "{at}"
            );
        }
    }
}
