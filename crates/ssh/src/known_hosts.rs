//! Host keys checked against OpenSSH `known_hosts` files: the user's own (read only) and one the
//! app owns (where keys the user accepted are added).
//!
//! What is read (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): one entry a line, `[marker] hosts
//! keytype base64 [comment]`; hosts are comma-separated patterns (`*` and `?` wildcards, `!`
//! negation), `[host]:port` for ports other than 22, or hashed (`|1|salt|hash`, HMAC-SHA1). The
//! marker `@revoked` makes a key refused wherever it appears; `@cert-authority` lines are skipped
//! (certificates are not accepted here). Files are read up to [`MAX_FILE_BYTES`], lines up to
//! [`MAX_LINE_BYTES`]: anything beyond is ignored, never an error.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use russh::keys::PublicKey;

/// The most of a known_hosts file that is read.
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// Longer lines are skipped.
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// What the files say of a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// A line lists this key for this host.
    Known,
    /// No line lists a key of this type for this host: ask the user.
    Unknown,
    /// A line lists another key of the same type for this host: refuse, loudly.
    Changed {
        /// The file of that line.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
    },
    /// The key is marked `@revoked`.
    Revoked {
        /// The file of that line.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
    },
}

/// The known_hosts files consulted, and the one accepted keys are added to.
#[derive(Debug, Clone)]
pub struct KnownHosts {
    /// Read only (the user's `~/.ssh/known_hosts`, and any the config names).
    pub user_files: Vec<PathBuf>,
    /// The app's own file: read, and appended to (0600) when the user accepts a key.
    pub app_file: PathBuf,
}

impl KnownHosts {
    /// The user's `~/.ssh/known_hosts` (when `home` is known) and the app's file.
    pub fn standard(home: Option<&Path>, app_file: PathBuf) -> Self {
        Self {
            user_files: home
                .map(|h| vec![h.join(".ssh").join("known_hosts")])
                .unwrap_or_default(),
            app_file,
        }
    }

    /// What the files say of `key` for `host` on `port`.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> HostKeyStatus {
        let Some((kind, blob)) = openssh_parts(key) else {
            return HostKeyStatus::Unknown;
        };
        let name = host_port(host, port);
        let mut status = HostKeyStatus::Unknown;
        for file in self
            .user_files
            .iter()
            .chain(std::iter::once(&self.app_file))
        {
            let Some(text) = read_bounded(file) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                let Some(entry) = Entry::parse(line) else {
                    continue;
                };
                if !entry.matches(&name) {
                    continue;
                }
                let same_key = entry.kind == kind && entry.blob == blob;
                let here = || (file.clone(), i + 1);
                match entry.marker {
                    Marker::Revoked if same_key => {
                        let (file, line) = here();
                        // A revoked key is refused whatever else the files say.
                        return HostKeyStatus::Revoked { file, line };
                    }
                    Marker::Revoked | Marker::CertAuthority => {}
                    Marker::None if same_key => status = HostKeyStatus::Known,
                    Marker::None if entry.kind == kind => {
                        if status == HostKeyStatus::Unknown {
                            let (file, line) = here();
                            status = HostKeyStatus::Changed { file, line };
                        }
                    }
                    Marker::None => {}
                }
            }
        }
        status
    }

    /// Adds `key` for `host` on `port` to the app's file (created 0600 with its directory 0700).
    ///
    /// # Errors
    /// What the OS said.
    pub fn remember(&self, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
        let (kind, blob) = openssh_parts(key)
            .ok_or_else(|| std::io::Error::other("the key cannot be written in OpenSSH form"))?;
        if let Some(dir) = self.app_file.parent() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir)?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&self.app_file)?;
        // One write: a line is never interleaved with another writer's.
        f.write_all(format!("{} {kind} {blob}\n", host_port(host, port)).as_bytes())
    }
}

/// A public key from its OpenSSH line (`ssh-ed25519 AAAA… [comment]`), as
/// [`crate::Error::HostKeyUnknown`] carries it.
///
/// # Errors
/// When it is not a key.
pub fn parse_openssh_key(line: &str) -> Result<PublicKey, String> {
    PublicKey::from_openssh(line.trim()).map_err(|e| e.to_string())
}

/// OpenSSH's SHA256 fingerprint of `key`, as `ssh-keygen -l` prints it (`SHA256:…`).
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(russh::keys::HashAlg::Sha256).to_string()
}

