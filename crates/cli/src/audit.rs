//! `onedeck-cli audit`: the console audit log of this machine's OneDeck (the app's database):
//! list and show sessions, export them, and verify the log's hash chain and every recording.

use std::path::PathBuf;

use onedeck_core::{AuditQuery, Deck, DeckConfig, ExportFormat, export_text};

use crate::front::{Failure, Outcome};

/// Arguments of `onedeck-cli audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The app's data directory (default: the OS data dir, or $ONEDECK_DATA_DIR).
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Filters {
    /// Only this endpoint profile's sessions (its id).
    #[arg(long = "endpoint", value_name = "PROFILE_ID")]
    profile_id: Option<String>,
    /// Only this VM's.
    #[arg(long)]
    vm: Option<u64>,
    /// Only this OpenNebula user's.
    #[arg(long)]
    user: Option<String>,
    /// Only sessions whose typed text contains this.
    #[arg(long, value_name = "TEXT")]
    typed: Option<String>,
    /// At most this many sessions.
    #[arg(long, default_value_t = 500)]
    limit: u32,
}

impl Filters {
    fn query(&self) -> AuditQuery {
        AuditQuery {
            profile_id: self.profile_id.clone(),
            vm_id: self.vm,
            user: self.user.clone(),
            typed: self.typed.clone(),
            limit: Some(self.limit),
            ..AuditQuery::default()
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Console sessions, newest first.
    List(Filters),
    /// One session.
    Show {
        /// The session's id (from `audit list`).
        id: i64,
    },
    /// Write sessions as CSV or JSON to standard output.
    Export {
        #[command(flatten)]
        filters: Filters,
        /// csv or json.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
    /// Check the log's hash chain and every recording: exit 0 intact, 1 naming what broke.
    Verify,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Csv,
    Json,
}

/// Runs `onedeck-cli audit`.
pub fn run(args: Args, json: bool) -> Outcome {
    let config = DeckConfig {
        data_dir: args.data_dir.clone(),
        ..DeckConfig::headless()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let deck = Deck::start(config).await?;
        let out = command(&deck, args.command, json).await;
        deck.shutdown().await;
        out
    })
}

async fn command(deck: &Deck, command: Command, json: bool) -> Outcome {
    match command {
        Command::List(f) => {
            let rows = deck.audit_search(f.query()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:>6}  {:<20} {:<12} {:>6} {:<20} {:<22} {:>8}  END / RECORDED",
                    "ID", "START (UTC ms)", "USER", "VM", "NAME", "TARGET", "SECONDS",
                );
                for r in rows {
                    let secs = r.ended_at_ms.map(|e| (e - r.started_at_ms) as f64 / 1000.0);
                    println!(
                        "{:>6}  {:<20} {:<12} {:>6} {:<20} {:<22} {:>8}  {}{}",
                        r.id,
                        r.started_at_ms,
                        r.user,
                        r.vm_id,
                        r.vm_name,
                        r.target,
                        secs.map(|s| format!("{s:.1}"))
                            .unwrap_or_else(|| "running".into()),
                        r.end_reason.unwrap_or_default(),
                        if r.recorded { " [recorded]" } else { "" }
                    );
                }
            }
            Ok(())
        }
        Command::Show { id } => {
            let r = deck.audit_entry(id).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Command::Export { filters, format } => {
            let rows = deck.audit_search(filters.query()).await?;
            let format = match format {
                Format::Csv => ExportFormat::Csv,
                Format::Json => ExportFormat::Json,
            };
            print!("{}", export_text(&rows, format));
            Ok(())
        }
        Command::Verify => {
            let v = deck.audit_verify().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "audit log: {} events, {} sessions, head {}",
                    v.events,
                    v.rows,
                    v.head.as_deref().unwrap_or("(empty)")
                );
                if let Some(b) = &v.first_break {
                    println!("BROKEN at {}: {}", b.link, b.what);
                }
                println!("recordings checked: {}", v.recordings_checked);
                for b in &v.recording_breaks {
                    println!(
                        "BROKEN recording of session {} ({}) at {}: {}",
                        b.audit_id, b.path, b.link, b.what
                    );
                }
                if v.intact {
                    println!("intact");
                }
            }
            if v.intact {
                Ok(())
            } else {
                Err(Failure::Silent)
            }
        }
    }
}
