//! The `giftpos` command; everything it does is in the library (`src/lib.rs`), which the
//! terminal app's binary also runs for `giftpos-terminal --cli …`.

fn main() -> std::process::ExitCode {
    giftpos::main()
}
