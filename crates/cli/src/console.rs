//! `onedeck-cli console VM --profile ENDPOINT`: asks the running app to open a VM's console, by
//! launching it with an `onedeck://console/...` link (a second launch hands the link to the app
//! already running and exits; with none running, the app starts and opens it).

use std::path::PathBuf;
use std::process::Command;

use onedeck_core::{VmId, console_link};

use crate::front::{Failure, Outcome};

/// Arguments of `onedeck-cli console`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The VM's id.
    vm: i32,
}

/// The app's executable: `ONEDECK_APP`, else `onedeck` beside this program, else on `PATH`.
fn app_binary() -> Option<PathBuf> {
    if let Some(app) = std::env::var_os("ONEDECK_APP") {
        return Some(PathBuf::from(app));
    }
    let name = format!("onedeck{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(&name)))
        .filter(|p| p.is_file());
    beside.or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(&name))
                .find(|p| p.is_file())
        })
    })
}

/// Runs `onedeck-cli console`.
pub fn run(args: Args, profile: Option<&str>, json: bool) -> Outcome {
    let Some(endpoint) = profile else {
        return Err(Failure::Usage(
            "name the endpoint with --profile (its name or id, as the app lists it)".into(),
        ));
    };
    if args.vm < 0 {
        return Err(Failure::Usage(format!("{} is not a VM id", args.vm)));
    }
    let link = console_link(endpoint, VmId(args.vm));
    let app = app_binary().ok_or_else(|| {
        Failure::Other(anyhow::anyhow!(
            "the OneDeck app is not installed here (no `onedeck` beside onedeck-cli or on PATH; set ONEDECK_APP)"
        ))
    })?;
    // Not waited for: with no app running, this one is the app.
    Command::new(&app)
        .arg(&link)
        .spawn()
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", app.display())))?;
    if json {
        println!("{}", serde_json::json!({ "link": link }));
    } else {
        println!("asked OneDeck to open {link}");
    }
    Ok(())
}
