//! `dora graph`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use dora_descriptor::Descriptor;
use eyre::WrapErr;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path to the dataflow descriptor file
    #[arg(value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    dataflow: PathBuf,
    /// Visualize the dataflow as a Mermaid diagram (instead of HTML)
    #[arg(long)]
    mermaid: bool,
    /// Open the HTML visualization in the browser
    #[arg(long)]
    open: bool,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let descriptor = Descriptor::read(&args.dataflow)
        .wrap_err_with(|| format!("failed to read dataflow {}", args.dataflow.display()))?;

    if args.mermaid {
        let text = dora_graph::mermaid(&descriptor);
        let mut stdout = io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            // A reader that stopped reading (`| head`) is not an error.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
            result => result.wrap_err("failed to write the mermaid text to stdout")?,
        }
        return Ok(ExitCode::SUCCESS);
    }

    let file_name = args
        .dataflow
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.dataflow.display().to_string());
    let stem = args
        .dataflow
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataflow".to_owned());

    // As in dora-rs v0.3.6, the page goes to the current working directory.
    let working_dir = std::env::current_dir().wrap_err("failed to get the current directory")?;
    let path = working_dir.join(format!("{stem}-graph.html"));
    std::fs::write(&path, dora_graph::html(&descriptor, &file_name))
        .wrap_err_with(|| format!("failed to write {}", path.display()))?;

    println!(
        "View graph by opening the following in your browser:\n  file://{}",
        path.display()
    );

    if args.open {
        open_in_browser(&path)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `path` with the desktop's opener (`xdg-open` on Linux and BSD, `open` on macOS).
fn open_in_browser(path: &Path) -> eyre::Result<()> {
    const OPENERS: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["explorer"]
    } else {
        &["xdg-open", "open"]
    };
    for opener in OPENERS {
        match Command::new(opener).arg(path).status() {
            Ok(status) if status.success() => return Ok(()),
            Ok(status) => eyre::bail!("`{opener} {}` failed: {status}", path.display()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                tracing::debug!("{opener} not found");
            }
            Err(err) => {
                return Err(err).wrap_err_with(|| format!("failed to run `{opener}`"));
            }
        }
    }
    eyre::bail!(
        "cannot open a browser: none of {} is installed; open file://{} by hand",
        OPENERS.join(", "),
        path.display()
    )
}
