//! `dora new`: generates a dataflow, node or operator project from a template.

use std::{path::PathBuf, process::ExitCode};

use dora_templates::{self as templates, Kind, Lang, NewOptions};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KindArg {
    Dataflow,
    #[value(alias = "custom-node")]
    Node,
    Operator,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LangArg {
    Rust,
    Python,
    C,
    #[value(alias = "c++")]
    Cxx,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The entity type (`custom-node` is accepted for `node`)
    #[arg(long, value_enum, default_value = "dataflow")]
    kind: KindArg,
    /// The programming language (`c++` is accepted for `cxx`)
    #[arg(long, value_enum, default_value = "rust")]
    lang: LangArg,
    /// Desired name of the entity
    name: String,
    /// Where to create the entity (default: a new folder NAME in the current folder)
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let options = NewOptions {
        name: args.name,
        kind: match args.kind {
            KindArg::Dataflow => Kind::Dataflow,
            KindArg::Node => Kind::Node,
            KindArg::Operator => Kind::Operator,
        },
        lang: match args.lang {
            LangArg::Rust => Lang::Rust,
            LangArg::Python => Lang::Python,
            LangArg::C => Lang::C,
            LangArg::Cxx => Lang::Cxx,
        },
        path: args.path,
    };
    match templates::create(&options) {
        Ok(root) => {
            println!(
                "Created new {} {} `{}` at {}",
                options.lang,
                options.kind,
                options.name,
                root.display()
            );
            if options.kind == Kind::Dataflow && options.lang == Lang::Python {
                println!(
                    "Run it with:\n  cd {}\n  dora run dataflow.yml",
                    root.display()
                );
            } else if options.kind == Kind::Dataflow {
                println!(
                    "Run it with:\n  cd {}\n  dora build dataflow.yml\n  dora run dataflow.yml",
                    root.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}
