//! Equivalence classes of a generalization, and how they roll up.
//!
//! A [`Groups`] holds the classes of one lattice node: for each class a representative leaf
//! code per quasi-identifier, its record count, its population count (when a population table
//! is given), and a sparse histogram of each sensitive attribute. Because every hierarchy is a
//! tree, the classes of a more general node are unions of the classes of any more specific one,
//! so [`Groups::roll_up`] derives them from the smaller, already computed table instead of from
//! the records: that is the main saving of the search.
//!
//! Classes are found by hashing packed keys: the label codes of as many quasi-identifiers as fit
//! in 64 bits are packed into one `u64` and made dense; if more remain, the dense id is packed
//! with the next ones, and so on. So any number of quasi-identifiers is handled with `u64`
//! keys, and the common case (Adult's eight fit in 31 bits) is one hashing pass.

use rustc_hash::FxHashMap;

use crate::encode::EncodedTable;
use crate::hierarchy::Hierarchy;

/// Sparse histograms, one per class, in compressed-row form.
#[derive(Clone, Debug, Default)]
pub struct Histograms {
    offsets: Vec<u32>,
    values: Vec<u32>,
    counts: Vec<u32>,
}

impl Histograms {
    /// The `(value, count)` entries of class `class`.
    pub fn class(&self, class: usize) -> (&[u32], &[u32]) {
        let (a, b) = (self.offsets[class] as usize, self.offsets[class + 1] as usize);
        (&self.values[a..b], &self.counts[a..b])
    }
}

/// The equivalence classes of one lattice node.
#[derive(Clone, Debug)]
pub struct Groups {
    dims: usize,
    /// Representative leaf codes, `dims` per class.
    reps: Vec<u32>,
    /// Records of the data in each class.
    pub count: Vec<u32>,
    /// Records of the population in each class, when a population is given.
    pub pcount: Option<Vec<u32>>,
    /// One set of histograms per sensitive attribute.
    pub hists: Vec<Histograms>,
}

impl Groups {
    /// The classes of the original data (every quasi-identifier at level 0), with sensitive
    /// histograms if `histograms`.
    pub fn bottom(table: &EncodedTable, histograms: bool) -> Self {
        Self::of_records(table, &vec![0; table.quasi.len()], histograms).0
    }

    /// The classes of node `levels` straight from the records, and the class of each record
    /// (data records first, then population records).
    pub fn of_records(
        table: &EncodedTable,
        levels: &[usize],
        histograms: bool,
    ) -> (Self, Vec<u32>) {
        let mut singletons = Self::singletons(table);
        if !histograms {
            singletons.hists.clear();
        }
        let hierarchies = table.hierarchies();
        singletons.roll_up_mapped(&hierarchies, levels, &sensitive_domains(table))
    }

    /// One class per record (data records, then population records).
    fn singletons(table: &EncodedTable) -> Self {
        let dims = table.quasi.len();
        let pop_rows = table.population_rows().unwrap_or(0);
        let total = table.rows + pop_rows;
        let mut reps = Vec::with_capacity(total * dims);
        for row in 0..table.rows {
            reps.extend(table.quasi.iter().map(|c| c.codes[row]));
        }
        if let Some(pop) = &table.population {
            for row in 0..pop_rows {
                reps.extend(pop.iter().map(|codes| codes[row]));
            }
        }
        let mut count = vec![1u32; table.rows];
        count.resize(total, 0);
        let pcount = table.population.as_ref().map(|_| {
            let mut p = vec![0u32; table.rows];
            p.resize(total, 1);
            p
        });
        let hists = table
            .sensitive
            .iter()
            .map(|s| {
                let mut offsets: Vec<u32> = (0..=table.rows as u32).collect();
                offsets.resize(total + 1, table.rows as u32);
                Histograms { offsets, values: s.codes.clone(), counts: vec![1; table.rows] }
            })
            .collect();
        Self { dims, reps, count, pcount, hists }
    }

    /// The number of classes (including population-only classes with no data record).
    pub fn len(&self) -> usize {
        self.count.len()
    }

    /// Whether there are no classes.
    pub fn is_empty(&self) -> bool {
        self.count.is_empty()
    }

