//! A pool of precomputed `r^N mod N²` values, so that encryption on the hot path is a single
//! multiplication modulo `N²`.
//!
//! The pool is filled offline ([`RandomnessPool::fill`], e.g. overnight, or by the key holder
//! with its CRT shortcut via [`RandomnessPool::fill_as_key_holder`]) or by a background thread
//! ([`RandomnessPool::spawn_refill`]) that keeps it between a low and a high water mark. Each
//! value is handed out exactly once: taking it removes it, so two ciphertexts never share their
//! randomness (which would reveal the ratio of their plaintexts' encodings).
//!
//! Trade-off: precomputed randomness is a secret held in memory until used (whoever reads it can
//! strip the randomness off the ciphertext it will make). Values still in the pool are
//! overwritten when the pool is dropped; a value taken out is used once and freed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use num_bigint::BigUint;

use privacy_core::SecureRng;

use super::cipher::Ciphertext;
use super::keys::{wipe, PublicKey, SecretKey};
use crate::error::{MpcError, Result};

struct Shared {
    values: Mutex<Vec<BigUint>>,
    /// Signalled when a value is taken, so the refill thread can top up.
    taken: Condvar,
    stop: AtomicBool,
}

/// Precomputed `r^N` values for one public key. Cheap to clone (shared).
#[derive(Clone)]
pub struct RandomnessPool {
    key: PublicKey,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RandomnessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RandomnessPool({:?}, {} ready)", self.key, self.len())
    }
}

impl RandomnessPool {
    /// An empty pool for `key`.
    pub fn new(key: &PublicKey) -> Self {
        let shared = Shared {
            values: Mutex::new(Vec::new()),
            taken: Condvar::new(),
            stop: AtomicBool::new(false),
        };
        Self { key: key.clone(), shared: Arc::new(shared) }
    }

    /// The key the pool serves.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// How many values are ready.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no value is ready.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<BigUint>> {
        // A poisoned lock only means another thread panicked while pushing or popping a whole
        // value; the vector itself is always in a consistent state.
        self.shared.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `count` values computed with the public key.
    pub fn fill(&self, count: usize, rng: &mut SecureRng) {
        for _ in 0..count {
            let value = self.key.random_nth_power(rng);
            self.lock().push(value);
        }
    }

    /// Adds `count` values computed by the key holder through the CRT (about 4× faster).
    pub fn fill_as_key_holder(
        &self,
        secret: &SecretKey,
        count: usize,
        rng: &mut SecureRng,
    ) -> Result<()> {
        if secret.public() != &self.key {
            return Err(MpcError::KeyMismatch);
        }
        for _ in 0..count {
            let value = secret.random_nth_power(rng);
            self.lock().push(value);
        }
        Ok(())
    }

    /// Takes one value out of the pool.
    pub fn take(&self) -> Result<BigUint> {
        let value = self.lock().pop().ok_or(MpcError::PoolExhausted)?;
        self.shared.taken.notify_one();
        Ok(value)
    }

    /// Encrypts `m` with a value from the pool; [`MpcError::PoolExhausted`] when it is empty.
    pub fn encrypt(&self, m: &BigUint) -> Result<Ciphertext> {
        self.key.encrypt_with_nth_power(m, self.take()?)
    }

    /// Re-randomizes `c` with a value from the pool.
    pub fn rerandomize(&self, c: &Ciphertext) -> Result<Ciphertext> {
        self.key.rerandomize_with_nth_power(c, self.take()?)
    }

    /// Starts a thread that refills the pool to `high` whenever it falls below `low`, with its
    /// own generator forked from `rng`. The thread stops when the handle is dropped.
    pub fn spawn_refill(&self, low: usize, high: usize, rng: &mut SecureRng) -> RefillHandle {
        let pool = self.clone();
        let mut rng = rng.fork();
        let thread = std::thread::spawn(move || pool.refill_loop(low, high.max(low), &mut rng));
        RefillHandle { shared: Arc::clone(&self.shared), thread: Some(thread) }
    }

    fn refill_loop(&self, low: usize, high: usize, rng: &mut SecureRng) {
        while !self.shared.stop.load(Ordering::Acquire) {
            if self.len() < high {
                let value = self.key.random_nth_power(rng);
                self.lock().push(value);
                continue;
            }
            let guard = self.lock();
            // Sleep until a value is taken and the pool is below the low mark, or stop.
            let _guard = self
                .shared
                .taken
                .wait_while(guard, |values| {
                    values.len() >= low && !self.shared.stop.load(Ordering::Acquire)
                })
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let values = self.values.get_mut().unwrap_or_else(|e| e.into_inner());
        values.iter_mut().for_each(wipe);
    }
}

/// Keeps a refill thread alive; dropping it stops and joins the thread.
pub struct RefillHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RefillHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefillHandle")
    }
}

impl Drop for RefillHandle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Take the lock so the thread is either before its check or waiting, then wake it.
        drop(self.shared.values.lock());
        self.shared.taken.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic in the refill thread already printed its report; nothing to add.
            let _ = thread.join();
        }
    }
}
