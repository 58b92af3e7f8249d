//! Numbered slots that keep their numbers: the voices of the mix and the
//! recorders of a source are addressed by slot index from the open files,
//! and a freed slot is reused by the next insert.

#[derive(Debug)]
pub struct Slots<T> {
    slots: Vec<Option<T>>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots { slots: Vec::new() }
    }
}

impl<T> Slots<T> {
    /// Puts `v` in the first free slot and returns its index.
    pub fn insert(&mut self, v: T) -> usize {
        match self.slots.iter().position(Option::is_none) {
            Some(i) => {
                self.slots[i] = Some(v);
                i
            }
            None => {
                self.slots.push(Some(v));
                self.slots.len() - 1
            }
        }
    }

    /// Puts `v` in place of the value at `id` and returns the old one, so
    /// the caller can drop it outside any lock.
    pub fn replace(&mut self, id: usize, v: T) -> Option<T> {
        self.slots.get_mut(id).and_then(|s| s.replace(v))
    }

    pub fn remove(&mut self, id: usize) -> Option<T> {
        self.slots.get_mut(id).and_then(Option::take)
    }

    pub fn get(&self, id: usize) -> Option<&T> {
        self.slots.get(id).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut T> {
        self.slots.get_mut(id).and_then(Option::as_mut)
    }

    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// The filled slots with their indices.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
    }

    /// The filled slots with their indices, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut T)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, v)| v.as_mut().map(|v| (i, v)))
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused_and_indices_stay() {
        let mut s = Slots::default();
        let a = s.insert('a');
        let b = s.insert('b');
        assert_eq!(s.remove(a), Some('a'));
        assert_eq!(s.get(b), Some(&'b'));
        assert_eq!(s.insert('c'), a);
        assert_eq!(s.replace(b, 'd'), Some('b'));
        assert_eq!(
            s.iter().map(|(i, v)| (i, *v)).collect::<Vec<_>>(),
            vec![(0, 'c'), (1, 'd')]
        );
        assert_eq!(s.remove(7), None);
        s.remove(0);
        s.remove(1);
        assert!(s.is_empty());
    }
}
