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
    assert!(checked >= 15, "the README block is too short: {checked} lines");
}

#[test]
fn the_readme_leads_with_the_two_statement_snippet() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/axum_service.rs");
    let example_lines: Vec<&str> = example.lines().map(str::trim).collect();
    let first = readme.split("```").nth(1).expect("a code block");
    let first = first.strip_prefix("rust,ignore").expect("the first code block is Rust");
    let statements: Vec<&str> = first.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert_eq!(statements.len(), 2, "two statements: {statements:?}");
    assert!(statements[0].contains("tokengate::discover(") && statements[0].contains(".audience("));
    assert!(statements[1].contains("route_layer(JwtAuthLayer::new(verifier))"));
    for line in statements {
        assert!(example_lines.contains(&line), "README line not in examples/axum_service.rs: {line}");
    }
}
