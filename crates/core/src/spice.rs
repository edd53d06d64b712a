//! The SPICE hand-off's local parts: finding `remote-viewer`, and the `.vv` file that tells it
//! where to connect.
//!
//! The file is virt-viewer's connection file (a GLib key file, group `[virt-viewer]`; its keys
//! are listed in remote-viewer(1), "CONNECTION FILE"). It may hold the console's password, the one
//! secret that reaches a file: remote-viewer reads its connection only from a file or a URI, and
//! a URI would put the password on the command line, where every local user's `ps` sees it. So
//! the file is made 0600 with `create_new` in a 0700 directory that only this user owns (on
//! Linux in `$XDG_RUNTIME_DIR`, which is memory, not disk), carries `delete-this-file=1` so
//! remote-viewer deletes it as it reads it, and the app deletes it too once the viewer has
//! connected or at the latest when the hand-off ends (docs/SECURITY.md).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable naming the remote-viewer program to run, for installs outside
/// `PATH` (a Windows MSI, a macOS app bundle elsewhere).
pub const REMOTE_VIEWER_ENV: &str = "ONEDECK_REMOTE_VIEWER";

/// What to tell a user who has no remote-viewer: the package that brings it, per system.
pub const INSTALL_HINT: &str = "install virt-viewer (Debian/Ubuntu: apt install virt-viewer; \
Fedora: dnf install virt-viewer; macOS: brew install virt-viewer; Windows: the virt-viewer MSI \
from spice-space.org), or set ONEDECK_REMOTE_VIEWER to the program";

/// The program names and places remote-viewer has on each system.
fn candidates() -> (&'static [&'static str], &'static [&'static str]) {
    if cfg!(windows) {
        (&["remote-viewer.exe"], &[])
    } else if cfg!(target_os = "macos") {
        (
            &["remote-viewer"],
            &[
                "/opt/homebrew/bin/remote-viewer",
                "/usr/local/bin/remote-viewer",
                "/Applications/RemoteViewer.app/Contents/MacOS/RemoteViewer",
            ],
        )
    } else {
        (&["remote-viewer"], &[])
    }
}

/// Where remote-viewer is: `override_path` (the setting or [`REMOTE_VIEWER_ENV`]) when given,
/// else the first of its names on `path` (the `PATH` value), else its usual install places.
/// `Err` lists what was looked at.
pub fn find_remote_viewer(
    override_path: Option<&Path>,
    path: Option<OsString>,
) -> Result<PathBuf, String> {
    if let Some(p) = override_path {
        return if is_program(p) {
            Ok(p.to_owned())
        } else {
            Err(format!("{} (not an executable file)", p.display()))
        };
    }
    let (names, places) = candidates();
    let dirs: Vec<PathBuf> = path
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .chain(places.iter().map(PathBuf::from))
        .find(|p| is_program(p))
        .ok_or_else(|| {
            format!(
                "{} on PATH{}",
                names.join(", "),
                if places.is_empty() {
                    String::new()
                } else {
                    format!(", {}", places.join(", "))
                }
            )
        })
}

fn is_program(p: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// What a `.vv` file says.
#[derive(Debug, Clone)]
pub struct VvFile<'a> {
    /// The loopback address of the relay's forward.
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// The console's password, if it has one.
    pub password: Option<&'a str>,
    /// The viewer window's title.
    pub title: &'a str,
}

impl VvFile<'_> {
    /// The file's text. Values are single lines of printable characters: a VM name with a line
    /// break cannot add a key of its own.
    pub fn text(&self) -> String {
        let mut out = String::from("[virt-viewer]\ntype=spice\n");
        out += &format!("host={}\nport={}\n", one_line(self.host), self.port);
        if let Some(pw) = self.password {
            out += &format!("password={}\n", one_line(pw));
        }
        out += &format!("title={}\n", one_line(self.title));
        // The viewer deletes the file as soon as it has read it; the keys after it are
        // virt-viewer's usual release-cursor and full-screen bindings.
        out += "delete-this-file=1\nsecure-attention=ctrl+alt+end\nrelease-cursor=shift+f12\n\
                toggle-fullscreen=shift+f11\n";
        out
    }
}

