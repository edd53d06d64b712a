//! `onedeck-cli vm …`: every VM operation, through `onedeck-core` (the app's own API).
//!
//! The password comes from `--password-stdin` (first line of stdin) or `ONEDECK_PASSWORD` with
//! the direct flags, or from the OS keyring with `--profile`; never from an argument.

use std::collections::BTreeMap;

use onedeck_core::{
    CapacityInput, CreateRequest, Error, SnapshotId, TemplateId, VmAction, VmDetails, VmId,
};

use crate::front::{Connected, Direct, Failure, Outcome, print_json, with_session};

/// Arguments of `onedeck-cli vm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    direct: Direct,
    #[command(subcommand)]
    command: Command,
}

/// `vm` subcommands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the profile's VMs (one.vmpool.info with the profile's filter).
    List,
    /// Show one VM: state, capacity, disks, NICs, console, history, snapshots, allowed operations.
    Show {
        /// VM id.
        id: VmId,
    },
    /// Create VMs from a template (USER_INPUTS answers are checked before anything is sent).
    Create {
        /// Template id or name.
        #[arg(long)]
        template: String,
        /// VM name (with --count: `%i` is the index, else `-<index>` is appended).
        #[arg(long, default_value = "")]
        name: String,
        /// A USER_INPUTS answer (repeatable). Arguments are visible to every local user: give a
        /// password answer with --input-stdin instead.
        #[arg(long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Read the answer to this input from the first line of stdin (for passwords).
        #[arg(long, value_name = "KEY", conflicts_with = "password_stdin")]
        input_stdin: Option<String>,
        /// How many VMs.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Create them on hold.
        #[arg(long)]
        hold: bool,
    },
    /// Any one.vm.action: terminate, terminate-hard, undeploy, undeploy-hard, poweroff,
    /// poweroff-hard, reboot, reboot-hard, hold, release, stop, suspend, resume, resched,
    /// unresched.
    Action {
        /// VM id.
        id: VmId,
        /// The action.
        action: String,
    },
    /// Delete a VM (terminate; --hard: terminate-hard).
    Delete {
        /// VM id.
        id: VmId,
        /// Do not wait for the guest to shut down.
        #[arg(long)]
        hard: bool,
    },
    /// Reinstall: recover delete-recreate where allowed, else a new VM from the same template
    /// and the old one terminated.
    Reinstall {
        /// VM id.
        id: VmId,
    },
    /// Change CPU, vCPU or memory.
    Resize {
        /// VM id.
        id: VmId,
        /// CPU share.
        #[arg(long)]
        cpu: Option<f64>,
        /// Virtual CPUs.
        #[arg(long)]
        vcpu: Option<u32>,
        /// Memory in MiB.
        #[arg(long, value_name = "MIB")]
        memory: Option<u64>,
        /// Ask oned to check the host's capacity.
        #[arg(long)]
        enforce: bool,
    },
    /// Rename a VM.
    Rename {
        /// VM id.
        id: VmId,
        /// The new name.
        name: String,
    },
    /// System snapshots.
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
    },
    /// Monitoring figures (CPU, memory, network and disk rates).
    Monitor {
        /// VM id.
        id: VmId,
        /// How far back, in seconds.
        #[arg(long, default_value_t = 3600)]
        range: u32,
    },
}

