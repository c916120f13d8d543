//! The in-memory copy the embedded store searches: every entry of one
//! model as (id, filter fields, vector), in one contiguous matrix.
//!
//! Exact search is a scan: filter each row by its small fields, take the
//! dot product with the query, keep the best `k` in a heap. At 100,000
//! rows of 256 dimensions that is 25.6 M multiply-adds, a few milliseconds
//! on one core; no approximation, so recall is 1 and filtered searches are
//! complete by construction. Agent, session and kind names are interned to
//! integers so filtering compares numbers.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use uuid::Uuid;

use crate::context::{Filter, Tier};

/// The filterable fields of one row, as the index keeps them.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Row {
    pub id: Uuid,
    pub agent: Option<String>,
    pub session: Option<String>,
    pub kind: String,
    pub tier: Tier,
    pub pinned: bool,
    pub created_at: i64,
    pub vector: Vec<f32>,
}

/// A row's fields with names interned (0 means none).
#[derive(Clone, Copy, Debug)]
struct Meta {
    agent: u32,
    session: u32,
    kind: u32,
    tier: Tier,
    pinned: bool,
    created_at: i64,
}

/// The copy, at one generation of the database.
#[derive(Debug)]
pub(super) struct Index {
    dimension: usize,
    /// The database generation this copy reflects.
    pub generation: i64,
    ids: Vec<Uuid>,
    meta: Vec<Meta>,
    vectors: Vec<f32>,
    position: HashMap<Uuid, usize>,
    names: HashMap<String, u32>,
}

/// A filter with its names resolved to interned numbers.
struct Resolved {
    agent: Option<u32>,
    session: Option<u32>,
    kinds: Vec<u32>,
    tiers: Vec<Tier>,
    created_after: Option<i64>,
    created_before: Option<i64>,
    pinned: Option<bool>,
}

impl Resolved {
    fn passes(&self, m: &Meta) -> bool {
        self.agent.is_none_or(|a| a == m.agent)
            && self.session.is_none_or(|s| s == m.session)
            && (self.kinds.is_empty() || self.kinds.contains(&m.kind))
            && (self.tiers.is_empty() || self.tiers.contains(&m.tier))
            && self.created_after.is_none_or(|t| m.created_at >= t)
            && self.created_before.is_none_or(|t| m.created_at < t)
            && self.pinned.is_none_or(|p| p == m.pinned)
    }
}

/// A candidate in the top-k heap, ordered by similarity.
#[derive(Clone, Copy, Debug)]
struct Scored {
    similarity: f32,
    position: usize,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.similarity
            .total_cmp(&other.similarity)
            // Equal similarity: the earlier row wins, as in a stable sort.
            .then_with(|| other.position.cmp(&self.position))
    }
}

