//! `dora build`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dora_descriptor::Descriptor;
use eyre::WrapErr;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path to the dataflow descriptor file
    #[arg(value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    dataflow: PathBuf,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let descriptor = Descriptor::read(&args.dataflow)
        .wrap_err_with(|| format!("failed to read dataflow {}", args.dataflow.display()))?;
    let working_dir = dataflow_dir(&args.dataflow)?;
    dora_build::build_dataflow(&descriptor, &working_dir, |build| {
        println!("[build] {}: {}", build.owner, build.command);
    })
    .wrap_err_with(|| format!("failed to build dataflow {}", args.dataflow.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// The folder that holds the dataflow file, where its relative paths start.
fn dataflow_dir(dataflow: &Path) -> eyre::Result<PathBuf> {
    let path = dataflow
        .canonicalize()
        .wrap_err_with(|| format!("failed to resolve dataflow path {}", dataflow.display()))?;
    path.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| eyre::eyre!("dataflow path {} has no parent folder", path.display()))
}
