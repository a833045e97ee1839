//! placeholder
mod support;
fn main() {}