    /// The representative leaf codes of class `class`.
    pub fn rep(&self, class: usize) -> &[u32] {
        &self.reps[class * self.dims..(class + 1) * self.dims]
    }

    /// The classes of the node `levels`, which must be a generalization of the node these
    /// classes belong to.
    pub fn roll_up(&self, hierarchies: &[&Hierarchy], levels: &[usize], domains: &[usize]) -> Self {
        self.roll_up_mapped(hierarchies, levels, domains).0
    }

    /// [`Groups::roll_up`], also returning the new class of each old class.
    pub fn roll_up_mapped(
        &self,
        hierarchies: &[&Hierarchy],
        levels: &[usize],
        domains: &[usize],
    ) -> (Self, Vec<u32>) {
        let maps: Vec<&[u32]> =
            hierarchies.iter().zip(levels).map(|(h, &l)| h.level_map(l)).collect();
        let radices: Vec<usize> =
            hierarchies.iter().zip(levels).map(|(h, &l)| h.label_count(l)).collect();
        let dims = self.dims;
        let code = |i: usize, d: usize| maps[d][self.reps[i * dims + d] as usize];
        let (class_of, firsts) = match direct_ids(self.len(), &radices, code) {
            Some(found) => found,
            None => {
                let bits: Vec<u32> = radices.iter().map(|&r| bits_for(r)).collect();
                dense_ids(self.len(), &bits, code)
            }
        };
        let n = firsts.len();
        let mut reps = Vec::with_capacity(n * dims);
        for &first in &firsts {
            reps.extend_from_slice(self.rep(first as usize));
        }
        let mut count = vec![0u32; n];
        for (i, &c) in class_of.iter().enumerate() {
            count[c as usize] += self.count[i];
        }
        let pcount = self.pcount.as_ref().map(|p| {
            let mut out = vec![0u32; n];
            for (i, &c) in class_of.iter().enumerate() {
                out[c as usize] += p[i];
            }
            out
        });
        let hists = if self.hists.is_empty() {
            Vec::new()
        } else {
            let order = bucket_order(&class_of, n);
            self.hists.iter().zip(domains).map(|(h, &m)| merge(h, &order, m)).collect()
        };
        (Self { dims, reps, count, pcount, hists }, class_of)
    }

    /// Bytes held, for the search's cache budget.
    pub fn bytes(&self) -> usize {
        let hist: usize =
            self.hists.iter().map(|h| 4 * (h.offsets.len() + 2 * h.values.len())).sum();
        4 * (self.reps.len() + 2 * self.count.len()) + hist
    }
}

/// The size of each sensitive attribute's value domain.
pub fn sensitive_domains(table: &EncodedTable) -> Vec<usize> {
    table.sensitive.iter().map(|s| s.hierarchy.leaf_count()).collect()
}

/// Bits needed to hold codes `0..n`.
pub fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// The largest key space counted in a plain array instead of a hash table.
const DIRECT_LIMIT: usize = 1 << 21;

/// [`dense_ids`] without hashing, when the mixed-radix key space of `radices` is at most
/// [`DIRECT_LIMIT`]: at generalized nodes this is the common case, and a lookup is one array
/// access.
fn direct_ids(
    n: usize,
    radices: &[usize],
    code: impl Fn(usize, usize) -> u32,
) -> Option<(Vec<u32>, Vec<u32>)> {
    let space = radices.iter().try_fold(1usize, |acc, &r| acc.checked_mul(r.max(1)))?;
    if space > DIRECT_LIMIT || space > 4 * n.max(1024) {
        return None;
    }
    let mut slot = vec![u32::MAX; space];
    let mut ids = Vec::with_capacity(n);
    let mut firsts = Vec::new();
    for i in 0..n {
        let mut key = 0usize;
        for (d, &r) in radices.iter().enumerate() {
            key = key * r + code(i, d) as usize;
        }
        let id = &mut slot[key];
        if *id == u32::MAX {
            *id = firsts.len() as u32;
            firsts.push(i as u32);
        }
        ids.push(*id);
    }
    Some((ids, firsts))
}