impl Index {
    /// An empty copy at generation 0.
    pub fn new(dimension: usize) -> Self {
        Index {
            dimension,
            generation: 0,
            ids: Vec::new(),
            meta: Vec::new(),
            vectors: Vec::new(),
            position: HashMap::new(),
            names: HashMap::new(),
        }
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    fn intern(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name else { return 0 };
        if let Some(&n) = self.names.get(name) {
            return n;
        }
        let n = u32::try_from(self.names.len() + 1).unwrap_or(u32::MAX);
        self.names.insert(name.to_string(), n);
        n
    }

    /// Adds a row, or replaces the row with its id. A vector of the wrong
    /// length is ignored: the store checked it on the way in.
    pub fn upsert(&mut self, row: Row) {
        if row.vector.len() != self.dimension {
            return;
        }
        let meta = Meta {
            agent: self.intern(row.agent.as_deref()),
            session: self.intern(row.session.as_deref()),
            kind: self.intern(Some(&row.kind)),
            tier: row.tier,
            pinned: row.pinned,
            created_at: row.created_at,
        };
        let d = self.dimension;
        match self.position.get(&row.id) {
            Some(&p) => {
                self.meta[p] = meta;
                self.vectors[p * d..(p + 1) * d].copy_from_slice(&row.vector);
            }
            None => {
                self.position.insert(row.id, self.ids.len());
                self.ids.push(row.id);
                self.meta.push(meta);
                self.vectors.extend_from_slice(&row.vector);
            }
        }
    }

    /// Removes a row if present (the last row moves into its place).
    pub fn remove(&mut self, id: &Uuid) {
        let Some(p) = self.position.remove(id) else {
            return;
        };
        let last = self.ids.len() - 1;
        let d = self.dimension;
        if p != last {
            self.ids.swap(p, last);
            self.meta.swap(p, last);
            self.vectors.copy_within(last * d..(last + 1) * d, p * d);
            self.position.insert(self.ids[p], p);
        }
        self.ids.pop();
        self.meta.pop();
        self.vectors.truncate(last * d);
    }

    fn resolve(&self, filter: &Filter) -> Option<Resolved> {
        // A name the index has never seen matches nothing.
        let name = |n: &Option<String>| match n {
            None => Some(None),
            Some(n) => self.names.get(n).map(|&x| Some(x)),
        };
        let kinds: Vec<u32> = filter
            .kinds
            .iter()
            .filter_map(|k| self.names.get(k.as_str()).copied())
            .collect();
        if !filter.kinds.is_empty() && kinds.is_empty() {
            return None;
        }
        Some(Resolved {
            agent: name(&filter.agent)?,
            session: name(&filter.session)?,
            kinds,
            tiers: filter.tiers.clone(),
            created_after: filter.created_after.map(|t| t.timestamp_millis()),
            created_before: filter.created_before.map(|t| t.timestamp_millis()),
            pinned: filter.pinned,
        })
    }

    /// The `k` rows most similar to the unit vector `query` that pass
    /// `filter` and reach `min_similarity`, most similar first.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        min_similarity: Option<f32>,
        filter: &Filter,
    ) -> Vec<(Uuid, f32)> {
        let Some(resolved) = self.resolve(filter) else {
            return Vec::new();
        };
        let floor = min_similarity.unwrap_or(f32::NEG_INFINITY);
        let mut heap: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(k + 1);
        let d = self.dimension;
        for (p, meta) in self.meta.iter().enumerate() {
            if !resolved.passes(meta) {
                continue;
            }
            let similarity = dot(query, &self.vectors[p * d..(p + 1) * d]);
            if similarity < floor {
                continue;
            }
            let scored = Scored {
                similarity,
                position: p,
            };
            if heap.len() < k {
                heap.push(Reverse(scored));
            } else if heap.peek().is_some_and(|worst| scored > worst.0) {
                heap.pop();
                heap.push(Reverse(scored));
            }
        }
        let mut best: Vec<Scored> = heap.into_iter().map(|r| r.0).collect();
        best.sort_by(|a, b| b.cmp(a));
        best.into_iter()
            .map(|s| (self.ids[s.position], s.similarity.clamp(-1.0, 1.0)))
            .collect()
    }
}

/// The dot product, in eight lanes so the compiler vectorises it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Kind;

    fn row(n: u128, agent: Option<&str>, v: Vec<f32>) -> Row {
        Row {
            id: Uuid::from_u128(n),
            agent: agent.map(str::to_string),
            session: None,
            kind: "note".into(),
            tier: Tier::Medium,
            pinned: false,
            created_at: n as i64,
            vector: v,
        }
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }

    #[test]
    fn upsert_remove_and_search_agree() {
        let mut ix = Index::new(2);
        ix.upsert(row(1, Some("a"), vec![1.0, 0.0]));
        ix.upsert(row(2, Some("b"), vec![0.6, 0.8]));
        ix.upsert(row(3, Some("a"), vec![0.0, 1.0]));
        ix.upsert(row(4, None, vec![1.0]));
        assert_eq!(ix.len(), 3, "a wrong-length vector is ignored");
        let all = ix.search(&[1.0, 0.0], 10, None, &Filter::any());
        let ids: Vec<u128> = all.iter().map(|(id, _)| id.as_u128()).collect();
        assert_eq!(ids, [1, 2, 3]);
        let a = ix.search(&[1.0, 0.0], 10, None, &Filter::any().agent("a"));
        assert_eq!(a.len(), 2);
        assert!(ix
            .search(&[1.0, 0.0], 10, None, &Filter::any().agent("zed"))
            .is_empty());
        assert!(ix
            .search(&[1.0, 0.0], 10, None, &Filter::any().kind(Kind::fact()))
            .is_empty());
        let near = ix.search(&[1.0, 0.0], 10, Some(0.5), &Filter::any());
        assert_eq!(near.len(), 2);
        // Replace row 1, remove row 2: row 3 moves into row 2's place.
        ix.upsert(row(1, Some("b"), vec![0.0, 1.0]));
        ix.remove(&Uuid::from_u128(2));
        ix.remove(&Uuid::from_u128(99));
        assert_eq!(ix.len(), 2);
        let top = ix.search(&[0.0, 1.0], 1, None, &Filter::any());
        assert_eq!(top[0].0, Uuid::from_u128(1), "ties go to the earlier row");
        let b = ix.search(&[0.0, 1.0], 5, None, &Filter::any().agent("b"));
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].0, Uuid::from_u128(1));
    }
}
