fn main() {
    std::process::exit(gameday::cli::main());
}
