//! Anonymization of patient tables.
//!
//! **Status: not yet implemented.** This crate will hold k-anonymity, l-diversity and
//! t-closeness with generalization-hierarchy search, masking, keyed pseudonymization, the
//! HIPAA Safe Harbor profile and differentially private synthetic data. It exposes nothing yet,
//! so that nothing can be mistaken for a working anonymizer.
