//! `onedeck-cli vm list|show|action`: VM commands against an endpoint, for scripting.
//!
//! The password comes from `--password-stdin` (first line of stdin) or the `ONEDECK_PASSWORD`
//! environment variable, never from an argument (argv is visible to every local user).

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::PathBuf;

use anyhow::Context as _;
use onedeck_opennebula::{
    Client, Credentials, Endpoint, Fingerprint, PoolFilter, PoolRange, RecoverOp, Reinstall,
    StateFilter, UserId, Vm, VmAction, VmId, VmState,
};

/// Arguments of `onedeck-cli vm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// XML-RPC endpoint, e.g. http://frontend:2633/RPC2.
    #[arg(long)]
    pub endpoint: String,
    /// OpenNebula user name.
    #[arg(long)]
    pub user: String,
    /// Read the password (or login token) from the first line of stdin; otherwise
    /// `ONEDECK_PASSWORD` is used.
    #[arg(long)]
    pub password_stdin: bool,
    /// PEM CA bundle to trust for an https endpoint.
    #[arg(long)]
    pub ca_bundle: Option<PathBuf>,
    /// SHA-256 fingerprint of a self-signed certificate to accept (AB:CD:… or hex).
    #[arg(long)]
    pub pin_sha256: Option<String>,
    /// Whole-call timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `vm` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List VMs (one.vmpool.info).
    List {
        /// Whose VMs: mine, mine-groups, all, or a user id.
        #[arg(long, default_value = "mine")]
        filter: String,
        /// Include DONE VMs.
        #[arg(long)]
        all_states: bool,
        /// Page number (0 = newest), with --page-size.
        #[arg(long)]
        page: Option<u32>,
        /// Page size.
        #[arg(long, default_value_t = 200)]
        page_size: u32,
    },
    /// Show one VM (one.vm.info) with its derived facts.
    Show {
        /// VM id.
        id: i32,
    },
    /// Act on a VM: a one.vm.action name (poweroff, resume, terminate-hard…), `reinstall`, or
    /// `recover-<op>` (success, failure, retry, delete, delete-recreate).
    Action {
        /// VM id.
        id: i32,
        /// The action.
        action: String,
    },
}

/// Runs `onedeck-cli vm`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let password = read_password(args.password_stdin)?;
    let mut endpoint = Endpoint::new(args.endpoint.clone());
    endpoint.timeout_secs = args.timeout;
    if let Some(path) = &args.ca_bundle {
        endpoint.ca_bundle_pem = Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading CA bundle {}", path.display()))?,
        );
    }
    if let Some(pin) = &args.pin_sha256 {
        endpoint.pinned_sha256 = Some(pin.parse::<Fingerprint>()?);
    }
    let client = Client::new(endpoint, Credentials::new(args.user.clone(), password))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(execute(&client, &args))
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(
            !pw.is_empty(),
            "--password-stdin: stdin gave an empty password"
        );
        return Ok(pw);
    }
    std::env::var("ONEDECK_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .context("no password: pass --password-stdin or set ONEDECK_PASSWORD")
}

fn parse_filter(s: &str) -> anyhow::Result<PoolFilter> {
    Ok(match s {
        "mine" => PoolFilter::Mine,
        "mine-groups" => PoolFilter::MineAndGroups,
        "all" => PoolFilter::All,
        other => PoolFilter::User(UserId(other.parse().with_context(|| {
            format!("--filter {other:?}: mine, mine-groups, all or a user id")
        })?)),
    })
}

