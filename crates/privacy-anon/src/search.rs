//! Full-domain generalization search: which level of each quasi-identifier's hierarchy to
//! release, so that the privacy models hold with at most the allowed suppression and the
//! utility metric is best.
//!
//! **Optimal search.** The lattice of level vectors is walked bottom-up, one height at a time.
//! A node is visited only if its metric lower bound ([`MetricTables::lower_bound`], monotone
//! along the lattice) is below the best acceptable node found so far, so the visited region is a
//! down-set and every visited node has a visited predecessor whose classes it rolls up from
//! (fewest classes first); nodes of one height are independent and evaluated in parallel
//! (rayon). An upper bound comes first from a greedy climb. When the models and the metric are
//! monotone (no suppression), predictive tagging prunes the whole up-set of an acceptable node:
//! its generalizations are acceptable but cannot be better. The result is exactly optimal: a
//! node left out has a lower bound at least as large as the best found, or is dominated.
//! In the spirit of ARX's Flash (Kohlmayer et al. 2012) and its bound-based pruning; the walk
//! differs (height order rather than paths) because rolling up needs a computed predecessor.
//!
//! **Heuristic search**, for many quasi-identifiers, where the lattice is too large: a greedy
//! climb from the bottom (at each step the successor that leaves the fewest records failing,
//! then the lowest bound) to the first acceptable node, then local moves (specialize one
//! attribute, or specialize one and generalize another) while they improve the metric and the
//! time budget lasts. It returns a good node, not a proven optimum, and says so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::encode::EncodedTable;
use crate::error::AnonError;
use crate::groups::{sensitive_domains, Groups};
use crate::hierarchy::Hierarchy;
use crate::metric::MetricTables;
use crate::models::{ClassView, CompiledModels};

/// Improving local moves made before the optimal walk, to tighten its first bound.
const IMPROVE_STEPS: usize = 4;

/// The largest lattice the optimal search accepts.
pub const MAX_OPTIMAL_NODES: u64 = 20_000_000;

/// How a search ended.
#[derive(Clone, Debug, Serialize)]
pub struct SearchOutcome {
    /// The chosen node: one level per quasi-identifier.
    pub levels: Vec<usize>,
    /// Records suppressed at that node.
    pub suppressed: u64,
    /// The metric's value there.
    pub objective: f64,
    /// Whether the node is proven optimal (optimal search) or only found (heuristic).
    pub optimal: bool,
    /// Nodes in the lattice.
    pub lattice_size: u64,
    /// Nodes whose classes were computed and checked.
    pub evaluated: u64,
    /// Nodes never computed because their bound, or an acceptable predecessor under a monotone
    /// metric, ruled them out.
    pub pruned: u64,
}

/// The result of checking one node.
#[derive(Clone, Debug)]
pub struct NodeResult {
    /// Whether the models hold within the suppression limit.
    pub anonymous: bool,
    /// Records suppressed (all failing records, even past the limit).
    pub suppressed: u64,
    /// The metric, or +∞ when not anonymous.
    pub objective: f64,
}

/// A search problem: the table, its models and metric, and the suppression limit.
pub struct Problem<'a> {
    hierarchies: Vec<&'a Hierarchy>,
    models: &'a CompiledModels,
    metric: &'a MetricTables,
    limit: u64,
    domains: Vec<usize>,
    bottom: Arc<Groups>,
    heights: Vec<usize>,
    strides: Vec<u64>,
    size: u64,
}

impl<'a> Problem<'a> {
    /// Prepares a search; `limit` is the most records that may be suppressed.
    pub fn new(
        table: &'a EncodedTable,
        models: &'a CompiledModels,
        metric: &'a MetricTables,
        limit: u64,
    ) -> Self {
        let hierarchies = table.hierarchies();
        let heights: Vec<usize> = hierarchies.iter().map(|h| h.levels()).collect();
        let mut strides = Vec::with_capacity(heights.len());
        let mut size: u64 = 1;
        for &h in &heights {
            strides.push(size);
            size = size.saturating_mul(h as u64);
        }
        let domains = if models.needs_histograms { sensitive_domains(table) } else { Vec::new() };
        let bottom = Arc::new(Groups::bottom(table, models.needs_histograms));
        Self { hierarchies, models, metric, limit, domains, bottom, heights, strides, size }
    }

