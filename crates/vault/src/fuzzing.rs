//! Entry point for the fuzz target (`crates/fuzz`) and its corpus replay test: the profiles file
//! as someone (or something) else may have written it, parsed without panicking. Not API.

/// `profiles.toml`.
pub fn profiles_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::profiles::parse(std::path::Path::new("profiles.toml"), text);
    }
}
