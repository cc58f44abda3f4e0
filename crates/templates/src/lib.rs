//! Project templates for `dora new`: a dataflow (`talker_1`, `talker_2`, `listener_1`), a
//! single node, or an operator, in Rust, Python, C or C++.
//!
//! It owns the template texts and the writing of a new project folder. It never touches an
//! existing folder or file (the target must not exist), and it never builds or runs what it
//! generates: it only writes files (reading, besides, the checkout's `Cargo.lock` to copy it).
//!
//! Rules:
//! - The name must be an identifier (`[A-Za-z_][A-Za-z0-9_]*`): it becomes a crate, target or
//!   file name. The target folder must not exist. Both are checked before anything is
//!   written; if writing fails half-way, the folder is removed again.
//! - Generated projects build and run as generated. Rust projects depend on this project's
//!   crates by path when the `dora` binary was built from a checkout that is still there
//!   (and reuse its `Cargo.lock`, so they build with the crate versions the checkout was
//!   tested with); otherwise on the published version. C and C++ projects use the CMake
//!   integration in the checkout's `cpp/` folder. Python projects need the `dora` Python
//!   module (`pip install ./apis/python`); a Python node is a pip-installable package.
//! - Templates are embedded in the binary (`include_str!`); `___name___` is replaced by the
//!   name.

use std::{
    fmt, fs, io,
    path::{Path, PathBuf},
};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A dataflow YAML with two talkers and a listener, and their nodes.
    Dataflow,
    /// One node.
    Node,
    /// One operator.
    Operator,
}

/// In which language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust: cargo packages.
    Rust,
    /// Python: scripts, and pip-installable packages for nodes.
    Python,
    /// C: sources with a CMake project.
    C,
    /// C++: sources with a CMake project.
    Cxx,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Dataflow => "dataflow",
            Kind::Node => "node",
            Kind::Operator => "operator",
        })
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::C => "C",
            Lang::Cxx => "C++",
        })
    }
}

/// Why nothing was generated.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The name is not an identifier.
    #[error(
        "`{0}` is not a valid name: use letters, digits and `_`, starting with a letter or `_` \
         (it becomes a crate, target and file name)"
    )]
    InvalidName(String),
    /// The target folder (or file) exists already.
    #[error("{} already exists; choose another name or path (nothing was written)", .0.display())]
    Exists(PathBuf),
    /// A C or C++ template needs the checkout the binary was built from, which is gone.
    #[error(
        "{lang} templates build against the dora checkout this `dora` was built from \
         ({}), which is gone", .checkout.display()
    )]
    NoCheckout {
        /// The language asked for.
        lang: Lang,
        /// Where the checkout was.
        checkout: PathBuf,
    },
    /// A file or folder could not be written; what was written is removed again.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// What `dora new` asked for.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The project name, an identifier (see [`is_valid_name`]).
    pub name: String,
    /// What to generate.
    pub kind: Kind,
    /// In which language.
    pub lang: Lang,
    /// The folder to create; `./NAME` if not given.
    pub path: Option<PathBuf>,
}

/// The root of the checkout this crate was compiled in (two folders above its manifest).
fn checkout_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The checkout this binary was built from, if it is still there.
pub fn checkout() -> Option<PathBuf> {
    let dir = checkout_dir();
    let dir = dir.canonicalize().unwrap_or(dir);
    dir.join("apis/rust/node/Cargo.toml")
        .exists()
        .then_some(dir)
}

/// Whether `name` can name a project.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Generates the project and returns its folder.
pub fn create(options: &NewOptions) -> Result<PathBuf, NewError> {
    if !is_valid_name(&options.name) {
        return Err(NewError::InvalidName(options.name.clone()));
    }
    let root = options
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&options.name));
    if root.exists() || root.is_symlink() {
        return Err(NewError::Exists(root));
    }
    let files = render(options)?;
    write_all(&root, &files)?;
    Ok(root)
}

/// A file to write: path relative to the project folder, and contents.
type File = (PathBuf, String);

fn render(options: &NewOptions) -> Result<Vec<File>, NewError> {
    let name = options.name.as_str();
    let fill = |template: &str| template.replace("___name___", name);
    let files: Vec<(String, String)> = match (options.lang, options.kind) {
        (Lang::Rust, kind) => rust(kind),
        (Lang::C | Lang::Cxx, kind) => cpp(options.lang, kind)?,
        (Lang::Python, kind) => python(kind),
    };
    Ok(files
        .into_iter()
        .map(|(path, text)| (PathBuf::from(fill(&path)), fill(&text)))
        .collect())
}

