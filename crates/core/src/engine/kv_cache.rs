//! The GPU KV cache as vLLM's block manager sees it: a pool of fixed-size blocks.

/// A pool of KV blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockPool {
    total: u32,
    free: u32,
    block_size: u32,
    /// Blocks kept free when admitting new requests (vLLM's 1% watermark).
    watermark: u32,
}

impl BlockPool {
    /// A pool of `total` blocks of `block_size` tokens.
    pub fn new(total: u32, block_size: u32) -> BlockPool {
        BlockPool {
            total,
            free: total,
            block_size,
            watermark: total / 100,
        }
    }

    /// Blocks needed to hold `tokens` tokens.
    pub fn blocks_for(&self, tokens: u32) -> u32 {
        tokens.div_ceil(self.block_size)
    }

    /// Whether a new request needing `blocks` may be admitted now.
    pub fn can_admit(&self, blocks: u32) -> bool {
        blocks <= self.total.saturating_sub(self.watermark) && self.free >= blocks + self.watermark
    }

    /// Free blocks.
    pub fn free(&self) -> u32 {
        self.free
    }

    /// Takes `n` blocks; the caller has checked they are free.
    pub fn take(&mut self, n: u32) {
        debug_assert!(n <= self.free);
        self.free -= n.min(self.free);
    }

    /// Returns `n` blocks.
    pub fn give_back(&mut self, n: u32) {
        self.free = (self.free + n).min(self.total);
    }

    /// Fraction of blocks in use.
    pub fn usage(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            f64::from(self.total - self.free) / f64::from(self.total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_keeps_the_watermark() {
        let mut pool = BlockPool::new(200, 16);
        assert_eq!(pool.blocks_for(33), 3);
        assert!(pool.can_admit(198));
        assert!(!pool.can_admit(199));
        pool.take(150);
        assert!((pool.usage() - 0.75).abs() < 1e-12);
        assert!(pool.can_admit(48) && !pool.can_admit(49));
        pool.give_back(150);
        assert_eq!(pool.free(), 200);
    }
}
