//! One million short-lived `jti` rules expire and the heap returns close to where it
//! started. Measured with a counting allocator (this test binary's own), not with timers.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::alloc::System;
use std::time::Duration;

use cap::Cap;
use tokengate_core::{Clock, FixedClock};
use tokengate_revocation::{MemoryStore, RuleKey};

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

fn live() -> isize {
    isize::try_from(ALLOC.allocated()).unwrap()
}

const RULES: usize = 1_000_000;

#[test]
fn a_million_expired_jti_rules_give_their_memory_back() {
    let clock = FixedClock::new(1_800_000_000);
    let store = MemoryStore::builder()
        .clock(clock.clone())
        .max_token_lifetime(Duration::from_secs(300))
        .skew(Duration::ZERO)
        .build();
    // One long-lived rule, so the table is not empty at the start or the end.
    store.insert(RuleKey::subject("https://issuer.example", "keeper").unwrap(), Some(clock.now() + 3600));
    let start = live();

    for i in 0..RULES {
        let jti = format!("{i:032x}-0000-4000-8000-000000000000");
        store.insert(RuleKey::jti("https://issuer.example", &jti).unwrap(), None);
    }
    assert_eq!(store.len(), RULES + 1);
    let peak = live();

    clock.advance(301);
    assert_eq!(store.sweep(), RULES);
    assert_eq!(store.len(), 1);
    let end = live();

    eprintln!(
        "memory: start {} KiB, with {RULES} rules {} KiB ({} B/rule), after expiry {} KiB ({:+} KiB)",
        start / 1024,
        peak / 1024,
        (peak - start) / RULES as isize,
        end / 1024,
        (end - start) / 1024
    );
    assert!(peak - start > 100 * RULES as isize, "the rules were held: {} bytes", peak - start);
    // Close to where it started: within 1 MiB (the peak is over 100 MiB).
    assert!(end - start < 1024 * 1024, "after expiry {} bytes more than at the start", end - start);
}