    /// The number of nodes in the lattice (saturated).
    pub fn lattice_size(&self) -> u64 {
        self.size
    }

    /// The classes of `levels`, straight from the data.
    pub fn groups(&self, levels: &[usize]) -> Groups {
        self.bottom.roll_up(&self.hierarchies, levels, &self.domains)
    }

    /// Checks `levels` given its classes; returns the verdict and which classes are kept.
    pub fn judge(&self, groups: &Groups, levels: &[usize]) -> (NodeResult, Vec<bool>) {
        let mut kept = vec![true; groups.len()];
        let mut suppressed = 0u64;
        let mut views: Vec<(&[u32], &[u32])> = Vec::with_capacity(groups.hists.len());
        let pcount = groups.pcount.as_deref();
        for class in 0..groups.len() {
            let count = groups.count[class];
            if count == 0 {
                continue;
            }
            views.clear();
            views.extend(groups.hists.iter().map(|h| h.class(class)));
            let view = ClassView { count, pcount: pcount.map_or(0, |p| p[class]), hists: &views };
            if !self.models.class_ok(&view) {
                kept[class] = false;
                suppressed += u64::from(count);
            }
        }
        if suppressed <= self.limit && self.models.has_table_checks() {
            suppressed = self.enforce_table_checks(groups, &mut kept, suppressed);
        }
        let anonymous = suppressed <= self.limit;
        let objective = if anonymous {
            self.metric.value(groups, levels, &self.hierarchies, &kept)
        } else {
            f64::INFINITY
        };
        (NodeResult { anonymous, suppressed, objective }, kept)
    }

    /// Suppresses the smallest kept classes until the table-level models hold or the limit is
    /// reached; returns the new suppressed count (past the limit if they cannot be met).
    fn enforce_table_checks(&self, groups: &Groups, kept: &mut [bool], mut suppressed: u64) -> u64 {
        let mut order: Vec<usize> =
            (0..groups.len()).filter(|&c| kept[c] && groups.count[c] > 0).collect();
        order.sort_by_key(|&c| (groups.count[c], c));
        let mut records: u64 = order.iter().map(|&c| u64::from(groups.count[c])).sum();
        let mut classes = order.len() as u64;
        let mut uniques = order.iter().filter(|&&c| groups.count[c] == 1).count() as u64;
        for &c in &order {
            if self.models.table_ok(records, classes, uniques) {
                return suppressed;
            }
            let size = u64::from(groups.count[c]);
            kept[c] = false;
            suppressed += size;
            records -= size;
            classes -= 1;
            uniques -= u64::from(size == 1);
            if suppressed > self.limit {
                return suppressed;
            }
        }
        if self.models.table_ok(records, classes, uniques) {
            suppressed
        } else {
            self.limit + 1
        }
    }

    fn levels_of(&self, index: u64) -> Vec<usize> {
        self.heights
            .iter()
            .zip(&self.strides)
            .map(|(&h, &s)| ((index / s) % h as u64) as usize)
            .collect()
    }

    fn index_of(&self, levels: &[usize]) -> u64 {
        levels.iter().zip(&self.strides).map(|(&l, &s)| l as u64 * s).sum()
    }

