//! `onedeck-cli recording`: read a console recording (docs/RECORDING.md): its keystroke
//! timeline, the screen at a moment, and whether its hash chain is intact.

use std::{fs::File, io::BufWriter, path::PathBuf, time::Duration};

use anyhow::Context;
use onedeck_relay::recording::{Record, RecordingReader, Timeline, screen_at, verify};

use crate::front::{Failure, Outcome};

/// Arguments of `onedeck-cli recording`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The keystroke timeline: each key pressed or released, when, and what it typed.
    Keys {
        /// The recording (`.odrec`).
        file: PathBuf,
    },
    /// The screen at a moment, as a PNG.
    Frame {
        /// The recording (`.odrec`).
        file: PathBuf,
        /// Seconds since the session started (fractions allowed); past the end, the last screen.
        #[arg(long, value_name = "SECONDS")]
        at: f64,
        /// Where to write the PNG.
        #[arg(long, value_name = "OUT")]
        png: PathBuf,
    },
    /// Check the hash chain: exit 0 when intact, 1 naming the first broken link.
    Verify {
        /// The recording (`.odrec`).
        file: PathBuf,
        /// The chain head the audit log holds for it (hex); the chain must end there.
        #[arg(long, value_name = "HEX")]
        head: Option<String>,
    },
}

/// Runs `onedeck-cli recording`.
pub fn run(args: Args, json: bool) -> Outcome {
    match args.command {
        Command::Keys { file } => keys(file, json),
        Command::Frame { file, at, png } => frame(file, at, png, json),
        Command::Verify { file, head } => check(file, head.as_deref(), json),
    }
}

fn keys(file: PathBuf, json: bool) -> Outcome {
    let reader = RecordingReader::open(&file).map_err(|e| Failure::Other(e.into()))?;
    let mut timeline = Timeline::default();
    let mut broken = None;
    for record in reader {
        match record {
            Ok(r @ Record::Key { .. }) => timeline.push(&r),
            Ok(_) => {}
            Err(e) => broken = Some(e),
        }
    }
    let strokes = timeline.finish();
    if json {
        println!("{}", serde_json::to_string_pretty(&strokes)?);
    } else {
        for s in &strokes {
            let mods = if s.modifiers.is_empty() {
                String::new()
            } else {
                format!("{}+", s.modifiers.join("+"))
            };
            let typed = s
                .text
                .as_deref()
                .map(|t| format!("  {t:?}"))
                .unwrap_or_default();
            println!(
                "{:>10.3}s  {}  {mods}{}{typed}",
                s.t_ms as f64 / 1000.0,
                if s.down { "down" } else { "up  " },
                s.key
            );
        }
    }
    // The keys read before a break are printed; the break still fails the command.
    match broken {
        Some(e) => Err(Failure::Other(e.into())),
        None => Ok(()),
    }
}

fn frame(file: PathBuf, at: f64, out: PathBuf, json: bool) -> Outcome {
    let at = Duration::try_from_secs_f64(at).map_err(|_| {
        Failure::Usage(format!(
            "--at {at}: give the seconds since the session started (0 or more)"
        ))
    })?;
    let screen = screen_at(&file, at).map_err(|e| Failure::Other(e.into()))?;
    let rgba = screen
        .rgba()
        .map_err(|why| Failure::Other(anyhow::anyhow!("{}: {why}", file.display())))?;
    let write = || -> anyhow::Result<()> {
        let f = File::create(&out)?;
        let mut png = png::Encoder::new(
            BufWriter::new(f),
            u32::from(screen.width()),
            u32::from(screen.height()),
        );
        png.set_color(png::ColorType::Rgba);
        png.set_depth(png::BitDepth::Eight);
        let mut w = png.write_header()?;
        w.write_image_data(&rgba)?;
        w.finish()?;
        Ok(())
    };
    write().with_context(|| format!("writing {}", out.display()))?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "png": out,
                "width": screen.width(),
                "height": screen.height(),
                "at_ms": u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
            })
        );
    } else {
        println!(
            "{}: {}×{} screen at {:.3} s",
            out.display(),
            screen.width(),
            screen.height(),
            at.as_secs_f64()
        );
    }
    Ok(())
}

fn check(file: PathBuf, head: Option<&str>, json: bool) -> Outcome {
    match verify(&file, head) {
        Ok(v) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "intact": true,
                        "chunks": v.chunks,
                        "head": v.head,
                        "duration_ms": u64::try_from(v.duration.as_millis()).unwrap_or(u64::MAX),
                        "capped": v.capped,
                    })
                );
            } else {
                println!(
                    "{}: intact ({} chunks, {:.1} s{}), head {}",
                    file.display(),
                    v.chunks,
                    v.duration.as_secs_f64(),
                    if v.capped {
                        ", stopped at its size cap"
                    } else {
                        ""
                    },
                    v.head
                );
            }
            Ok(())
        }
        Err(onedeck_relay::Error::RecordingBroken { link, what, .. }) if json => {
            println!(
                "{}",
                serde_json::json!({ "intact": false, "link": link, "what": what })
            );
            Err(Failure::Silent)
        }
        Err(e) => Err(Failure::Other(e.into())),
    }
}