#[derive(Debug, clap::Subcommand)]
enum SnapshotCommand {
    /// List a VM's snapshots.
    List {
        /// VM id.
        id: VmId,
    },
    /// Take a snapshot (RUNNING VMs).
    Create {
        /// VM id.
        id: VmId,
        /// Snapshot name.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Revert to a snapshot.
    Revert {
        /// VM id.
        id: VmId,
        /// Snapshot id.
        snapshot: SnapshotId,
    },
    /// Delete a snapshot.
    Delete {
        /// VM id.
        id: VmId,
        /// Snapshot id.
        snapshot: SnapshotId,
    },
}

/// Runs `onedeck-cli vm`.
pub fn run(args: Args, profile: Option<&str>, json: bool) -> Outcome {
    // Refuse a bad action name before asking for a password.
    if let Command::Action { action, .. } = &args.command {
        parse_action(action)?;
    }
    with_session(profile, &args.direct, async |c: &Connected| {
        execute(c, &args.command, json).await
    })
}

fn parse_action(name: &str) -> Outcome<VmAction> {
    VmAction::parse(name).ok_or_else(|| {
        let names: Vec<&str> = VmAction::ALL.iter().map(|a| a.as_str()).collect();
        Failure::Usage(format!(
            "unknown action {name:?}; one of: {}",
            names.join(", ")
        ))
    })
}

async fn execute(c: &Connected, command: &Command, json: bool) -> Outcome {
    let (deck, id) = (&c.deck, &c.id);
    match command {
        Command::List => {
            let inv = deck.inventory_refresh(id).await?;
            if json {
                return print_json(&inv.vms);
            }
            println!(
                "{:>6}  {:<24} {:<10} {:<16} IPS",
                "ID", "NAME", "STATE", "HOST"
            );
            for vm in &inv.vms {
                println!(
                    "{:>6}  {:<24} {:<10} {:<16} {}",
                    vm.id,
                    vm.name,
                    vm.state,
                    vm.host.as_deref().unwrap_or("-"),
                    vm.ips.join(",")
                );
            }
        }
        Command::Show { id: vm } => {
            let d = deck.vm_details(id, *vm).await?;
            if json {
                return print_json(&d);
            }
            print_details(&d);
        }
        Command::Create {
            template,
            name,
            inputs,
            input_stdin,
            count,
            hold,
        } => {
            let template_id = resolve_template(c, template).await?;
            let mut answers = BTreeMap::new();
            for pair in inputs {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(Failure::Usage(format!(
                        "--input {pair:?}: expected KEY=VALUE"
                    )));
                };
                answers.insert(k.trim().to_owned(), v.to_owned());
            }
            if let Some(key) = input_stdin {
                answers.insert(key.trim().to_owned(), crate::front::stdin_line()?);
            }
            let created = deck
                .vm_create(
                    id,
                    CreateRequest {
                        template_id,
                        name: name.clone(),
                        count: *count,
                        hold: *hold,
                        inputs: answers,
                    },
                )
                .await?;
            if json {
                return print_json(&created);
            }
            let ids: Vec<String> = created.ids.iter().map(ToString::to_string).collect();
            println!("created VM {}", ids.join(", "));
        }
        Command::Action { id: vm, action } => {
            let a = parse_action(action)?;
            let done = deck.vm_action(id, *vm, a).await?;
            accepted(json, &done, &format!("VM {vm}: {a} accepted"))?;
        }
        Command::Delete { id: vm, hard } => {
            let done = deck.vm_delete(id, *vm, *hard).await?;
            let how = if *hard { "terminate-hard" } else { "terminate" };
            accepted(json, &done, &format!("VM {vm}: {how} accepted"))?;
        }
        Command::Reinstall { id: vm } => {
            let r = deck.vm_reinstall(id, *vm).await?;
            if json {
                return print_json(&r);
            }
            match r.way {
                onedeck_core::view::ReinstallWay::Recreated => {
                    println!("VM {} recreated (same id)", r.vm_id);
                }
                onedeck_core::view::ReinstallWay::Replaced => println!(
                    "VM {} replaced by VM {} (instantiate + terminate)",
                    r.old_vm_id, r.vm_id
                ),
            }
        }
        Command::Resize {
            id: vm,
            cpu,
            vcpu,
            memory,
            enforce,
        } => {
            let capacity = CapacityInput {
                cpu: *cpu,
                vcpu: *vcpu,
                memory_mib: *memory,
            };
            let done = deck.vm_resize(id, *vm, capacity, *enforce).await?;
            accepted(json, &done, &format!("VM {vm}: resize accepted"))?;
        }
        Command::Rename { id: vm, name } => {
            let done = deck.vm_rename(id, *vm, name).await?;
            accepted(json, &done, &format!("VM {vm}: renamed"))?;
        }
        Command::Snapshot { command } => snapshot(c, command, json).await?,
        Command::Monitor { id: vm, range } => {
            let series = deck.vm_monitoring(id, *vm, *range).await?;
            if json {
                return print_json(&series);
            }
            println!(
                "{:>10}  {:>6}  {:>10}  {:>12}  {:>12}  {:>12}  {:>12}",
                "TIME", "CPU%", "MEM MiB", "RX B/s", "TX B/s", "READ B/s", "WRITE B/s"
            );
            let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
            for p in &series.points {
                println!(
                    "{:>10}  {:>6}  {:>10}  {:>12}  {:>12}  {:>12}  {:>12}",
                    p.t,
                    f(p.cpu),
                    f(p.memory_mib),
                    f(p.net_rx_bps),
                    f(p.net_tx_bps),
                    f(p.disk_read_bps),
                    f(p.disk_write_bps)
                );
            }
        }
    }
    Ok(())
}

