//! `onedeck-cli relay`: the console relay, headless, for interop tests and benchmarks.
//!
//! Tokens come from a websockify TokenFile (`TOKEN: HOST:PORT` per line), re-read when the file
//! changes. Such tokens are reusable and never expire: this mode is for trusted local use only.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use onedeck_relay::{OriginPolicy, Relay, RelayConfig, SessionEvent};

/// How often the token file is checked for changes.
const TOKEN_FILE_POLL: Duration = Duration::from_secs(1);
/// How long shutdown waits for sessions to close.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(3);

/// Arguments of `onedeck-cli relay`.
#[derive(Debug, clap::Args)]
// The subcommand's one-line about comes from main.rs; the warning goes after the options, where
// both `-h` and `--help` show it.
#[command(
    after_help = "TRUSTED LOCAL USE ONLY: tokens from the file (websockify TokenFile format, `TOKEN: \
HOST:PORT` per line, re-read when it changes) are reusable and never expire, unlike the app's \
single-use 30-second tickets. Any local process that can read the file can open its targets. Use \
it for interop tests and benchmarks, not to expose consoles. Without --allow-origin, clients that \
send no Origin header (non-browser clients) are accepted and every browser is refused."
)]
pub struct Args {
    /// Loopback address and port to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:6080")]
    pub listen: SocketAddr,
    /// websockify TokenFile: one `TOKEN: HOST:PORT` per line; `#` comments.
    #[arg(long)]
    pub token_file: PathBuf,
    /// A browser Origin allowed to connect, exactly as sent (e.g. http://127.0.0.1:8000). Repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Record every session into this directory (format: docs/RECORDING.md).
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Live sessions at most; more are answered 429.
    #[arg(long, default_value_t = 4096)]
    pub max_sessions: usize,
    /// Target connect timeout, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub connect_timeout_ms: u64,
    /// Close a session after this many seconds without key, pointer, clipboard or resize input
    /// (update requests do not count); 0, the default here, never closes one.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub idle_timeout: u64,
    /// Runtime worker threads: 0 (the default) for one per core, as in the app; 1 runs everything
    /// on one thread (docs/PERFORMANCE.md compares both).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Dial every target through this SSH host (its end resolves the targets' names).
    #[arg(long, value_name = "USER@HOST[:PORT]")]
    pub ssh: Option<String>,
    /// A jump host on the way to --ssh, in order; repeatable.
    #[arg(long = "ssh-jump", value_name = "USER@HOST[:PORT]", requires = "ssh")]
    pub ssh_jump: Vec<String>,
    /// SSH private key file; without it the ssh-agent (SSH_AUTH_SOCK) is used.
    #[arg(long, value_name = "FILE", requires = "ssh")]
    pub identity: Option<PathBuf>,
    /// Read the SSH password (with --identity: the key's passphrase) from standard input's first
    /// line.
    #[arg(long, requires = "ssh")]
    pub secret_stdin: bool,
    /// known_hosts file of keys accepted here (read, and added to by --accept-host-key);
    /// ~/.ssh/known_hosts is read too. Default: OneDeck's own, in its data directory.
    #[arg(long, value_name = "FILE", requires = "ssh")]
    pub known_hosts: Option<PathBuf>,
    /// Accept and remember an SSH host key not known yet, if its fingerprint is exactly this
    /// (`SHA256:…`, as `ssh-keygen -lf` prints it); repeatable.
    #[arg(long, value_name = "SHA256:…", requires = "ssh")]
    pub accept_host_key: Vec<String>,
}

