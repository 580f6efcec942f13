//! Full-domain generalization search: which level of each quasi-identifier's hierarchy to
//! release, so that the privacy models hold with at most the allowed suppression and the
//! utility metric is best.
//!
//! **Optimal search.** The lattice of level vectors is walked bottom-up, one height at a time.
//! A node is visited only if its metric lower bound ([`MetricTables::lower_bound`], monotone
//! along the lattice) is below the best acceptable node found so far, so the visited region is a
//! down-set and every visited node has a visited predecessor whose classes it rolls up from
//! (fewest classes first); nodes of one height are independent and evaluated in parallel
//! (rayon). An upper bound comes first from a greedy climb and a few local moves.
//!
//! **Predictive tagging**, in the spirit of ARX's Flash (Kohlmayer et al. 2012). Let
//! "anonymous" mean "the models hold with at most `limit` records suppressed". When every
//! model is monotone for the job's limit ([`crate::models`] proves which are, with and without
//! suppression), anonymity is monotone on the lattice: the generalizations of an anonymous node
//! are anonymous and the specializations of a failing node fail. The search uses both
//! directions:
//! - *down*: every node found failing (on the greedy climb, a few randomized probing climbs and
//!   the local moves) tags its whole
//!   down-set; a tagged node of the walk is neither checked nor computed (its successors roll
//!   up from a computed node further down) and is counted in [`SearchOutcome::tagged`];
//! - *up*: without suppression the metric is monotone too, so an anonymous node's up-set is
//!   anonymous **and** no better: it is pruned outright. With suppression a generalization can
//!   suppress fewer records and so cost less; its metric needs its classes, which is all a check
//!   costs, so the up tag saves nothing there and the bound does the pruning.
//!
//! **Region search** (no suppression, monotone models, and a metric whose bound is the metric
//! itself: loss, precision, entropy). Then a node whose bound is below the best found is better
//! if it is anonymous, and those nodes form a down-set; checking only its maximal nodes decides
//! all of it (if they all fail, everything below fails). When one passes, the best improves and
//! the smaller region is checked again. So instead of walking the lattice, the search checks an
//! antichain — on Adult 333 node checks instead of about 2,100, each rolled up from the
//! climbs' memoized low nodes.
//!
//! The result is exactly optimal: a node left out has a lower bound at least as large as the
//! best found, or is dominated, or is proven failing (a property test compares it with brute
//! force). The walk differs from Flash's paths (height order) because rolling up needs a
//! computed predecessor.
//!
//! **Heuristic search**, for many quasi-identifiers, where the lattice is too large (ARX's
//! optimal search stops at about 11): bounded by a deadline and by a number of node
//! evaluations ([`HeuristicLimits`]), whichever ends first, and always returning the best
//! acceptable node found so far. It checks the fully generalized node first (the fallback: the
//! one node that is acceptable whenever any is, for monotone models), then
//! 1. descends from it, specializing the attribute that improves the metric most while the node
//!    stays acceptable;
//! 2. climbs greedily from the bottom (at each step the successor that leaves the fewest
//!    records failing, then the lowest bound) to the first acceptable node, and improves it by
//!    local moves (specialize one attribute, or specialize one and generalize another);
//! 3. restarts: climbs that look at a random half of the successors at each step (a seeded
//!    SplitMix64, non-cryptographic: it only diversifies the search), each improved the same
//!    way.
//!
//! Failing nodes are tagged as in the optimal search, so no walk checks a node below one known
//! to fail. It returns a good node, not a proven optimum, and says so
//! ([`SearchOutcome::optimal`] is false).

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

/// Randomized climbs the optimal search makes, when anonymity is monotone, to tag failing
/// nodes before its walk.
const PROBE_CLIMBS: usize = 4;

/// The largest lattice for which the optimal search lists every node's bound (the region
/// search without suppression).
const MAX_REGION_NODES: u64 = 4_000_000;

