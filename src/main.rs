fn main() -> std::process::ExitCode {
    deep_review::cli::main()
}
