//! `onedeck-cli profile`: endpoint profiles and their secrets, from the shell.
//!
//! The password is read from standard input (`--password-stdin`) or from a terminal prompt, never
//! from an argument (arguments are visible to every user in `ps`). Adding, testing and removing
//! go through `onedeck-core`, as the app does (sign in before saving, the token trade, the
//! keyring, the cached inventory); `list` and `show` print the profiles file as it is.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use onedeck_core::{
    AuthModeName, Deck, DeckConfig, ProfileInput, SecretRemoved, TransportView, VmFilterName,
};
use onedeck_vault::{AuthMode, ProfileId, ProfileStore, SecretStore};

use crate::front::{Failure, Outcome};

/// Arguments of `onedeck-cli profile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory of `profiles.toml` (default: the OS config dir).
    #[arg(long, global = true, env = "ONEDECK_CONFIG_DIR", value_name = "DIR")]
    config_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add a profile (or replace one with --id) and store its secret in the OS keyring.
    Add(Box<AddArgs>),
    /// List the profiles.
    List,
    /// Show one profile and whether its secret is in the keyring.
    Show {
        /// Profile id.
        id: String,
    },
    /// Remove a profile, its secret and its cached inventory.
    Remove {
        /// Profile id.
        id: String,
    },
    /// Sign in with the stored secret (`one.user.info(-1)`) and report who you are.
    Test {
        /// Profile id.
        id: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FilterArg {
    /// Your VMs.
    Mine,
    /// Your VMs and your groups'.
    MineAndGroups,
    /// Every VM you may see.
    All,
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// Display name.
    #[arg(long)]
    name: String,
    /// XML-RPC endpoint, e.g. http://frontend:2633/RPC2.
    #[arg(long)]
    url: String,
    /// OpenNebula user name.
    #[arg(long)]
    user: String,
    /// Replace the profile with this id instead of creating a new one.
    #[arg(long)]
    id: Option<String>,
    /// Read the password from standard input (one line, or everything up to EOF).
    #[arg(long)]
    password_stdin: bool,
    /// Trade the password for a login token now and keep only the token (lifetime in seconds).
    #[arg(long, value_name = "SECONDS")]
    login_token: Option<u64>,
    /// With --login-token: renew when fewer than this many seconds are left.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    renew_before: u64,
    /// PEM file of CA certificates to trust for this endpoint.
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// SHA-256 fingerprint of the server certificate to pin (64 hex digits, ':' allowed).
    #[arg(long, value_name = "HEX")]
    pin_sha256: Option<String>,
    /// Default VM filter.
    #[arg(long, value_enum, default_value_t = FilterArg::Mine)]
    filter: FilterArg,
    /// Accept a plain http:// URL to another machine (the password crosses the network in clear).
    #[arg(long)]
    allow_plain_http: bool,
    /// Record this endpoint's console sessions (screen, keys typed, clicks; docs/RECORDING.md).
    #[arg(long)]
    record_consoles: bool,
    /// Console address override, HOST=ADDRESS (repeatable).
    #[arg(long = "console-host", value_name = "HOST=ADDRESS")]
    console_hosts: Vec<String>,
    /// Reach the consoles through SSH as USER on HOST (default: the URL's host; port 22).
    #[arg(long, value_name = "USER@[HOST][:PORT]")]
    ssh: Option<String>,
    /// A jump host before the SSH host, USER@HOST[:PORT]; repeatable, in order.
    #[arg(long = "ssh-jump", value_name = "USER@HOST[:PORT]", requires = "ssh")]
    ssh_jumps: Vec<String>,
    /// How to authenticate to the SSH hosts (key needs --ssh-identity). A password or key
    /// passphrase is asked for when a console first needs it.
    #[arg(long, value_enum, default_value_t = SshAuthArg::Agent, requires = "ssh")]
    ssh_auth: SshAuthArg,
    /// The SSH private key file, for --ssh-auth key.
    #[arg(long, value_name = "PATH", requires = "ssh")]
    ssh_identity: Option<PathBuf>,
}

/// `--ssh-auth`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SshAuthArg {
    Agent,
    Key,
    Password,
}

