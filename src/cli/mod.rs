//! Command-line interface. Placeholder entry point until the subcommands land.
pub fn main() -> i32 {
    0
}