    /// The exactly optimal node (see the module docs).
    pub fn optimal(&self) -> Result<SearchOutcome, AnonError> {
        if self.size > MAX_OPTIMAL_NODES {
            return Err(AnonError::LatticeTooLarge { nodes: self.size, max: MAX_OPTIMAL_NODES });
        }
        let greedy = self.climb(None)?;
        let mut evaluated = greedy.evaluated;
        // A few improving local moves tighten the first bound, which shrinks the region walked.
        let greedy = match greedy.found {
            Some((levels, r)) if self.limit > 0 => {
                let (levels, r, steps) = self.improve(levels, r, IMPROVE_STEPS, None);
                evaluated += steps;
                Some((levels, r))
            }
            found => found,
        };
        let mut best: Option<(u64, NodeResult)> =
            greedy.map(|(levels, r)| (self.index_of(&levels), r));
        let dominate = self.models.monotone() && self.limit == 0;
        let top_height: usize = self.heights.iter().map(|h| h - 1).sum();
        let mut visited = 0u64;
        // The classes of the previous height's nodes: every node rolls up from one of them.
        let mut frontier: FxHashMap<u64, Arc<Groups>> = FxHashMap::default();
        let mut dominated: FxHashMap<u64, ()> = FxHashMap::default();
        let mut candidates = vec![0u64];
        for _height in 0..=top_height {
            let bound = best.as_ref().map_or(f64::INFINITY, |(_, r)| r.objective);
            candidates.retain(|&i| self.metric.lower_bound(&self.levels_of(i)) < bound);
            if candidates.is_empty() {
                break;
            }
            let results: Vec<(u64, NodeResult, Arc<Groups>)> = candidates
                .par_iter()
                .map(|&index| {
                    let levels = self.levels_of(index);
                    let groups = self.roll_from_predecessor(index, &levels, &frontier);
                    let (result, _) = self.judge(&groups, &levels);
                    (index, result, groups)
                })
                .collect();
            visited += results.len() as u64;
            let mut next: FxHashMap<u64, ()> = FxHashMap::default();
            let mut computed = FxHashMap::default();
            let mut next_candidates = Vec::new();
            for (index, result, groups) in results {
                let acceptable = result.anonymous;
                if acceptable && better(&result, index, best.as_ref()) {
                    best = Some((index, result));
                }
                let blocks_up = dominate && acceptable;
                for succ in self.successors(index) {
                    if blocks_up {
                        dominated.insert(succ, ());
                    }
                    if next.insert(succ, ()).is_none() {
                        next_candidates.push(succ);
                    }
                }
                computed.insert(index, groups);
            }
            frontier = computed;
            next_candidates.retain(|c| !dominated.contains_key(c));
            next_candidates.sort_unstable();
            candidates = next_candidates;
        }
        evaluated += visited;
        let (index, result) =
            best.ok_or(AnonError::NoSolution { limit: self.limit, searched: evaluated })?;
        Ok(SearchOutcome {
            levels: self.levels_of(index),
            suppressed: result.suppressed,
            objective: result.objective,
            optimal: true,
            lattice_size: self.size,
            evaluated,
            pruned: self.size.saturating_sub(visited),
        })
    }

    fn successors(&self, index: u64) -> Vec<u64> {
        let levels = self.levels_of(index);
        (0..levels.len())
            .filter(|&d| levels[d] + 1 < self.heights[d])
            .map(|d| index + self.strides[d])
            .collect()
    }

    /// Rolls `index` up from the computed predecessor with the fewest classes.
    fn roll_from_predecessor(
        &self,
        index: u64,
        levels: &[usize],
        frontier: &FxHashMap<u64, Arc<Groups>>,
    ) -> Arc<Groups> {
        if index == 0 {
            return self.bottom.clone();
        }
        let source = (0..levels.len())
            .filter(|&d| levels[d] > 0)
            .filter_map(|d| frontier.get(&(index - self.strides[d])).cloned())
            .min_by_key(|g| g.len())
            .unwrap_or_else(|| self.bottom.clone());
        Arc::new(source.roll_up(&self.hierarchies, levels, &self.domains))
    }

    /// The heuristic search, within `budget`.
    // FIXME: a local search from one greedy climb can stop in a poor local optimum; restarts
    // from several climbs (or ARX's genetic algorithm) would find better nodes in the budget.
    pub fn heuristic(&self, budget: Duration) -> Result<SearchOutcome, AnonError> {
        let deadline = Instant::now() + budget;
        let climb = self.climb(Some(deadline))?;
        let mut evaluated = climb.evaluated;
        let (levels, result) =
            climb.found.ok_or(AnonError::NoSolution { limit: self.limit, searched: evaluated })?;
        let (levels, result, steps) = self.improve(levels, result, usize::MAX, Some(deadline));
        evaluated += steps;
        Ok(SearchOutcome {
            levels,
            suppressed: result.suppressed,
            objective: result.objective,
            optimal: false,
            lattice_size: self.size,
            evaluated,
            pruned: 0,
        })
    }