/// `host` for port 22, else `[host]:port`, as known_hosts names it.
fn host_port(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The key type and base64 blob of `key`'s OpenSSH line.
fn openssh_parts(key: &PublicKey) -> Option<(String, String)> {
    let line = key.to_openssh().ok()?;
    let mut parts = line.split_whitespace();
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

fn read_bounded(path: &Path) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[derive(Debug, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// One line of a known_hosts file.
#[derive(Debug)]
struct Entry<'a> {
    marker: Marker,
    hosts: &'a str,
    kind: &'a str,
    blob: &'a str,
}

impl<'a> Entry<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        if line.len() > MAX_LINE_BYTES {
            return None;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next()?;
        let marker = match first {
            "@revoked" => Marker::Revoked,
            "@cert-authority" => Marker::CertAuthority,
            m if m.starts_with('@') => return None,
            _ => Marker::None,
        };
        if marker != Marker::None {
            first = fields.next()?;
        }
        Some(Self {
            marker,
            hosts: first,
            kind: fields.next()?,
            blob: fields.next()?,
        })
    }

    /// Whether the hosts field names `name` (`host` or `[host]:port`): some pattern matches and
    /// no negated one does.
    fn matches(&self, name: &str) -> bool {
        let mut matched = false;
        for pattern in self.hosts.split(',') {
            if let Some(negated) = pattern.strip_prefix('!') {
                if wildcard(negated, name) {
                    return false;
                }
            } else if pattern.starts_with("|1|") {
                matched |= hashed_matches(pattern, name);
            } else {
                matched |= wildcard(pattern, name);
            }
        }
        matched
    }
}

/// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
fn hashed_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('|').skip(2);
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Some(Ok(salt)), Some(Ok(hash))) = (
        parts.next().map(|p| b64.decode(p)),
        parts.next().map(|p| b64.decode(p)),
    ) else {
        return false;
    };
    let Ok(mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// OpenSSH's `match_pattern` (shared with the ssh_config reader).
pub(crate) fn wildcard_matches(pattern: &str, name: &str) -> bool {
    wildcard(pattern, name)
}

/// OpenSSH's `match_pattern`: `*` any run, `?` one character, case-insensitive.
fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    // Iterative with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[doc(hidden)]
/// Fuzzing entry: parses every line of `text` and matches it against `name`.
pub fn fuzz_entries(text: &str, name: &str) -> usize {
    text.lines()
        .filter_map(Entry::parse)
        .filter(|e| e.matches(name))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti";

    fn key(line: &str) -> PublicKey {
        PublicKey::from_openssh(line).unwrap_or_else(|e| panic!("{e}"))
    }

    fn hosts(lines: &str) -> (tempfile::TempDir, KnownHosts) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let user = dir.path().join("known_hosts");
        std::fs::write(&user, lines).unwrap_or_else(|e| panic!("{e}"));
        let kh = KnownHosts {
            user_files: vec![user],
            app_file: dir.path().join("app").join("known_hosts"),
        };
        (dir, kh)
    }

    #[test]
    fn plain_wildcard_port_and_negated_entries() {
        let (_d, kh) = hosts(&format!(
            "# comment\nfront.example,10.0.0.1 {ED}\n[jump.example]:2222 {ED}\n*.lab,!bad.lab {ED}\n"
        ));
        let k = key(ED);
        assert_eq!(kh.check("front.example", 22, &k), HostKeyStatus::Known);
        assert_eq!(kh.check("10.0.0.1", 22, &k), HostKeyStatus::Known);
        assert_eq!(kh.check("FRONT.example", 22, &k), HostKeyStatus::Known);
        assert_eq!(kh.check("jump.example", 2222, &k), HostKeyStatus::Known);
        assert_eq!(kh.check("jump.example", 22, &k), HostKeyStatus::Unknown);
        assert_eq!(kh.check("node1.lab", 22, &k), HostKeyStatus::Known);
        assert_eq!(kh.check("bad.lab", 22, &k), HostKeyStatus::Unknown);
        assert_eq!(kh.check("other", 22, &k), HostKeyStatus::Unknown);
    }

    #[test]
    fn another_key_of_the_same_type_is_a_change_naming_the_line() {
        let (d, kh) = hosts(&format!("\nfront.example {ED2}\n"));
        assert_eq!(
            kh.check("front.example", 22, &key(ED)),
            HostKeyStatus::Changed {
                file: d.path().join("known_hosts"),
                line: 2
            }
        );
    }

    #[test]
    fn hashed_entries_match_their_host_only() {
        // Made with `ssh-keygen -H` for front.example: salt and HMAC-SHA1.
        let salt = [7u8; 20];
        let mut mac =
            hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap_or_else(|e| panic!("{e}"));
        mac.update(b"front.example");
        let b64 = base64::engine::general_purpose::STANDARD;
        let pattern = format!(
            "|1|{}|{}",
            b64.encode(salt),
            b64.encode(mac.finalize().into_bytes())
        );
        let (_d, kh) = hosts(&format!("{pattern} {ED}\n"));
        assert_eq!(
            kh.check("front.example", 22, &key(ED)),
            HostKeyStatus::Known
        );
        assert_eq!(
            kh.check("other.example", 22, &key(ED)),
            HostKeyStatus::Unknown
        );
    }

    #[test]
    fn revoked_wins_and_cert_authorities_are_skipped() {
        let (_d, kh) = hosts(&format!(
            "front.example {ED}\n@revoked * {ED}\n@cert-authority *.lab {ED2}\n@bogus x {ED}\n"
        ));
        assert!(matches!(
            kh.check("front.example", 22, &key(ED)),
            HostKeyStatus::Revoked { line: 2, .. }
        ));
        assert_eq!(kh.check("n.lab", 22, &key(ED2)), HostKeyStatus::Unknown);
    }

    #[test]
    fn remembered_keys_are_known_and_the_file_is_private() {
        let (_d, kh) = hosts("");
        let k = key(ED);
        assert_eq!(kh.check("front.example", 2222, &k), HostKeyStatus::Unknown);
        kh.remember("front.example", 2222, &k)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kh.check("front.example", 2222, &k), HostKeyStatus::Known);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&kh.app_file)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        assert!(fingerprint(&k).starts_with("SHA256:"));
    }

    #[test]
    fn wildcards_are_linear_and_exact() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard("n?de*.lab", "node12.lab"));
        assert!(!wildcard("n?de*.lab", "nde1.lab"));
        assert!(!wildcard("*.lab", "lab"));
        let long = "a".repeat(10_000);
        assert!(!wildcard(&"*a".repeat(50), &(long + "b")));
    }

    #[test]
    fn junk_lines_are_ignored() {
        let junk =
            "x\n@revoked\nhost-only\nhost type\n\u{0}\u{1}\n".to_owned() + &"z".repeat(70_000);
        assert_eq!(fuzz_entries(&junk, "host"), 0);
    }
}
