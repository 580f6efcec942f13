//! Federated learning across institutions: raw records never leave a site.
//!
//! **Status: not yet implemented.** This crate will hold federated averaging with secure
//! aggregation, client-level differential privacy and convergence monitoring, for simulated
//! sites in one process and real sites as separate processes. It exposes nothing yet.
