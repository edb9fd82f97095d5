//! Bucket bound generators, ported from vLLM.

/// vLLM's `build_1_2_5_buckets(max_value)`: 1, 2, 5, 10, 20, 50, … while ≤ `max_value`.
pub fn build_1_2_5_buckets(max_value: u32) -> Vec<f64> {
    let max = f64::from(max_value);
    let mut out = Vec::new();
    let mut exponent = 1.0;
    loop {
        for mantissa in [1.0, 2.0, 5.0] {
            let value = mantissa * exponent;
            if value > max {
                return out;
            }
            out.push(value);
        }
        exponent *= 10.0;
    }
}

/// The default CUDA graph capture sizes of vLLM 0.6: 1, 2, 4, then every multiple of 8 up to 256.
pub fn cudagraph_capture_sizes() -> Vec<f64> {
    let mut sizes = vec![1.0, 2.0, 4.0];
    sizes.extend((1..=32).map(|i| f64::from(i * 8)));
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_two_five_matches_vllm() {
        assert_eq!(
            build_1_2_5_buckets(2048),
            [
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0
            ]
        );
        assert_eq!(build_1_2_5_buckets(4096), build_1_2_5_buckets(2048));
        assert_eq!(build_1_2_5_buckets(8192).last(), Some(&5000.0));
        assert_eq!(build_1_2_5_buckets(32768).len(), 14);
        assert_eq!(build_1_2_5_buckets(32768).last(), Some(&20000.0));
    }

    #[test]
    fn capture_sizes_end_at_256() {
        let sizes = cudagraph_capture_sizes();
        assert_eq!(&sizes[..5], &[1.0, 2.0, 4.0, 8.0, 16.0]);
        assert_eq!(sizes.last(), Some(&256.0));
        assert_eq!(sizes.len(), 35);
    }
}