/// `dora-node-api = ...` or `dora-operator-api = ...`: by path into the checkout, or the
/// published version.
fn dependency(crate_name: &str, folder: &str) -> String {
    match checkout() {
        Some(dir) => format!(
            "{crate_name} = {{ path = {:?} }}",
            dir.join("apis/rust").join(folder).display().to_string()
        ),
        None => format!("{crate_name} = \"{}\"", env!("CARGO_PKG_VERSION")),
    }
}

fn rust(kind: Kind) -> Vec<(String, String)> {
    let node_api = dependency("dora-node-api", "node");
    let mut files = vec![(
        ".gitignore".to_owned(),
        include_str!("rust/gitignore").to_owned(),
    )];
    match kind {
        Kind::Dataflow => {
            files.push((
                "Cargo.toml".into(),
                include_str!("rust/workspace.Cargo.toml")
                    .replace("___NODE_API_DEPENDENCY___", &node_api),
            ));
            files.push((
                "dataflow.yml".into(),
                include_str!("rust/dataflow.yml").into(),
            ));
            for (member, main) in [
                ("talker_1", include_str!("rust/talker.rs")),
                ("talker_2", include_str!("rust/talker.rs")),
                ("listener_1", include_str!("rust/listener.rs")),
            ] {
                let fill = |text: &str| text.replace("___name___", member);
                files.push((
                    format!("{member}/Cargo.toml"),
                    fill(include_str!("rust/member.Cargo.toml")),
                ));
                files.push((format!("{member}/src/main.rs"), fill(main)));
            }
        }
        Kind::Node => {
            files.push((
                "Cargo.toml".into(),
                include_str!("rust/node.Cargo.toml")
                    .replace("___NODE_API_DEPENDENCY___", &node_api),
            ));
            files.push(("src/main.rs".into(), include_str!("rust/node.rs").into()));
        }
        Kind::Operator => {
            files.push((
                "Cargo.toml".into(),
                include_str!("rust/operator.Cargo.toml").replace(
                    "___OPERATOR_API_DEPENDENCY___",
                    &dependency("dora-operator-api", "operator"),
                ),
            ));
            files.push(("src/lib.rs".into(), include_str!("rust/operator.rs").into()));
        }
    }
    // Build with the crate versions the checkout uses (cargo drops the entries it does not
    // need on the first build).
    if let Some(lock) = checkout().and_then(|dir| fs::read_to_string(dir.join("Cargo.lock")).ok()) {
        files.push(("Cargo.lock".into(), lock));
    }
    files
}

/// The Python templates: scripts run by the Python that dora finds, with the `dora` module.
/// A node is a pip-installable package with a test.
fn python(kind: Kind) -> Vec<(String, String)> {
    let mut files = vec![(
        ".gitignore".to_owned(),
        include_str!("python/gitignore").to_owned(),
    )];
    match kind {
        Kind::Dataflow => {
            files.push((
                "dataflow.yml".into(),
                include_str!("python/dataflow.yml").into(),
            ));
            for (member, text) in [
                ("talker_1", include_str!("python/talker.py")),
                ("talker_2", include_str!("python/talker.py")),
                ("listener_1", include_str!("python/listener.py")),
            ] {
                files.push((format!("{member}.py"), text.replace("___name___", member)));
            }
        }
        Kind::Node => {
            files.push((
                "pyproject.toml".into(),
                include_str!("python/node.pyproject.toml").into(),
            ));
            files.push((
                "README.md".into(),
                include_str!("python/node.README.md").into(),
            ));
            files.push(("___name___/__init__.py".into(), String::new()));
            files.push((
                "___name___/main.py".into(),
                include_str!("python/node.py").into(),
            ));
            files.push((
                "tests/test____name___.py".into(),
                include_str!("python/node_test.py").into(),
            ));
        }
        Kind::Operator => {
            files.push((
                "___name___.py".into(),
                include_str!("python/operator.py").into(),
            ));
        }
    }
    files
}