/// How many heights down the optimal walk looks for a computed node to roll up from (nodes
/// skipped by tagging leave gaps).
const ROLL_UP_DEPTH: usize = 4;

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
    /// Nodes of the walk neither computed nor checked because predictive tagging proved them
    /// failing.
    pub tagged: u64,
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
        let mut tags = Tags::new(self.models.monotone());
        let mut memo = Memo::default();
        let greedy = self.climb(&mut Budget::unlimited(), &mut tags, &mut Walk::Greedy, &mut memo);
        let mut evaluated = greedy.evaluated;
        // A few improving local moves tighten the first bound, which shrinks the region walked.
        let greedy = match greedy.found {
            Some((levels, r)) if self.limit > 0 => {
                let (levels, r, steps) =
                    self.improve(levels, r, IMPROVE_STEPS, &mut Budget::unlimited(), &mut tags);
                evaluated += steps;
                Some((levels, r))
            }
            found => found,
        };
        let mut best: Option<(u64, NodeResult)> =
            greedy.map(|(levels, r)| (self.index_of(&levels), r));
        if tags.monotone {
            // Probing climbs: each tags the failing nodes of its path (whose down-sets cover
            // much of the region below the anonymous frontier) and may improve the bound.
            let mut rng = SplitMix(0x7a65);
            for _ in 0..PROBE_CLIMBS {
                let climb = self.climb(
                    &mut Budget::unlimited(),
                    &mut tags,
                    &mut Walk::Randomized(&mut rng),
                    &mut memo,
                );
                evaluated += climb.evaluated;
                if let Some((levels, r)) = climb.found {
                    let index = self.index_of(&levels);
                    if better(&r, index, best.as_ref()) {
                        best = Some((index, r));
                    }
                }
            }
        }
        let dominate = self.models.monotone() && self.limit == 0;
        if dominate
            && self.metric.bound_is_exact_without_suppression()
            && self.size <= MAX_REGION_NODES
        {
            if let Some(found) = best.clone() {
                return Ok(self.region_search(found, &mut tags, evaluated, &memo));
            }
        }
        let top_height: usize = self.heights.iter().map(|h| h - 1).sum();
        let mut visited = 0u64;
        let mut tagged = 0u64;
        let mut reused = 0u64;
        // The classes of the nodes computed at the last few heights (most recent first): every
        // computed node rolls up from one of them (or from the bottom).
        let mut recent: Vec<FxHashMap<u64, Arc<Groups>>> = Vec::new();
        let mut dominated: FxHashMap<u64, ()> = FxHashMap::default();
        let mut candidates = vec![0u64];
        for _height in 0..=top_height {
            let bound = best.as_ref().map_or(f64::INFINITY, |(_, r)| r.objective);
            candidates.retain(|&i| self.metric.lower_bound(&self.levels_of(i)) < bound);
            if candidates.is_empty() {
                break;
            }
            // The last field: 0 computed here, 1 tagged (not computed), 2 computed by a climb.
            let results: Vec<(u64, NodeResult, Option<Arc<Groups>>, u8)> = candidates
                .par_iter()
                .map(|&index| {
                    let levels = self.levels_of(index);
                    // Predictive tagging: below a node known to fail, the models fail too. Its
                    // classes are not computed; its successors roll up from a computed node
                    // further down.
                    if tags.rejects(&levels) {
                        let result = NodeResult {
                            anonymous: false,
                            suppressed: self.limit + 1,
                            objective: f64::INFINITY,
                        };
                        return (index, result, None, 1);
                    }
                    if let Some((groups, result)) = memo.get(&index) {
                        return (index, result.clone(), Some(groups.clone()), 2);
                    }
                    let groups = self.roll_from_computed(index, &recent);
                    let (result, _) = self.judge(&groups, &levels);
                    (index, result, Some(groups), 0)
                })
                .collect();
            visited += results.len() as u64;
            let mut next: FxHashMap<u64, ()> = FxHashMap::default();
            let mut computed = FxHashMap::default();
            let mut next_candidates = Vec::new();
            for (index, result, groups, kind) in results {
                tagged += u64::from(kind == 1);
                reused += u64::from(kind == 2);
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
                if let Some(groups) = groups {
                    computed.insert(index, groups);
                }
            }
            recent.insert(0, computed);
            recent.truncate(ROLL_UP_DEPTH);
            next_candidates.retain(|c| !dominated.contains_key(c));
            next_candidates.sort_unstable();
            candidates = next_candidates;
        }
        evaluated += visited - tagged - reused;
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
            tagged,
        })
    }

    /// The optimal node when anonymity and the metric are both monotone and the bound is the
    /// metric itself (no suppression; loss, precision or entropy): then every node whose bound
    /// is below the best found so far is better if anonymous, and those nodes form a down-set.
    /// Checking only its maximal nodes decides all of it: if they all fail, every node below
    /// them fails (monotone anonymity) and the best is optimal; if some pass, the best improves
    /// and the smaller region is checked the same way. Nodes below a known failing one are
    /// tagged and not checked.
    fn region_search(
        &self,
        start: (u64, NodeResult),
        tags: &mut Tags,
        mut evaluated: u64,
        memo: &Memo,
    ) -> SearchOutcome {
        // Classes to roll up from: the climbs' low nodes (fewer classes than the bottom).
        let sources: Vec<(Vec<usize>, &Arc<Groups>)> =
            memo.iter().map(|(&i, (g, _))| (self.levels_of(i), g)).collect();
        let mut best = start;
        let mut tagged = 0u64;
        let bounds: Vec<f64> =
            (0..self.size).map(|i| self.metric.lower_bound(&self.levels_of(i))).collect();
        loop {
            let limit = best.1.objective;
            // Maximal nodes of {bound < limit}: every successor is at or above the limit.
            let maximal: Vec<u64> = (0..self.size)
                .filter(|&i| bounds[i as usize] < limit)
                .filter(|&i| self.successors(i).iter().all(|&s| bounds[s as usize] >= limit))
                .collect();
            let (skip, check): (Vec<u64>, Vec<u64>) =
                maximal.into_iter().partition(|&i| tags.rejects(&self.levels_of(i)));
            tagged += skip.len() as u64;
            let results: Vec<(u64, NodeResult)> = check
                .par_iter()
                .map(|&i| {
                    let levels = self.levels_of(i);
                    let source = sources
                        .iter()
                        .filter(|(l, _)| l.iter().zip(&levels).all(|(a, b)| a <= b))
                        .map(|(_, g)| *g)
                        .min_by_key(|g| g.len())
                        .unwrap_or(&self.bottom);
                    let groups = source.roll_up(&self.hierarchies, &levels, &self.domains);
                    (i, self.judge(&groups, &levels).0)
                })
                .collect();
            evaluated += results.len() as u64;
            let mut improved = false;
            for (i, r) in results {
                if r.anonymous {
                    if better(&r, i, Some(&best)) {
                        best = (i, r);
                        improved = true;
                    }
                } else {
                    tags.reject(&self.levels_of(i));
                }
            }
            if !improved {
                break;
            }
        }
        let (index, result) = best;
        SearchOutcome {
            levels: self.levels_of(index),
            suppressed: result.suppressed,
            objective: result.objective,
            optimal: true,
            lattice_size: self.size,
            evaluated,
            pruned: self.size.saturating_sub(evaluated + tagged),
            tagged,
        }
    }

    fn successors(&self, index: u64) -> Vec<u64> {
        let levels = self.levels_of(index);
        (0..levels.len())
            .filter(|&d| levels[d] + 1 < self.heights[d])
            .map(|d| index + self.strides[d])
            .collect()
    }

    /// Rolls `index` up from the computed node with the fewest classes among its nearest
    /// computed specializations: its predecessors (computed at the last height), else theirs,
    /// up to [`ROLL_UP_DEPTH`] heights down, else the bottom. Any specialization works, since
    /// every class of a generalization is a union of its classes.
    fn roll_from_computed(
        &self,
        index: u64,
        recent: &[FxHashMap<u64, Arc<Groups>>],
    ) -> Arc<Groups> {
        if index == 0 {
            return self.bottom.clone();
        }
        let mut layer = vec![index];
        for computed in recent {
            let mut below: Vec<u64> = Vec::with_capacity(layer.len() * self.heights.len());
            for &i in &layer {
                let levels = self.levels_of(i);
                below.extend(
                    (0..levels.len()).filter(|&d| levels[d] > 0).map(|d| i - self.strides[d]),
                );
            }
            below.sort_unstable();
            below.dedup();
            if let Some(source) =
                below.iter().filter_map(|i| computed.get(i)).min_by_key(|g| g.len())
            {
                let levels = self.levels_of(index);
                return Arc::new(source.roll_up(&self.hierarchies, &levels, &self.domains));
            }
            layer = below;
        }
        let levels = self.levels_of(index);
        Arc::new(self.bottom.roll_up(&self.hierarchies, &levels, &self.domains))
    }

    /// The heuristic search, within the wall-clock `budget`, with the default evaluation cap.
    pub fn heuristic(&self, budget: Duration) -> Result<SearchOutcome, AnonError> {
        self.heuristic_with(&HeuristicLimits {
            deadline: Some(Instant::now() + budget),
            ..HeuristicLimits::default()
        })
    }

    /// The heuristic search (see the module docs) within `limits`: it stops when the deadline
    /// passes or `max_evaluations` nodes have been checked, whichever comes first, and returns
    /// the best acceptable node found so far. The fully generalized node is checked first, so
    /// when it is acceptable a result is always returned, however small the budget.
    pub fn heuristic_with(&self, limits: &HeuristicLimits) -> Result<SearchOutcome, AnonError> {
        let mut budget = Budget { deadline: limits.deadline, left: limits.max_evaluations.max(1) };
        let mut tags = Tags::new(self.models.monotone());
        let mut evaluated = 0u64;
        let mut best: Option<(Vec<usize>, NodeResult)> = None;
        let offer = |levels: Vec<usize>, r: NodeResult, best: &mut Option<_>| {
            let index = self.index_of(&levels);
            let current = best
                .as_ref()
                .map(|(l, b): &(Vec<usize>, NodeResult)| (self.index_of(l), b.clone()));
            if r.anonymous && better(&r, index, current.as_ref()) {
                *best = Some((levels, r));
            }
        };
        // The fallback: every attribute at its root.
        let top: Vec<usize> = self.heights.iter().map(|h| h - 1).collect();
        budget.spend();
        evaluated += 1;
        let (top_result, _) = self.judge(&self.groups(&top), &top);
        if !top_result.anonymous {
            tags.reject(&top);
        }
        if top_result.anonymous {
            // Phase 1: descend from the acceptable top, so a tight budget still improves on it.
            let (levels, result, steps) =
                self.descend(top.clone(), top_result.clone(), &mut budget, &mut tags);
            evaluated += steps;
            offer(levels, result, &mut best);
        }
        offer(top, top_result, &mut best);
        let mut rng = SplitMix(limits.seed);
        let mut memo = Memo::default();
        for restart in 0..=limits.restarts {
            if budget.exhausted() {
                break;
            }
            let mut walk = if restart == 0 { Walk::Greedy } else { Walk::Randomized(&mut rng) };
            let climb = self.climb(&mut budget, &mut tags, &mut walk, &mut memo);
            evaluated += climb.evaluated;
            let Some((levels, result)) = climb.found else { continue };
            let (levels, result, steps) =
                self.improve(levels, result, usize::MAX, &mut budget, &mut tags);
            evaluated += steps;
            offer(levels, result, &mut best);
        }
        let (levels, result) =
            best.ok_or(AnonError::NoSolution { limit: self.limit, searched: evaluated })?;
        Ok(SearchOutcome {
            levels,
            suppressed: result.suppressed,
            objective: result.objective,
            optimal: false,
            lattice_size: self.size,
            evaluated,
            pruned: 0,
            tagged: 0,
        })
    }

    /// Moves to the best improving neighbour, at most `steps` times or until the budget is
    /// spent; returns the node reached and the number of nodes evaluated.
    fn improve(
        &self,
        mut levels: Vec<usize>,
        mut result: NodeResult,
        steps: usize,
        budget: &mut Budget,
        tags: &mut Tags,
    ) -> (Vec<usize>, NodeResult, u64) {
        let mut evaluated = 0;
        for _ in 0..steps {
            if budget.exhausted() {
                break;
            }
            let mut moves: Vec<Vec<usize>> = self
                .local_moves(&levels)
                .into_iter()
                .filter(|m| self.metric.lower_bound(m) < result.objective && !tags.rejects(m))
                .collect();
            moves.truncate(budget.take(moves.len()));
            let scored: Vec<(Vec<usize>, NodeResult)> = moves
                .into_par_iter()
                .map(|m| {
                    let groups = self.groups(&m);
                    let (r, _) = self.judge(&groups, &m);
                    (m, r)
                })
                .collect();
            evaluated += scored.len() as u64;
            scored.iter().filter(|(_, r)| !r.anonymous).for_each(|(m, _)| tags.reject(m));
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

    /// From an acceptable node, repeatedly specializes the one attribute whose specialization
    /// stays acceptable and improves the metric most, until none does or the budget is spent.
    fn descend(
        &self,
        mut levels: Vec<usize>,
        mut result: NodeResult,
        budget: &mut Budget,
        tags: &mut Tags,
    ) -> (Vec<usize>, NodeResult, u64) {
        let mut evaluated = 0;
        loop {
            let mut moves: Vec<Vec<usize>> = (0..levels.len())
                .filter(|&d| levels[d] > 0)
                .map(|d| {
                    let mut m = levels.clone();
                    m[d] -= 1;
                    m
                })
                .filter(|m| !tags.rejects(m))
                .collect();
            moves.truncate(budget.take(moves.len()));
            if moves.is_empty() {
                return (levels, result, evaluated);
            }
            let scored: Vec<(Vec<usize>, NodeResult)> = moves
                .into_par_iter()
                .map(|m| {
                    let (r, _) = self.judge(&self.groups(&m), &m);
                    (m, r)
                })
                .collect();
            evaluated += scored.len() as u64;
            scored.iter().filter(|(_, r)| !r.anonymous).for_each(|(m, _)| tags.reject(m));
            match scored
                .into_iter()
                .filter(|(_, r)| r.anonymous && r.objective < result.objective)
                .min_by(|a, b| a.1.objective.total_cmp(&b.1.objective))
            {
                Some((m, r)) => {
                    levels = m;
                    result = r;
                }
                None => return (levels, result, evaluated),
            }
        }
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

    /// A climb from the bottom to the first acceptable node, every step generalizing one
    /// attribute: the greedy walk looks at every successor, the randomized walk at a random half
    /// of them (at least one); either takes the one that leaves the fewest records failing, then
    /// the lowest bound. Nodes found failing are tagged.
    fn climb(
        &self,
        budget: &mut Budget,
        tags: &mut Tags,
        walk: &mut Walk<'_>,
        memo: &mut Memo,
    ) -> Climb {
        let mut levels = vec![0usize; self.heights.len()];
        let mut groups = self.bottom.clone();
        if budget.take(1) == 0 {
            return Climb { found: None, evaluated: 0 };
        }
        let (mut result, _) = self.judge(&groups, &levels);
        let mut evaluated = 1u64;
        loop {
            if result.anonymous {
                return Climb { found: Some((levels, result)), evaluated };
            }
            tags.reject(&levels);
            let mut dims: Vec<usize> =
                (0..levels.len()).filter(|&d| levels[d] + 1 < self.heights[d]).collect();
            if let Walk::Randomized(rng) = walk {
                rng.shuffle(&mut dims);
                dims.truncate(dims.len().div_ceil(2));
            }
            let here = self.index_of(&levels);
            let (known, mut dims): (Vec<usize>, Vec<usize>) =
                dims.into_iter().partition(|&d| memo.contains_key(&(here + self.strides[d])));
            dims.truncate(budget.take(dims.len()));
            let mut steps: Vec<(Vec<usize>, Arc<Groups>, NodeResult)> = dims
                .into_par_iter()
                .map(|d| {
                    let mut next = levels.clone();
                    next[d] += 1;
                    let rolled = Arc::new(groups.roll_up(&self.hierarchies, &next, &self.domains));
                    let (r, _) = self.judge(&rolled, &next);
                    (next, rolled, r)
                })
                .collect();
            evaluated += steps.len() as u64;
            for (next, rolled, r) in &steps {
                if next.iter().sum::<usize>() <= MEMO_HEIGHT {
                    memo.insert(self.index_of(next), (rolled.clone(), r.clone()));
                }
            }
            for d in known {
                let mut next = levels.clone();
                next[d] += 1;
                if let Some((g, r)) = memo.get(&(here + self.strides[d])) {
                    steps.push((next, g.clone(), r.clone()));
                }
            }
            let Some(step) = steps.into_iter().min_by(|a, b| {
                a.2.suppressed.cmp(&b.2.suppressed).then_with(|| {
                    self.metric.lower_bound(&a.0).total_cmp(&self.metric.lower_bound(&b.0))
                })
            }) else {
                return Climb { found: None, evaluated };
            };
            (levels, groups, result) = step;
        }
    }
}

/// Limits of the heuristic search.
#[derive(Clone, Debug)]
pub struct HeuristicLimits {
    /// Stop at this instant (checked before every batch of node evaluations).
    pub deadline: Option<Instant>,
    /// Stop after this many node evaluations: the deadline-independent budget.
    pub max_evaluations: u64,
    /// Randomized climbs after the greedy one.
    pub restarts: usize,
    /// Seed of the (non-cryptographic) generator that diversifies the restarts; it affects
    /// which node is found, never whether it satisfies the models.
    pub seed: u64,
}

impl Default for HeuristicLimits {
    fn default() -> Self {
        Self { deadline: None, max_evaluations: 100_000, restarts: 16, seed: 0x5eed }
    }
}

/// What the heuristic may still spend.
struct Budget {
    deadline: Option<Instant>,
    left: u64,
}

impl Budget {
    fn unlimited() -> Self {
        Self { deadline: None, left: u64::MAX }
    }

    fn exhausted(&self) -> bool {
        self.left == 0 || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Grants up to `wanted` evaluations (0 when exhausted).
    fn take(&mut self, wanted: usize) -> usize {
        if self.exhausted() {
            return 0;
        }
        let granted = (wanted as u64).min(self.left);
        self.left -= granted;
        granted as usize
    }

    fn spend(&mut self) {
        self.left = self.left.saturating_sub(1);
    }
}

/// Predictive tagging (in the spirit of Flash, Kohlmayer et al. 2012): nodes known to fail the
/// models within the suppression limit. When every model is monotone for this limit (see
/// [`crate::models`]), every specialization of a failing node fails too, so it needs no check.
/// Only the maximal failing nodes are kept.
struct Tags {
    monotone: bool,
    failing: Vec<Vec<usize>>,
}

impl Tags {
    fn new(monotone: bool) -> Self {
        Self { monotone, failing: Vec::new() }
    }

    fn reject(&mut self, levels: &[usize]) {
        if !self.monotone || self.rejects(levels) {
            return;
        }
        self.failing.retain(|f| !f.iter().zip(levels).all(|(a, b)| a <= b));
        self.failing.push(levels.to_vec());
    }

    /// Whether `levels` is a specialization of (or equal to) a known failing node.
    fn rejects(&self, levels: &[usize]) -> bool {
        self.monotone && self.failing.iter().any(|f| f.iter().zip(levels).all(|(a, b)| b <= a))
    }
}

/// How a climb picks its steps.
enum Walk<'r> {
    Greedy,
    Randomized(&'r mut SplitMix),
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small non-cryptographic generator, used only to
/// diversify the heuristic's restarts. No privacy property depends on it.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

struct Climb {
    found: Option<(Vec<usize>, NodeResult)>,
    evaluated: u64,
}

/// Classes and verdicts of low nodes computed by climbs, shared by later climbs and the walk
/// (the first steps of every climb are the same few nodes, and the costliest to roll up).
type Memo = FxHashMap<u64, (Arc<Groups>, NodeResult)>;

/// The largest height whose nodes the climbs memoize.
const MEMO_HEIGHT: usize = 3;

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
