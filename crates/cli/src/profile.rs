//! `onedeck-cli profile`: endpoint profiles and their secrets, from the shell.
//!
//! The password is read from standard input (`--password-stdin`) or from a terminal prompt, never
//! from an argument (arguments are visible to every user in `ps`). All logic lives in
//! `onedeck-vault` (profiles, keyring), `onedeck-store` (cached inventory) and
//! `onedeck-opennebula` (`test` signs in).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use onedeck_vault::{
    AuthMode, Profile, ProfileId, ProfileStore, SecretRemoval, SecretStore, Vault, VmFilter,
};

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
    Add(AddArgs),
    /// List the profiles.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one profile and whether its secret is in the keyring.
    Show {
        /// Profile id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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
    /// Console address override, HOST=ADDRESS (repeatable).
    #[arg(long = "console-host", value_name = "HOST=ADDRESS")]
    console_hosts: Vec<String>,
}

/// Runs `onedeck-cli profile`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let profiles = match &args.config_dir {
        Some(dir) => ProfileStore::in_dir(dir)?,
        None => ProfileStore::open_default()?,
    };
    match args.command {
        Command::Add(add) => run_add(profiles, add),
        Command::List { json } => run_list(&profiles, json),
        Command::Show { id, json } => run_show(&profiles, &parse_id(&id)?, json),
        Command::Remove { id } => run_remove(profiles, &parse_id(&id)?),
        Command::Test { id } => run_test(&profiles, &parse_id(&id)?),
    }
}

fn parse_id(text: &str) -> anyhow::Result<ProfileId> {
    Ok(ProfileId::parse(text)?)
}

fn run_add(profiles: ProfileStore, add: AddArgs) -> anyhow::Result<()> {
    let mut profile = Profile::new(&add.name, &add.url, &add.user)?;
    if let Some(id) = &add.id {
        profile.id = parse_id(id)?;
    }
    profile.tls.ca_file = add.ca_file;
    profile.tls.pinned_sha256 = add.pin_sha256;
    profile.vm_filter = match add.filter {
        FilterArg::Mine => VmFilter::Mine,
        FilterArg::MineAndGroups => VmFilter::MineAndGroups,
        FilterArg::All => VmFilter::All,
    };
    for pair in &add.console_hosts {
        let Some((host, address)) = pair.split_once('=') else {
            bail!("--console-host {pair:?}: expected HOST=ADDRESS");
        };
        profile
            .console_hosts
            .insert(host.trim().to_owned(), address.trim().to_owned());
    }
    if let Some(ttl) = add.login_token {
        profile.auth = AuthMode::LoginToken {
            token_ttl_secs: ttl,
            renew_before_secs: add.renew_before,
        };
    }
    // Check the fields before asking for a password the user would then type in vain.
    profile.normalize()?;
    // Connect before prompting too: "no keyring" should not cost the user a typed password.
    let secrets = SecretStore::os_keyring()?;
    secrets.check()?;
    let password = read_password(add.password_stdin, &profile)?;
    let secret = match profile.auth {
        AuthMode::Password => password,
        AuthMode::LoginToken { token_ttl_secs, .. } => {
            let token = runtime()?.block_on(login_token(&profile, &password, token_ttl_secs))?;
            onedeck_vault::Secret::new(token.expose().to_owned())
        }
    };
    let vault = Vault::new(profiles, secrets);
    let saved = vault.save_profile(profile, Some(&secret))?;
    println!("{}", saved.id);
    Ok(())
}

