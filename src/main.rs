fn main() -> std::process::ExitCode {
    brightspots::cli::main()
}