/// `--ssh USER@[HOST][:PORT]` and its companions as a console transport.
fn ssh_transport(add: &AddArgs) -> Result<Option<TransportView>, Failure> {
    let Some(dest) = &add.ssh else {
        return Ok(None);
    };
    let usage = || Failure::Usage(format!("--ssh {dest:?}: expected USER@[HOST][:PORT]"));
    let (user, rest) = dest.split_once('@').ok_or_else(usage)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            (h, p.parse::<u16>().map_err(|_| usage())?)
        }
        _ => (rest, 22),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(Some(TransportView::Ssh {
        host: (!host.is_empty()).then(|| host.to_owned()),
        port,
        user: user.to_owned(),
        jumps: add.ssh_jumps.clone(),
        auth: match add.ssh_auth {
            SshAuthArg::Agent => onedeck_vault::SshAuthKind::Agent,
            SshAuthArg::Key => onedeck_vault::SshAuthKind::Key,
            SshAuthArg::Password => onedeck_vault::SshAuthKind::Password,
        },
        identity_file: add.ssh_identity.as_ref().map(|p| p.display().to_string()),
    }))
}

/// Runs `onedeck-cli profile`.
pub fn run(args: Args, json: bool) -> Outcome {
    let config = DeckConfig {
        config_dir: args.config_dir.clone(),
        ..DeckConfig::headless()
    };
    let profiles = match &args.config_dir {
        Some(dir) => ProfileStore::in_dir(dir).map_err(anyhow::Error::from)?,
        None => ProfileStore::open_default().map_err(anyhow::Error::from)?,
    };
    match args.command {
        Command::Add(add) => run_add(config, *add),
        Command::List => Ok(run_list(&profiles, json)?),
        Command::Show { id } => Ok(run_show(&profiles, &parse_id(&id)?, json)?),
        Command::Remove { id } => run_remove(config, &parse_id(&id)?),
        Command::Test { id } => run_test(config, &parse_id(&id)?),
    }
}

fn parse_id(text: &str) -> anyhow::Result<ProfileId> {
    Ok(ProfileId::parse(text)?)
}

fn runtime() -> Outcome<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn run_add(config: DeckConfig, add: AddArgs) -> Outcome {
    let mut console_hosts = BTreeMap::new();
    for pair in &add.console_hosts {
        let Some((host, address)) = pair.split_once('=') else {
            return Err(Failure::Usage(format!(
                "--console-host {pair:?}: expected HOST=ADDRESS"
            )));
        };
        console_hosts.insert(host.trim().to_owned(), address.trim().to_owned());
    }
    let input = ProfileInput {
        id: add.id.clone(),
        name: add.name.clone(),
        url: add.url.clone(),
        user: add.user.clone(),
        auth_mode: if add.login_token.is_some() {
            AuthModeName::LoginToken
        } else {
            AuthModeName::Password
        },
        vm_filter: match add.filter {
            FilterArg::Mine => VmFilterName::Mine,
            FilterArg::MineAndGroups => VmFilterName::MineAndGroups,
            FilterArg::All => VmFilterName::All,
        },
        pinned_sha256: add.pin_sha256.clone(),
        ca_file: add.ca_file.as_ref().map(|p| p.display().to_string()),
        token_ttl_secs: add.login_token,
        renew_before_secs: add.login_token.map(|_| add.renew_before),
        console_hosts: Some(console_hosts),
        allow_plain_http: add.allow_plain_http,
        record_consoles: add.record_consoles,
        console_transport: ssh_transport(&add)?,
    };
    runtime()?.block_on(async {
        let deck = Deck::start(config).await?;
        let out = async {
            // "No keyring" should not cost the user a typed password: ask the keyring first.
            deck.keyring_check().await?;
            let password = read_password(add.password_stdin, &add.user, &add.url)?;
            let saved = deck.save_profile(input, Some(password), false).await?;
            println!("{}", saved.id);
            Ok(())
        }
        .await;
        deck.shutdown().await;
        out
    })
}