/// Reads the password from stdin or a terminal prompt; empty is refused.
fn read_password(from_stdin: bool, profile: &Profile) -> anyhow::Result<onedeck_vault::Secret> {
    let text = if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the password from standard input")?;
        let secret = zeroize::Zeroizing::new(text);
        let trimmed = secret
            .strip_suffix('\n')
            .map(|s| s.strip_suffix('\r').unwrap_or(s))
            .unwrap_or(&secret);
        trimmed.to_owned()
    } else {
        rpassword::prompt_password(format!(
            "Password for {} at {}: ",
            profile.user, profile.url
        ))
        .context("no terminal to ask for the password; pipe it in with --password-stdin")?
    };
    let secret = onedeck_vault::Secret::new(text);
    if secret.is_empty() {
        bail!("the password is empty");
    }
    Ok(secret)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A client of the profile's endpoint with the given secret (password or token).
fn client(profile: &Profile, secret: &str) -> anyhow::Result<onedeck_opennebula::Client> {
    let mut endpoint = onedeck_opennebula::Endpoint::new(profile.url.clone());
    if let Some(ca) = &profile.tls.ca_file {
        endpoint.ca_bundle_pem = Some(
            std::fs::read_to_string(ca)
                .with_context(|| format!("reading the CA file {}", ca.display()))?,
        );
    }
    if let Some(pin) = &profile.tls.pinned_sha256 {
        endpoint.pinned_sha256 = Some(pin.parse()?);
    }
    endpoint.host_overrides = profile.console_hosts.clone();
    let credentials = onedeck_opennebula::Credentials::new(profile.user.clone(), secret.to_owned());
    Ok(onedeck_opennebula::Client::new(endpoint, credentials)?)
}

async fn login_token(
    profile: &Profile,
    password: &onedeck_vault::Secret,
    ttl: u64,
) -> anyhow::Result<onedeck_opennebula::Secret> {
    let client = client(profile, password.expose())?;
    let seconds = u32::try_from(ttl).unwrap_or(u32::MAX);
    client
        .login_token_create(onedeck_opennebula::TokenValidity::Seconds(seconds), None)
        .await
        .context("trading the password for a login token (one.user.login)")
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
    println!("secret:    {}", secret_status(id));
    Ok(())
}

fn run_remove(profiles: ProfileStore, id: &ProfileId) -> anyhow::Result<()> {
    // A profile must stay removable without a keyring: the secret store then reports "left".
    let secrets = SecretStore::os_keyring().unwrap_or_else(|_| SecretStore::session_only());
    let keyring_missing = secrets.is_session_only();
    let vault = Vault::new(profiles, secrets);
    let (profile, removal) = vault.remove_profile(id)?;
    println!("removed profile {} ({})", profile.id, profile.name);
    match removal {
        SecretRemoval::Deleted => println!("its secret was deleted from the OS keyring"),
        SecretRemoval::NoneStored if keyring_missing => eprintln!(
            "warning: no keyring is reachable, so its secret (service \"onedeck\", account \"{}\") \
             may still be stored; remove it once the keyring is back",
            profile.id
        ),
        SecretRemoval::NoneStored => println!("it had no stored secret"),
        SecretRemoval::Left(e) => eprintln!("warning: its secret may still be in the keyring: {e}"),
    }
    match onedeck_store::Store::open_default().and_then(|mut s| s.delete_inventory(id.as_str())) {
        Ok(true) => println!("its cached inventory was deleted"),
        Ok(false) => {}
        Err(e) => eprintln!("warning: could not delete its cached inventory: {e}"),
    }
    Ok(())
}

fn run_test(profiles: &ProfileStore, id: &ProfileId) -> anyhow::Result<()> {
    let profile = profiles.get(id)?;
    let secret = SecretStore::os_keyring()?.get(id)?.with_context(|| {
        format!("no secret stored for profile {id}; run `onedeck-cli profile add --id {id} ...`")
    })?;
    let client = client(&profile, secret.expose())?;
    let user = runtime()?
        .block_on(client.user_info_self())
        .with_context(|| format!("signing in to {} as {}", profile.url, profile.user))?;
    println!(
        "signed in to {} as {} (user id {}, group {})",
        profile.url, user.name, user.id.0, user.gname
    );
    Ok(())
}
