//! Interval arithmetic on the history's clock: half-open `[from, to)` spans of nanoseconds,
//! merged into unions, measured, intersected.

/// `[from, to)`, in ns; empty when `to <= from`.
pub type Interval = (u64, u64);

/// The union of `spans`: sorted, disjoint, non-empty intervals (overlapping or touching ones
/// merged, empty ones dropped).
pub fn union(mut spans: Vec<Interval>) -> Vec<Interval> {
    spans.retain(|(from, to)| from < to);
    spans.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(spans.len());
    for (from, to) in spans {
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

/// The total length of a union (as [`union`] returns).
pub fn measure(union: &[Interval]) -> u64 {
    union.iter().map(|(from, to)| to - from).sum()
}

/// The intersection of two unions (as [`union`] returns), itself a union.
pub fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let from = a[i].0.max(b[j].0);
        let to = a[i].1.min(b[j].1);
        if from < to {
            out.push((from, to));
        }
        if a[i].1 <= b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_merge_overlapping_and_touching_spans_and_drop_empty_ones() {
        assert_eq!(
            union(vec![(5, 9), (1, 3), (3, 4), (8, 12), (20, 20), (15, 14)]),
            [(1, 4), (5, 12)]
        );
        assert_eq!(measure(&[(1, 4), (5, 12)]), 10);
        assert_eq!(
            intersect(&[(0, 10), (20, 30)], &[(5, 25), (29, 40)]),
            [(5, 10), (20, 25), (29, 30)]
        );
        assert!(intersect(&[(0, 5)], &[(5, 9)]).is_empty());
    }
}