async fn snapshot(c: &Connected, command: &SnapshotCommand, json: bool) -> Outcome {
    let (deck, id) = (&c.deck, &c.id);
    match command {
        SnapshotCommand::List { id: vm } => {
            let d = deck.vm_details(id, *vm).await?;
            if json {
                return print_json(&d.snapshots);
            }
            for s in &d.snapshots {
                println!("{:>4}  {}  {}", s.snapshot_id, s.time.unwrap_or(0), s.name);
            }
        }
        SnapshotCommand::Create { id: vm, name } => {
            let made = deck.vm_snapshot_create(id, *vm, name).await?;
            if json {
                return print_json(&made);
            }
            println!("VM {vm}: snapshot {} created", made.snapshot_id);
        }
        SnapshotCommand::Revert { id: vm, snapshot } => {
            let done = deck.vm_snapshot_revert(id, *vm, *snapshot).await?;
            accepted(
                json,
                &done,
                &format!("VM {vm}: reverting to snapshot {snapshot}"),
            )?;
        }
        SnapshotCommand::Delete { id: vm, snapshot } => {
            let done = deck.vm_snapshot_delete(id, *vm, *snapshot).await?;
            accepted(
                json,
                &done,
                &format!("VM {vm}: snapshot {snapshot} deleted"),
            )?;
        }
    }
    Ok(())
}

fn accepted(json: bool, done: &impl serde::Serialize, text: &str) -> Outcome {
    if json {
        print_json(done)
    } else {
        println!("{text}");
        Ok(())
    }
}

/// A template id, or the id of the one template with that name.
pub async fn resolve_template(c: &Connected, template: &str) -> Outcome<TemplateId> {
    if let Ok(id) = template.parse::<TemplateId>() {
        return Ok(id);
    }
    let all = c.deck.template_list(&c.id).await?;
    let mut named = all.iter().filter(|t| t.name == template);
    match (named.next(), named.next()) {
        (Some(t), None) => Ok(t.id),
        (Some(_), Some(_)) => Err(Failure::Core(Error::InvalidInput {
            field: "template",
            reason: format!("several templates are named {template:?}: give the id"),
        })),
        (None, _) => Err(Failure::Core(Error::InvalidInput {
            field: "template",
            reason: format!("no template named {template:?} is visible to you"),
        })),
    }
}

fn print_details(d: &VmDetails) {
    println!("VM {} {:?} owned by {}/{}", d.id, d.name, d.owner, d.group);
    let lcm = d
        .lcm_state
        .as_deref()
        .map(|l| format!("/{l}"))
        .unwrap_or_default();
    println!("  state     {} ({}{lcm})", d.state_label, d.state);
    println!("  host      {}", d.host.as_deref().unwrap_or("-"));
    println!(
        "  size      CPU {} VCPU {} MEMORY {} MiB",
        d.cpu.map_or("-".into(), |c| c.to_string()),
        d.vcpu.map_or("-".into(), |c| c.to_string()),
        d.memory_mib.map_or("-".into(), |c| c.to_string())
    );
    println!("  ips       {}", d.ips.join(", "));
    for disk in &d.disks {
        println!(
            "  disk      {} {} {} MiB",
            disk.target.as_deref().unwrap_or("-"),
            disk.image.as_deref().unwrap_or("-"),
            disk.size_mib.map_or("-".into(), |s| s.to_string())
        );
    }
    for nic in &d.nics {
        println!(
            "  nic       {} {} {}",
            nic.network.as_deref().unwrap_or("-"),
            nic.ip.as_deref().unwrap_or("-"),
            nic.mac.as_deref().unwrap_or("-")
        );
    }
    if let Some(g) = &d.graphics {
        println!(
            "  console   {} port {}{}",
            g.graphics_type,
            g.port.map_or("-".into(), |p| p.to_string()),
            if g.has_password {
                " (password set)"
            } else {
                ""
            }
        );
    }
    for s in &d.snapshots {
        println!("  snapshot  {} {:?}", s.snapshot_id, s.name);
    }
    let allowed: Vec<String> = d
        .operations
        .iter()
        .filter(|o| o.allowed)
        .filter_map(|o| serde_json::to_value(o.op).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    println!("  allowed   {}", allowed.join(" "));
}
