//! The README's axum example is `examples/axum_service.rs`: every code line of the one
//! appears in the other, so the README cannot show code that no longer compiles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[test]
fn the_readme_axum_example_is_the_compiled_example() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/axum_service.rs");
    let section = readme.split("## In an axum service").nth(1).expect("README has the axum section");
    let block = section.split("```rust,ignore").nth(1).and_then(|b| b.split("```").next()).expect("a rust block");
    let example_lines: Vec<&str> = example.lines().map(str::trim).collect();
    let mut checked = 0;
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(example_lines.contains(&line), "README line not in examples/axum_service.rs: {line}");
        checked += 1;
    }
    assert!(checked >= 20, "the README block is too short: {checked} lines");
}