    /// Moves to the best improving neighbour, at most `steps` times or until `deadline`;
    /// returns the node reached and the number of nodes evaluated.
    fn improve(
        &self,
        mut levels: Vec<usize>,
        mut result: NodeResult,
        steps: usize,
        deadline: Option<Instant>,
    ) -> (Vec<usize>, NodeResult, u64) {
        let mut evaluated = 0;
        for _ in 0..steps {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let scored: Vec<(Vec<usize>, NodeResult)> = self
                .local_moves(&levels)
                .into_par_iter()
                .filter(|m| self.metric.lower_bound(m) < result.objective)
                .map(|m| {
                    let groups = self.groups(&m);
                    let (r, _) = self.judge(&groups, &m);
                    (m, r)
                })
                .collect();
            evaluated += scored.len() as u64;
            let improvement = scored
                .into_iter()
                .filter(|(_, r)| r.anonymous && r.objective < result.objective)
                .min_by(|a, b| a.1.objective.total_cmp(&b.1.objective));
            match improvement {
                Some((m, r)) => {
                    levels = m;
                    result = r;
                }
                None => break,
            }
        }
        (levels, result, evaluated)
    }

    /// Specialize one attribute, or specialize one and generalize another.
    fn local_moves(&self, levels: &[usize]) -> Vec<Vec<usize>> {
        let mut moves = Vec::new();
        for down in 0..levels.len() {
            if levels[down] == 0 {
                continue;
            }
            let mut m = levels.to_vec();
            m[down] -= 1;
            moves.push(m.clone());
            for up in 0..levels.len() {
                if up != down && m[up] + 1 < self.heights[up] {
                    let mut swap = m.clone();
                    swap[up] += 1;
                    moves.push(swap);
                }
            }
        }
        moves
    }

    /// Greedy climb from the bottom to the first acceptable node.
    fn climb(&self, deadline: Option<Instant>) -> Result<Climb, AnonError> {
        let mut levels = vec![0usize; self.heights.len()];
        let mut groups = self.bottom.clone();
        let mut evaluated = 0u64;
        loop {
            let (result, _) = self.judge(&groups, &levels);
            evaluated += 1;
            if result.anonymous {
                return Ok(Climb { found: Some((levels, result)), evaluated });
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(AnonError::NoSolution { limit: self.limit, searched: evaluated });
            }
            let steps: Vec<(Vec<usize>, Arc<Groups>, NodeResult)> = (0..levels.len())
                .into_par_iter()
                .filter(|&d| levels[d] + 1 < self.heights[d])
                .map(|d| {
                    let mut next = levels.clone();
                    next[d] += 1;
                    let rolled = Arc::new(groups.roll_up(&self.hierarchies, &next, &self.domains));
                    let (r, _) = self.judge(&rolled, &next);
                    (next, rolled, r)
                })
                .collect();
            evaluated += steps.len() as u64;
            let Some(step) = steps.into_iter().min_by(|a, b| {
                a.2.suppressed.cmp(&b.2.suppressed).then_with(|| {
                    self.metric.lower_bound(&a.0).total_cmp(&self.metric.lower_bound(&b.0))
                })
            }) else {
                return Ok(Climb { found: None, evaluated });
            };
            levels = step.0;
            groups = step.1;
        }
    }
}

struct Climb {
    found: Option<(Vec<usize>, NodeResult)>,
    evaluated: u64,
}

fn better(candidate: &NodeResult, index: u64, best: Option<&(u64, NodeResult)>) -> bool {
    match best {
        None => true,
        Some((best_index, b)) => candidate
            .objective
            .total_cmp(&b.objective)
            .then(candidate.suppressed.cmp(&b.suppressed))
            .then(index.cmp(best_index))
            .is_lt(),
    }
}
