//! Engine unit tests (pure parts); end-to-end behaviour is tested against the embedded
//! fleet in `tests/engine.rs` and `tests/scenarios.rs`.

use super::new_run_id;

#[test]
fn run_ids_are_short_distinct_labels() {
    let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_run_id()).collect();
    assert_eq!(ids.len(), 1000);
    for id in &ids {
        assert_eq!(id.len(), 8);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
