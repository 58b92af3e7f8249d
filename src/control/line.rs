//! A control connection's input, cut into request lines, with a bound:
//! a line longer than its limit is reported once ([`Line::TooLong`]) and
//! skipped up to its newline, so a client cannot make the daemon hold more
//! than the limit, whatever it sends.

use std::collections::VecDeque;

/// What [`LineBuf::next_line`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its newline (and without a `\r` before it).
    Text(Vec<u8>),
    /// A line over the limit: answered with an error; its rest is skipped.
    TooLong,
}

/// Bytes received and not yet cut into lines. It holds at most the limit
/// of a line in progress, and the whole lines of the last [`LineBuf::push`]
/// until they are taken.
#[derive(Debug)]
pub struct LineBuf {
    cur: Vec<u8>,
    done: VecDeque<Line>,
    limit: usize,
    /// Inside a line that was too long: dropping bytes up to its newline.
    skipping: bool,
}

impl LineBuf {
    pub fn new(limit: usize) -> LineBuf {
        LineBuf {
            cur: Vec::new(),
            done: VecDeque::new(),
            limit,
            skipping: false,
        }
    }

    /// Takes bytes as they came off the socket.
    pub fn push(&mut self, data: &[u8]) {
        let mut parts = data.split(|&b| b == b'\n').peekable();
        while let Some(part) = parts.next() {
            // Every part but the last ended with a newline.
            let ended = parts.peek().is_some();
            if self.skipping {
                self.skipping = !ended;
                continue;
            }
            // A `\r` before the newline is not counted.
            let room = self.limit + 1 - self.cur.len();
            if part.len() > room {
                self.cur.clear();
                self.done.push_back(Line::TooLong);
                self.skipping = !ended;
                continue;
            }
            self.cur.extend_from_slice(part);
            if ended {
                let mut line = std::mem::take(&mut self.cur);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.done.push_back(if line.len() > self.limit {
                    Line::TooLong
                } else {
                    Line::Text(line)
                });
            }
        }
    }

    /// The next whole line, if one is here.
    pub fn next_line(&mut self) -> Option<Line> {
        self.done.pop_front()
    }

    /// Bytes of the line in progress (never over the limit and one).
    pub fn held(&self) -> usize {
        self.cur.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(b: &mut LineBuf) -> Vec<Line> {
        std::iter::from_fn(|| b.next_line()).collect()
    }

    #[test]
    fn lines_come_out_whole_however_the_bytes_arrive() {
        let mut b = LineBuf::new(16);
        b.push(b"ab");
        assert_eq!(lines(&mut b), vec![]);
        b.push(b"c\r\nde\nf");
        assert_eq!(
            lines(&mut b),
            vec![Line::Text(b"abc".to_vec()), Line::Text(b"de".to_vec())]
        );
        b.push(b"\n");
        assert_eq!(lines(&mut b), vec![Line::Text(b"f".to_vec())]);
    }

    #[test]
    fn a_line_over_the_limit_is_reported_once_and_skipped() {
        let mut b = LineBuf::new(8);
        b.push(&[b'x'; 5]);
        b.push(&[b'y'; 100_000]);
        assert!(b.held() <= 10, "{}", b.held());
        b.push(&[b'z'; 100]);
        b.push(b"zz\nok\n");
        assert_eq!(
            lines(&mut b),
            vec![Line::TooLong, Line::Text(b"ok".to_vec())]
        );
        // Exactly at the limit is fine; one over is not.
        b.push(b"12345678\n123456789\nafter\n");
        assert_eq!(
            lines(&mut b),
            vec![
                Line::Text(b"12345678".to_vec()),
                Line::TooLong,
                Line::Text(b"after".to_vec())
            ]
        );
    }

    #[test]
    fn many_lines_in_one_push_are_all_kept() {
        let mut b = LineBuf::new(8);
        let data: Vec<u8> = (0..50)
            .flat_map(|i| format!("l{i}\n").into_bytes())
            .collect();
        b.push(&data);
        assert_eq!(lines(&mut b).len(), 50);
    }
}
