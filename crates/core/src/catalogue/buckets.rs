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
}
