//! End-to-end tests of the `onedeck-cli` binary, one module per subcommand.

mod decode;
mod vm;