/// Runs `onedeck-cli relay` until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut rt = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    if args.threads > 1 {
        rt.worker_threads(args.threads);
    }
    let rt = rt
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let tokens = onedeck_relay::read_token_file(&args.token_file)?;
    let config = RelayConfig {
        listen: args.listen,
        origins: OriginPolicy::headless(args.allow_origin.clone()),
        max_sessions: args.max_sessions,
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        recording_dir: args.record.clone(),
        input_idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        ..RelayConfig::default()
    };
    // Before the banner: whoever reads it may send SIGTERM at once.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let via = match &args.ssh {
        Some(dest) => Some(ssh_dialer(&args, dest).await?),
        None => None,
    };
    let with_via = |tokens: Vec<onedeck_relay::StaticToken>| -> Vec<onedeck_relay::StaticToken> {
        tokens
            .into_iter()
            .map(|mut t| {
                if let Some(d) = &via {
                    t.target = t.target.via(d.clone());
                }
                t
            })
            .collect()
    };
    let relay = Relay::start(config).await?;
    relay.set_static_tokens(with_via(tokens));
    eprintln!(
        "onedeck-cli relay: listening on ws://{} (token file {}; trusted local use only)",
        relay.local_addr(),
        args.token_file.display()
    );
    let mut events = relay.subscribe();
    let mut mtime = modified(&args.token_file);
    let mut poll = tokio::time::interval(TOKEN_FILE_POLL);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
            _ = poll.tick() => {
                let now = modified(&args.token_file);
                if now != mtime {
                    mtime = now;
                    match onedeck_relay::read_token_file(&args.token_file) {
                        Ok(t) => {
                            tracing::info!(tokens = t.len(), "token file reloaded");
                            relay.set_static_tokens(with_via(t));
                        }
                        Err(e) => tracing::warn!(error = %e, "token file not reloaded; keeping the previous tokens"),
                    }
                }
            }
            ev = events.recv() => match ev {
                Ok(SessionEvent::Ended { id, label, target, stats, reason, recording }) => tracing::info!(
                    session = %id, %label, %target, to_client = stats.bytes_to_client,
                    to_target = stats.bytes_to_target, ms = stats.duration.as_millis() as u64, %reason,
                    recording = recording.as_ref().map(|r| r.path.display().to_string()),
                    head = recording.as_ref().map(|r| r.head.as_str()), "session ended"
                ),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => tracing::debug!(missed = n, "event log lagged"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    let report = relay.shutdown(SHUTDOWN_DEADLINE).await;
    eprintln!(
        "onedeck-cli relay: stopped ({} sessions closed)",
        report.sessions_closed
    );
    Ok(())
}

/// The SSH dialer of `--ssh`, connected once here so that a refused key or login shows at once.
async fn ssh_dialer(
    args: &Args,
    dest: &str,
) -> anyhow::Result<std::sync::Arc<dyn onedeck_relay::Dialer>> {
    use onedeck_ssh::{Error as SshError, SshAuth, SshConfig, SshHop, Zeroizing};
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let mut hops = Vec::new();
    for d in args
        .ssh_jump
        .iter()
        .chain(std::iter::once(&dest.to_owned()))
    {
        hops.push(SshHop::parse(d, &user)?);
    }
    let secret = if args.secret_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the secret from standard input")?;
        Some(Zeroizing::new(
            line.trim_end_matches(['\r', '\n']).to_owned(),
        ))
    } else {
        None
    };
    let auth = match (&args.identity, secret) {
        (Some(path), passphrase) => SshAuth::Key {
            path: path.clone(),
            passphrase,
        },
        (None, Some(password)) => SshAuth::Password(password),
        (None, None) => SshAuth::Agent { socket: None },
    };
    let mut known_hosts = onedeck_core::ssh_known_hosts()?;
    if let Some(file) = &args.known_hosts {
        known_hosts.app_file = file.clone();
    }
    let config = SshConfig::new(hops, auth, known_hosts.clone());
    let dialer = std::sync::Arc::new(onedeck_core::ssh_dialer::SshDialer::new(config));
    for _ in 0..=args.ssh_jump.len() {
        match dialer.tunnel().await {
            Ok(_) => return Ok(dialer),
            Err(SshError::HostKeyUnknown {
                host,
                port,
                fingerprint,
                key,
            }) if args.accept_host_key.contains(&fingerprint) => {
                let key = onedeck_ssh::known_hosts::parse_openssh_key(&key)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                known_hosts.remember(&host, port, &key)?;
                eprintln!(
                    "onedeck-cli relay: accepted the key of {host}:{port} ({fingerprint}) into {}",
                    known_hosts.app_file.display()
                );
            }
            Err(e @ SshError::HostKeyUnknown { .. }) => {
                anyhow::bail!(
                    "{e}. Compare it with the host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` \
                     on it), then run again with --accept-host-key <that fingerprint>"
                )
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(dialer)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
