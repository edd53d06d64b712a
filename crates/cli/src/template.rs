//! `onedeck-cli template list|show`: the templates the user may instantiate, with their
//! USER_INPUTS, through `onedeck-core`.

use crate::front::{Connected, Direct, Outcome, print_json, with_session};
use crate::vm::resolve_template;

/// Arguments of `onedeck-cli template`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    direct: Direct,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the templates you may instantiate.
    List,
    /// Show one template and the questions it asks.
    Show {
        /// Template id or name.
        template: String,
    },
}

/// Runs `onedeck-cli template`.
pub fn run(args: Args, profile: Option<&str>, json: bool) -> Outcome {
    with_session(profile, &args.direct, async |c: &Connected| {
        match &args.command {
            Command::List => {
                let all = c.deck.template_list(&c.id).await?;
                if json {
                    return print_json(&all);
                }
                println!(
                    "{:>6}  {:<24} {:>5} {:>8}  OWNER",
                    "ID", "NAME", "CPU", "MEMORY"
                );
                for t in &all {
                    println!(
                        "{:>6}  {:<24} {:>5} {:>8}  {}",
                        t.id,
                        t.name,
                        t.cpu.map_or("-".into(), |c| c.to_string()),
                        t.memory_mib.map_or("-".into(), |m| format!("{m} MiB")),
                        t.owner
                    );
                }
                Ok(())
            }
            Command::Show { template } => {
                let id = resolve_template(c, template).await?;
                let t = c.deck.template_show(&c.id, id).await?;
                if json {
                    return print_json(&t);
                }
                println!(
                    "template {} {:?} owned by {}/{}",
                    t.id, t.name, t.owner, t.group
                );
                if let Some(d) = &t.description {
                    println!("  {d}");
                }
                for i in &t.user_inputs {
                    let kind = serde_json::to_value(i.input_type)?;
                    println!(
                        "  input {} ({}{}): {}{}",
                        i.name,
                        kind.as_str().unwrap_or("?"),
                        if i.mandatory { ", required" } else { "" },
                        i.description,
                        i.default
                            .as_deref()
                            .map(|d| format!(" [default {d}]"))
                            .unwrap_or_default()
                    );
                }
                Ok(())
            }
        }
    })
}
