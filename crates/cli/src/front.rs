//! How the CLI reaches an endpoint: always through `onedeck-core`, with a stored profile
//! (`--profile ID|NAME`, its secret from the OS keyring) or with the direct flags
//! (`--endpoint URL --user NAME --password-stdin`, nothing saved).

use std::io::BufRead as _;
use std::path::PathBuf;

use onedeck_core::{
    AuthModeName, DIRECT_PROFILE_ID, Deck, DeckConfig, Error, ProfileId, ProfileInput, VmFilterName,
};

/// The direct-endpoint flags, shared by `vm` and `template`.
#[derive(Debug, Clone, clap::Args)]
pub struct Direct {
    /// XML-RPC endpoint, e.g. https://frontend:2633/RPC2 (instead of --profile).
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// OpenNebula user name (with --endpoint).
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Read the password (or login token) from the first line of stdin; otherwise
    /// `ONEDECK_PASSWORD` is used.
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// PEM CA bundle to trust for an https endpoint (with --endpoint).
    #[arg(long, global = true, alias = "ca-bundle", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// SHA-256 fingerprint of the certificate to pin (with --endpoint).
    #[arg(long, global = true, value_name = "HEX")]
    pub pin_sha256: Option<String>,
    /// Accept a plain http:// endpoint on another machine (the password crosses the network in
    /// clear; loopback needs no confirmation).
    #[arg(long, global = true)]
    pub allow_plain_http: bool,
}

/// What went wrong, sorted by exit code: 1 for OpenNebula or input errors, 2 for usage.
#[derive(Debug)]
pub enum Failure {
    /// The command line is incomplete or contradicts itself (exit 2).
    Usage(String),
    /// OneDeck or OpenNebula refused (exit 1).
    Core(Error),
    /// Anything else (exit 1).
    Other(anyhow::Error),
    /// Exit 1, the command already printed why (e.g. as JSON).
    Silent,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Other(e)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Self::Other(e.into())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Other(e.into())
    }
}

/// Short for a command's result.
pub type Outcome<T = ()> = Result<T, Failure>;

/// A headless deck and the session to use.
pub struct Connected {
    /// The deck (no relay, no demo).
    pub deck: Deck,
    /// The profile id of the session (`direct` for the direct flags).
    pub id: ProfileId,
}

/// Runs `f` on a current-thread runtime with a signed-in headless deck.
pub fn with_session<T>(
    profile: Option<&str>,
    direct: &Direct,
    f: impl AsyncFnOnce(&Connected) -> Outcome<T>,
) -> Outcome<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let connected = connect(profile, direct).await?;
        let out = f(&connected).await;
        connected.deck.shutdown().await;
        out
    })
}

async fn connect(profile: Option<&str>, direct: &Direct) -> Outcome<Connected> {
    let direct_given = direct.endpoint.is_some() || direct.user.is_some();
    match (profile, direct_given) {
        (Some(_), true) => Err(Failure::Usage(
            "--profile and --endpoint/--user are alternatives: give one".into(),
        )),
        (None, false) => Err(Failure::Usage(
            "say which endpoint: --profile ID|NAME, or --endpoint URL --user NAME --password-stdin"
                .into(),
        )),
        (Some(name), false) => {
            let deck = Deck::start(DeckConfig::headless()).await?;
            let found = deck.find_profile(name).await?;
            deck.sign_in(&found.id, None, false).await?;
            Ok(Connected { deck, id: found.id })
        }
        (None, true) => {
            let (Some(url), Some(user)) = (&direct.endpoint, &direct.user) else {
                return Err(Failure::Usage("--endpoint and --user go together".into()));
            };
            let password = read_password(direct.password_stdin)?;
            let deck = Deck::start(DeckConfig::headless()).await?;
            let input = ProfileInput {
                id: None,
                name: "command line".into(),
                url: url.clone(),
                user: user.clone(),
                auth_mode: AuthModeName::Password,
                vm_filter: VmFilterName::Mine,
                pinned_sha256: direct.pin_sha256.clone(),
                ca_file: direct.ca_file.as_ref().map(|p| p.display().to_string()),
                token_ttl_secs: None,
                renew_before_secs: None,
                console_hosts: None,
                allow_plain_http: direct.allow_plain_http,
                record_consoles: false,
                console_transport: None,
            };
            deck.sign_in_direct(input, password).await?;
            let id = ProfileId::parse(DIRECT_PROFILE_ID).map_err(Error::from)?;
            Ok(Connected { deck, id })
        }
    }
}

/// The first line of stdin, without its line end.
pub fn stdin_line() -> Outcome<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_password(from_stdin: bool) -> Outcome<String> {
    if from_stdin {
        let pw = stdin_line()?;
        if pw.is_empty() {
            return Err(Failure::Usage(
                "--password-stdin: stdin gave an empty password".into(),
            ));
        }
        return Ok(pw);
    }
    std::env::var("ONEDECK_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Failure::Usage("no password: pass --password-stdin or set ONEDECK_PASSWORD".into())
        })
}

/// Prints `value` as pretty JSON.
pub fn print_json(value: &impl serde::Serialize) -> Outcome {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The process exit code for a failure, after one clear line on stderr (oned's own message when
/// it sent one).
pub fn report(failure: Failure) -> std::process::ExitCode {
    match failure {
        Failure::Usage(msg) => {
            eprintln!("onedeck-cli: {msg}");
            std::process::ExitCode::from(2)
        }
        Failure::Core(e) => {
            let kind = serde_json::to_value(e.kind())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let text = e.to_string().replace('\n', " ");
            eprintln!("onedeck-cli: {text} [{kind}]");
            std::process::ExitCode::from(1)
        }
        Failure::Other(e) => {
            eprintln!("onedeck-cli: {}", format!("{e:#}").replace('\n', " "));
            std::process::ExitCode::from(1)
        }
        Failure::Silent => std::process::ExitCode::from(1),
    }
}