/// `s` without control characters, and with GLib key-file escapes for what remains special.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    // A leading space would be dropped by the key-file parser.
    if out.starts_with(' ') {
        out.replace_range(..1, "\\s");
    }
    out
}

/// The directory `.vv` files go to: `base` (a test's) or the per-user runtime directory,
/// created 0700. An existing directory must be this user's and not open to others.
///
/// # Errors
/// What the OS said, or why an existing directory is refused.
pub fn vv_dir(base: Option<&Path>) -> std::io::Result<PathBuf> {
    let dir = match base {
        Some(b) => b.to_owned(),
        None => default_dir(),
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::symlink_metadata(&dir)?;
        if !meta.is_dir() || meta.uid() != effective_uid() || meta.permissions().mode() & 0o077 != 0
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} is not a private directory of this user (owner, mode 0700)",
                    dir.display()
                ),
            ));
        }
    }
    Ok(dir)
}

fn default_dir() -> PathBuf {
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(run).join("onedeck");
    }
    #[cfg(unix)]
    {
        std::env::temp_dir().join(format!("onedeck-{}", effective_uid()))
    }
    #[cfg(not(unix))]
    {
        std::env::temp_dir().join("onedeck")
    }
}

#[cfg(unix)]
fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Writes `text` to a new file of random name in `dir`, 0600, never replacing a file.
///
/// # Errors
/// What the OS said.
pub fn write_vv(dir: &Path, text: &str) -> std::io::Result<PathBuf> {
    let mut name = [0u8; 12];
    getrandom::fill(&mut name).map_err(|e| std::io::Error::other(e.to_string()))?;
    let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("console-{hex}.vv"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_add_a_key_to_the_file() {
        let text = VvFile {
            host: "127.0.0.1",
            port: 40123,
            password: Some("pw\nhost=evil"),
            title: " web\n[virt-viewer]\nhost=evil\\x",
        }
        .text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.iter().filter(|l| l.starts_with("host=")).count(), 1);
        assert_eq!(lines.iter().filter(|l| l.starts_with('[')).count(), 1);
        assert!(lines.contains(&"port=40123"));
        assert!(lines.contains(&"password=pw host=evil"));
        assert!(
            lines.contains(&"title=\\sweb [virt-viewer] host=evil\\\\x"),
            "{text}"
        );
        assert!(lines.contains(&"delete-this-file=1"));
        assert_eq!(text.matches("password=").count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn the_viewer_is_found_on_path_or_refused_with_what_was_looked_at() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let empty = dir.path().join("empty");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
        let program = bin.join("remote-viewer");
        std::fs::write(&program, "#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
        let path = std::env::join_paths([&empty, &bin]).unwrap_or_else(|e| panic!("{e}"));
        // Not executable yet: not a program.
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let looked = find_remote_viewer(None, Some(path.clone())).err();
        if cfg!(target_os = "linux") {
            assert_eq!(looked.as_deref(), Some("remote-viewer on PATH"));
        }
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(find_remote_viewer(None, Some(path)), Ok(program.clone()));
        assert_eq!(find_remote_viewer(Some(&program), None), Ok(program));
        let missing = find_remote_viewer(Some(Path::new("/nonexistent/rv")), None);
        assert_eq!(
            missing,
            Err("/nonexistent/rv (not an executable file)".into())
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_in_a_private_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let vv = vv_dir(Some(&dir.path().join("vv"))).unwrap_or_else(|e| panic!("{e}"));
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        assert_eq!(mode(&vv), 0o700);
        let a = write_vv(&vv, "[virt-viewer]\n").unwrap_or_else(|e| panic!("{e}"));
        let b = write_vv(&vv, "[virt-viewer]\n").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b, "a new name each time");
        assert_eq!(mode(&a), 0o600);
        // A directory others can read is refused, not used.
        std::fs::set_permissions(&vv, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = vv_dir(Some(&vv)).err().map(|e| e.kind());
        assert_eq!(refused, Some(std::io::ErrorKind::PermissionDenied));
    }
}
