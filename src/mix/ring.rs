//! The byte ring of one client stream: the OSS "dmap" buffer, holding bytes in
//! the client's own format between its write() and the engine's period.
//!
//! Its capacity is a whole number of frames and the engine only ever takes
//! whole frames, so the read side stays frame-aligned and every contiguous
//! readable slice but the last starts and ends on a frame boundary. Allocated
//! once; pushing and taking never allocate.

#[derive(Debug)]
pub struct Ring {
    buf: Box<[u8]>,
    read: usize,
    len: usize,
}

impl Ring {
    pub fn new(capacity: usize) -> Ring {
        Ring {
            buf: vec![0; capacity].into_boxed_slice(),
            read: 0,
            len: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes queued.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes free.
    pub fn space(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Appends as much of `data` as fits; returns how much that was.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.space());
        let cap = self.buf.len();
        if n == 0 {
            return 0;
        }
        let write = (self.read + self.len) % cap;
        let first = n.min(cap - write);
        self.buf[write..write + first].copy_from_slice(&data[..first]);
        self.buf[..n - first].copy_from_slice(&data[first..n]);
        self.len += n;
        n
    }

    /// The queued bytes as at most two contiguous slices, oldest first.
    pub fn slices(&self) -> (&[u8], &[u8]) {
        let cap = self.buf.len();
        if cap == 0 {
            return (&[], &[]);
        }
        let first = self.len.min(cap - self.read);
        (
            &self.buf[self.read..self.read + first],
            &self.buf[..self.len - first],
        )
    }

    /// Drops the `n` oldest bytes (fewer if fewer are queued).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        if n == 0 {
            return;
        }
        self.read = (self.read + n) % self.buf.len();
        self.len -= n;
        if self.len == 0 {
            self.read = 0;
        }
    }

    pub fn clear(&mut self) {
        self.read = 0;
        self.len = 0;
    }

    /// Moves what is queued, in order, into `buf` (allocated by the caller,
    /// away from the engine) and makes it the ring; returns the old buffer,
    /// for the caller to drop. A `buf` that cannot hold what is queued is
    /// handed back unused.
    pub fn regrow(&mut self, mut buf: Box<[u8]>) -> Box<[u8]> {
        if buf.len() < self.len {
            return buf;
        }
        let (a, b) = self.slices();
        let (first, second) = (a.len(), b.len());
        buf[..first].copy_from_slice(a);
        buf[first..first + second].copy_from_slice(b);
        self.read = 0;
        std::mem::replace(&mut self.buf, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_and_keeps_order() {
        let mut r = Ring::new(8);
        assert_eq!(r.push(&[1, 2, 3, 4, 5, 6]), 6);
        r.consume(4);
        assert_eq!(r.push(&[7, 8, 9, 10, 11, 12, 13]), 6);
        let (a, b) = r.slices();
        assert_eq!([a, b].concat(), vec![5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(r.space(), 0);
        assert_eq!(r.push(&[1]), 0);
    }

    #[test]
    fn zero_capacity_is_harmless() {
        let mut r = Ring::new(0);
        assert_eq!(r.push(&[1, 2]), 0);
        r.consume(3);
        assert_eq!(r.slices(), (&[][..], &[][..]));
    }

    #[test]
    fn regrowing_keeps_the_queued_bytes_in_order() {
        let mut r = Ring::new(8);
        r.push(&[1, 2, 3, 4, 5, 6]);
        r.consume(4);
        r.push(&[7, 8, 9, 10, 11, 12]); // wrapped: 5..12
        let old = r.regrow(vec![0; 16].into_boxed_slice());
        assert_eq!(old.len(), 8);
        assert_eq!(r.capacity(), 16);
        assert_eq!(r.len(), 8);
        assert_eq!(r.space(), 8);
        assert_eq!(r.push(&[13, 14, 15, 16, 17, 18, 19, 20, 21]), 8);
        let (a, b) = r.slices();
        assert_eq!([a, b].concat(), (5..=20).collect::<Vec<u8>>());
        // Too small for what is queued: handed back, nothing changes.
        let back = r.regrow(vec![0; 4].into_boxed_slice());
        assert_eq!(back.len(), 4);
        assert_eq!(r.capacity(), 16);
        assert_eq!(r.len(), 16);
    }

    proptest! {
        #[test]
        fn behaves_like_a_fifo(ops in proptest::collection::vec((any::<bool>(), 0usize..40), 0..60)) {
            let mut r = Ring::new(24);
            let mut model = std::collections::VecDeque::<u8>::new();
            let mut next = 0u8;
            for (push, n) in ops {
                if push {
                    let data: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                    let took = r.push(&data);
                    prop_assert_eq!(took, n.min(24 - model.len()));
                    model.extend(&data[..took]);
                } else {
                    r.consume(n);
                    for _ in 0..n.min(model.len()) { model.pop_front(); }
                }
                let (a, b) = r.slices();
                prop_assert_eq!([a, b].concat(), model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