/// Reads the password from stdin or a terminal prompt; empty is refused.
fn read_password(from_stdin: bool, user: &str, url: &str) -> Outcome<String> {
    let text = if from_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        let secret = zeroize::Zeroizing::new(text);
        let trimmed = secret
            .strip_suffix('\n')
            .map(|s| s.strip_suffix('\r').unwrap_or(s))
            .unwrap_or(&secret);
        trimmed.to_owned()
    } else {
        rpassword::prompt_password(format!("Password for {user} at {url}: ")).map_err(|_| {
            Failure::Usage(
                "no terminal to ask for the password; pipe it in with --password-stdin".into(),
            )
        })?
    };
    if text.is_empty() {
        return Err(Failure::Usage("the password is empty".into()));
    }
    Ok(text)
}

fn run_list(profiles: &ProfileStore, json: bool) -> anyhow::Result<()> {
    let list = profiles.list()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no profiles in {}", profiles.path().display());
        return Ok(());
    }
    println!("{:<32} {:<20} {:<16} URL", "ID", "NAME", "USER");
    for p in list {
        println!("{:<32} {:<20} {:<16} {}", p.id, p.name, p.user, p.url);
    }
    Ok(())
}

/// Where the secret stands, in words (never the secret itself).
fn secret_status(id: &ProfileId) -> String {
    match SecretStore::os_keyring().and_then(|s| s.get(id)) {
        Ok(Some(_)) => "stored in the OS keyring".into(),
        Ok(None) => "none stored (run `profile add --id` to set one)".into(),
        Err(e) => format!("unknown: {e}"),
    }
}

fn run_show(profiles: &ProfileStore, id: &ProfileId, json: bool) -> anyhow::Result<()> {
    let p = profiles.get(id)?;
    if json {
        let mut value = serde_json::to_value(&p)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("secret".into(), secret_status(id).into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("id:        {}", p.id);
    println!("name:      {}", p.name);
    println!("url:       {}", p.url);
    println!("user:      {}", p.user);
    match p.auth {
        AuthMode::Password => println!("auth:      password"),
        AuthMode::LoginToken {
            token_ttl_secs,
            renew_before_secs,
        } => println!(
            "auth:      login token ({token_ttl_secs} s, renewed {renew_before_secs} s before expiry)"
        ),
    }
    if let Some(ca) = &p.tls.ca_file {
        println!("ca file:   {}", ca.display());
    }
    if let Some(pin) = &p.tls.pinned_sha256 {
        println!("pinned:    {pin}");
    }
    println!("vm filter: {:?}", p.vm_filter);
    for (host, address) in &p.console_hosts {
        println!("console:   {host} -> {address}");
    }
    match &p.console_transport {
        onedeck_vault::ConsoleTransport::Direct => println!("consoles:  direct"),
        onedeck_vault::ConsoleTransport::Ssh(ssh) => {
            let host = ssh
                .host
                .clone()
                .or_else(|| p.endpoint_host())
                .unwrap_or_default();
            let via: String = ssh.jumps.iter().map(|j| format!(" via {j}")).collect();
            println!(
                "consoles:  through ssh {}@{host}:{}{via} ({:?} auth)",
                ssh.user, ssh.port, ssh.auth
            );
        }
    }
    println!("secret:    {}", secret_status(id));
    Ok(())
}

fn run_remove(config: DeckConfig, id: &ProfileId) -> Outcome {
    runtime()?.block_on(async {
        let deck = Deck::start(config).await?;
        let out = deck.remove_profile(id).await;
        deck.shutdown().await;
        println!("removed profile {id}");
        match out? {
            SecretRemoved::Deleted => println!("its secret was deleted from the OS keyring"),
            SecretRemoved::NoneStored => println!("it had no stored secret"),
            SecretRemoved::MayRemain => eprintln!(
                "warning: the keyring could not be asked, so its secret (service \"onedeck\", \
                 account \"{id}\") may still be stored; remove it once the keyring is back"
            ),
        }
        Ok(())
    })
}

fn run_test(config: DeckConfig, id: &ProfileId) -> Outcome {
    runtime()?.block_on(async {
        let deck = Deck::start(config).await?;
        let out = deck.sign_in(id, None, false).await;
        deck.shutdown().await;
        let p = out?;
        println!("signed in to {} as {}", p.url, p.user);
        Ok(())
    })
}
