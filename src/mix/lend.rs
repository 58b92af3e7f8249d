//! Lending: each period the engine (and the capture thread) takes a stream's
//! conversion out of the shared state under the lock, works on it with the
//! lock released, and gives it back under the lock. Meanwhile the protocol
//! thread may remove or replace the stream; what comes back for a stream
//! that is gone waits here for the protocol thread to drop it, so the
//! lending thread never frees (nor allocates) memory.

/// Lent things whose owner went while they were out.
#[derive(Debug)]
pub struct Graveyard<T>(Vec<Box<T>>);

impl<T> Graveyard<T> {
    /// Room for `n` before the lending thread would have to drop one itself.
    pub fn with_capacity(n: usize) -> Graveyard<T> {
        Graveyard(Vec::with_capacity(n))
    }

    /// Keeps `orphan` (from the lending thread). Allocates nothing: past
    /// the capacity (only if the protocol thread collected none for that
    /// many removals, which it does at each one) it is dropped here.
    pub fn bury(&mut self, orphan: Option<Box<T>>) {
        if let Some(o) = orphan {
            if self.0.len() < self.0.capacity() {
                self.0.push(o);
            }
        }
    }

    /// Moves everything into `into`, for the protocol thread to drop
    /// outside the lock. The capacity stays.
    pub fn collect(&mut self, into: &mut Vec<Box<T>>) {
        into.append(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buries_within_its_capacity_and_keeps_it() {
        let mut g = Graveyard::with_capacity(2);
        let cap = g.0.capacity();
        g.bury(Some(Box::new(1)));
        g.bury(None);
        g.bury(Some(Box::new(2)));
        g.bury(Some(Box::new(3))); // past the capacity: dropped
        let mut out = Vec::new();
        g.collect(&mut out);
        assert_eq!(out.iter().map(|b| **b).collect::<Vec<_>>(), [1, 2]);
        assert!(g.0.is_empty());
        assert_eq!(g.0.capacity(), cap);
    }
}