/// Dense class ids of `n` items whose key is `code(item, dim)` over `bits.len()` dimensions;
/// returns the id of each item and the first item of each class.
pub fn dense_ids(
    n: usize,
    bits: &[u32],
    code: impl Fn(usize, usize) -> u32,
) -> (Vec<u32>, Vec<u32>) {
    let mut ids: Vec<u32> = Vec::new();
    let mut firsts: Vec<u32> = vec![0];
    let mut d = 0;
    let mut first_chunk = true;
    while d < bits.len() || first_chunk {
        let mut used = if first_chunk { 0 } else { bits_for(firsts.len()) };
        let mut shifts = Vec::new();
        let start = d;
        while d < bits.len() && used + bits[d] <= 64 {
            shifts.push(used);
            used += bits[d];
            d += 1;
        }
        let mut index: FxHashMap<u64, u32> =
            FxHashMap::with_capacity_and_hasher(n.min(1 << 20), Default::default());
        let mut next_firsts = Vec::new();
        let mut next_ids = Vec::with_capacity(n);
        #[allow(clippy::needless_range_loop)] // `i` is also the item passed to `code`.
        for i in 0..n {
            let mut key = if first_chunk { 0 } else { u64::from(ids.get(i).copied().unwrap_or(0)) };
            for (k, dim) in (start..d).enumerate() {
                key |= u64::from(code(i, dim)) << shifts[k];
            }
            let fresh = next_firsts.len() as u32;
            let id = *index.entry(key).or_insert(fresh);
            if id == fresh {
                next_firsts.push(i as u32);
            }
            next_ids.push(id);
        }
        ids = next_ids;
        firsts = next_firsts;
        first_chunk = false;
    }
    (ids, firsts)
}

/// Items sorted by class: `(start offsets per class, item indices)`.
fn bucket_order(class_of: &[u32], n: usize) -> (Vec<u32>, Vec<u32>) {
    let mut starts = vec![0u32; n + 1];
    for &c in class_of {
        starts[c as usize + 1] += 1;
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    let mut fill = starts.clone();
    let mut items = vec![0u32; class_of.len()];
    for (i, &c) in class_of.iter().enumerate() {
        items[fill[c as usize] as usize] = i as u32;
        fill[c as usize] += 1;
    }
    (starts, items)
}

/// Merges source histograms into target classes, with a dense scratch row of size `domain`.
fn merge(src: &Histograms, order: &(Vec<u32>, Vec<u32>), domain: usize) -> Histograms {
    let (starts, items) = order;
    let classes = starts.len() - 1;
    let mut scratch = vec![0u32; domain];
    let mut touched: Vec<u32> = Vec::new();
    let mut out = Histograms {
        offsets: Vec::with_capacity(classes + 1),
        values: Vec::with_capacity(src.values.len().min(classes * 4)),
        counts: Vec::new(),
    };
    out.offsets.push(0);
    for c in 0..classes {
        for &item in &items[starts[c] as usize..starts[c + 1] as usize] {
            let (values, counts) = src.class(item as usize);
            for (&v, &k) in values.iter().zip(counts) {
                if scratch[v as usize] == 0 {
                    touched.push(v);
                }
                scratch[v as usize] += k;
            }
        }
        for &v in &touched {
            out.values.push(v);
            out.counts.push(scratch[v as usize]);
            scratch[v as usize] = 0;
        }
        touched.clear();
        out.offsets.push(out.values.len() as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_ids_handle_keys_wider_than_64_bits() {
        // Five dimensions of 20 bits each need two chunks.
        let data: Vec<[u32; 5]> =
            vec![[1, 2, 3, 4, 5], [1, 2, 3, 4, 6], [1, 2, 3, 4, 5], [9, 2, 3, 4, 5]];
        let (ids, firsts) = dense_ids(data.len(), &[20; 5], |i, d| data[i][d]);
        assert_eq!(ids, vec![0, 1, 0, 2]);
        assert_eq!(firsts, vec![0, 1, 3]);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(2), 1);
        assert_eq!(bits_for(3), 2);
        assert_eq!(bits_for(74), 7);
    }
}