async fn execute(client: &Client, args: &Args) -> anyhow::Result<()> {
    match &args.command {
        Command::List {
            filter,
            all_states,
            page,
            page_size,
        } => {
            let states = if *all_states {
                StateFilter::Any
            } else {
                StateFilter::NotDone
            };
            let range = match page {
                Some(p) => PoolRange::Page {
                    offset: p.saturating_mul(*page_size),
                    size: *page_size,
                },
                None => PoolRange::All,
            };
            let pool = client
                .vm_pool_info(parse_filter(filter)?, states, range)
                .await?;
            if args.json {
                let rows: Vec<_> = pool.vms.iter().map(summary).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:>6}  {:<24} {:<10} {:<16} IPS",
                    "ID", "NAME", "STATE", "HOST"
                );
                for vm in &pool.vms {
                    let host = vm.current_history().map_or("-", |h| h.hostname.as_str());
                    println!(
                        "{:>6}  {:<24} {:<10} {:<16} {}",
                        vm.id.get(),
                        vm.name,
                        vm.state_label(),
                        host,
                        vm.ips().join(",")
                    );
                }
            }
        }
        Command::Show { id } => {
            let vm = client.vm_info(VmId(*id)).await?;
            let overrides = &client.endpoint().host_overrides;
            if args.json {
                let mut out = serde_json::to_value(&vm)?;
                if let Some(obj) = out.as_object_mut() {
                    obj.insert("state_label".into(), vm.state_label().into());
                    obj.insert("ips".into(), serde_json::to_value(vm.ips())?);
                    obj.insert(
                        "allowed_actions".into(),
                        serde_json::to_value(vm.allowed_actions())?,
                    );
                    obj.insert("console".into(), console_json(&vm, overrides)?);
                }
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "VM {} {:?} owned by {}/{}",
                    vm.id, vm.name, vm.uname, vm.gname
                );
                println!(
                    "  state   {} (STATE {}, LCM_STATE {})",
                    vm.state_label(),
                    vm.state,
                    vm.lcm_state
                );
                let t = &vm.template;
                println!(
                    "  size    CPU {:?} VCPU {:?} MEMORY {:?} MiB",
                    t.cpu, t.vcpu, t.memory_mb
                );
                println!("  ips     {}", vm.ips().join(", "));
                match vm.console_target(overrides) {
                    Ok(c) => println!(
                        "  console vnc://{}:{} (password {})",
                        c.host,
                        c.port,
                        if c.password.is_some() { "set" } else { "none" }
                    ),
                    Err(why) => println!("  console none: {why}"),
                }
                let allowed = vm.allowed_actions();
                let names: Vec<&str> = allowed.actions.iter().map(|a| a.as_str()).collect();
                println!("  actions {}", names.join(" "));
            }
        }
        Command::Action { id, action } => {
            let id = VmId(*id);
            let done = if action == "reinstall" {
                match client.vm_reinstall(id).await? {
                    Reinstall::Recreated { id } => format!("VM {id} recreated (same id)"),
                    Reinstall::Replaced { old, new } => {
                        format!("VM {old} replaced by VM {new} (terminate + instantiate)")
                    }
                }
            } else if let Some(op) = action.strip_prefix("recover-") {
                let op = match op {
                    "failure" => RecoverOp::Failure,
                    "success" => RecoverOp::Success,
                    "retry" => RecoverOp::Retry,
                    "delete" => RecoverOp::Delete,
                    "delete-recreate" => RecoverOp::DeleteRecreate,
                    other => anyhow::bail!("unknown recover operation {other:?}"),
                };
                client.vm_recover(id, op).await?;
                format!("VM {id}: recover {action} accepted")
            } else {
                let a = VmAction::parse(action).with_context(|| {
                    let names: Vec<&str> = VmAction::ALL.iter().map(|a| a.as_str()).collect();
                    format!(
                        "unknown action {action:?}; one of: {}, reinstall, recover-<op>",
                        names.join(", ")
                    )
                })?;
                client.vm_action(a, id).await?;
                format!("VM {id}: {a} accepted")
            };
            if args.json {
                println!("{}", serde_json::json!({ "ok": true, "message": done }));
            } else {
                println!("{done}");
            }
        }
    }
    Ok(())
}

fn summary(vm: &Vm) -> serde_json::Value {
    serde_json::json!({
        "id": vm.id,
        "name": vm.name,
        "owner": vm.uname,
        "state": vm.state,
        "lcm_state": if vm.state == VmState::Active { Some(vm.lcm_state) } else { None },
        "state_label": vm.state_label(),
        "host": vm.current_history().map(|h| h.hostname.clone()),
        "ips": vm.ips(),
        "labels": vm.labels,
    })
}

fn console_json(
    vm: &Vm,
    overrides: &BTreeMap<String, String>,
) -> anyhow::Result<serde_json::Value> {
    Ok(match vm.console_target(overrides) {
        Ok(target) => serde_json::to_value(&target)?,
        Err(reason) => serde_json::json!({ "unavailable": reason, "message": reason.to_string() }),
    })
}