/// The C or C++ templates: CMake projects using the checkout's `cpp/` integration.
fn cpp(lang: Lang, kind: Kind) -> Result<Vec<(String, String)>, NewError> {
    let checkout = checkout().ok_or_else(|| NewError::NoCheckout {
        lang,
        checkout: checkout_dir(),
    })?;
    let cpp_dir = checkout.join("cpp").display().to_string();
    let cmake = |text: &str| text.replace("___DORA_CPP_DIR___", &cpp_dir);
    let c = lang == Lang::C;
    let pick = |c_text: &str, cxx_text: &str| (if c { c_text } else { cxx_text }).to_owned();
    let source = |stem: &str| format!("{stem}.{}", if c { "c" } else { "cpp" });
    let mut files = vec![(
        ".gitignore".to_owned(),
        include_str!("../../../cpp/templates/c/gitignore").to_owned(),
    )];
    match kind {
        Kind::Dataflow => {
            files.push((
                "CMakeLists.txt".into(),
                cmake(&pick(
                    include_str!("../../../cpp/templates/c/dataflow.CMakeLists.txt"),
                    include_str!("../../../cpp/templates/cxx/dataflow.CMakeLists.txt"),
                )),
            ));
            files.push((
                "dataflow.yml".into(),
                include_str!("../../../cpp/templates/c/dataflow.yml").into(),
            ));
            let talker = pick(
                include_str!("../../../cpp/templates/c/talker.c"),
                include_str!("../../../cpp/templates/cxx/talker.cpp"),
            );
            let listener = pick(
                include_str!("../../../cpp/templates/c/listener.c"),
                include_str!("../../../cpp/templates/cxx/listener.cpp"),
            );
            for (member, text) in [
                ("talker_1", &talker),
                ("talker_2", &talker),
                ("listener_1", &listener),
            ] {
                files.push((
                    format!("{member}/{}", source("node")),
                    text.replace("___name___", member),
                ));
            }
        }
        Kind::Node => {
            files.push((
                "CMakeLists.txt".into(),
                cmake(&pick(
                    include_str!("../../../cpp/templates/c/node.CMakeLists.txt"),
                    include_str!("../../../cpp/templates/cxx/node.CMakeLists.txt"),
                )),
            ));
            files.push((
                source("node"),
                pick(
                    include_str!("../../../cpp/templates/c/node.c"),
                    include_str!("../../../cpp/templates/cxx/node.cpp"),
                ),
            ));
        }
        Kind::Operator => {
            files.push((
                "CMakeLists.txt".into(),
                cmake(&pick(
                    include_str!("../../../cpp/templates/c/operator.CMakeLists.txt"),
                    include_str!("../../../cpp/templates/cxx/operator.CMakeLists.txt"),
                )),
            ));
            files.push((
                source("operator"),
                pick(
                    include_str!("../../../cpp/templates/c/operator.c"),
                    include_str!("../../../cpp/templates/cxx/operator.cpp"),
                ),
            ));
            if !c {
                // The C++ operator API's bridge glue includes the user's `operator.h`.
                files.push((
                    "operator.h".into(),
                    include_str!("../../../cpp/templates/cxx/operator.h").into(),
                ));
            }
        }
    }
    Ok(files)
}

/// Writes `files` under a new folder `root`; on failure removes what it created.
fn write_all(root: &Path, files: &[File]) -> Result<(), NewError> {
    let write = || -> Result<(), NewError> {
        fs::create_dir_all(root).map_err(|source| NewError::Write {
            path: root.to_owned(),
            source,
        })?;
        for (relative, contents) in files {
            let path = root.join(relative);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|source| NewError::Write {
                    path: parent.to_owned(),
                    source,
                })?;
            }
            fs::write(&path, contents).map_err(|source| NewError::Write { path, source })?;
        }
        Ok(())
    };
    write().inspect_err(|_| {
        let _ = fs::remove_dir_all(root);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_identifiers() {
        for good in ["robot", "my_robot", "_x", "Node2"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "2fast", "my-robot", "a b", "../x", "x/y", "é"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_template_fills_its_placeholders() {
        for (kind, lang) in [Kind::Dataflow, Kind::Node, Kind::Operator]
            .into_iter()
            .flat_map(|kind| {
                [Lang::Rust, Lang::Python, Lang::C, Lang::Cxx].map(|lang| (kind, lang))
            })
        {
            let options = NewOptions {
                name: "robot".into(),
                kind,
                lang,
                path: None,
            };
            let files = render(&options).expect("rendering");
            for (path, text) in &files {
                assert!(
                    !text.contains("___"),
                    "{} keeps a placeholder",
                    path.display()
                );
            }
        }
    }
}
