//! End-to-end tests of the `onedeck-cli` binary, one module per subcommand.

mod audit;
mod decode;
mod vm;
