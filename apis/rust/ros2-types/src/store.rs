//! Finding, parsing and resolving interface types.
//!
//! A [`TypeStore`] indexes the `.msg` and `.srv` files of every package it finds, in this order
//! of precedence (the first package of a name wins):
//! 1. folders given to [`TypeStoreBuilder::path`], in the order given;
//! 2. the entries of `DORA_ROS2_MSG_PATH` (colon separated);
//! 3. `<prefix>/share` for every prefix of `AMENT_PREFIX_PATH`, in order;
//! 4. the interfaces shipped in the repository's `ros2_ws/` (or the folder given to
//!    [`TypeStoreBuilder::shipped_path`]).
//!
//! Each of these is a folder of packages (`<folder>/<pkg>/msg/*.msg`, `<folder>/<pkg>/srv/*.srv`);
//! a folder that is itself a package (it has `msg/` or `srv/`) is accepted too. Missing folders
//! are skipped but still listed in "looked in" of an unknown-type error.
//!
//! Files are parsed on first use and kept; a resolved [`MessageType`] holds its nested types, so
//! a lookup fails early when any nested type is missing or a type contains itself.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use crate::{
    error::TypeError,
    parse::{parse_message, parse_service},
    types::{
        ElementType, Field, FieldType, MessageDefinition, MessageType, ServiceDefinition,
        ServiceType, TypeName,
    },
};

/// Environment variable with extra folders of interface packages, colon separated.
pub const MSG_PATH_ENV: &str = "DORA_ROS2_MSG_PATH";

/// The `ros2_ws/` folder of the source tree this crate was built from.
pub fn shipped_interfaces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ros2_ws")
}

/// Configures where a [`TypeStore`] looks for packages.
#[derive(Debug, Clone)]
pub struct TypeStoreBuilder {
    paths: Vec<PathBuf>,
    use_env: bool,
    shipped: Option<PathBuf>,
}

impl Default for TypeStoreBuilder {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            use_env: true,
            shipped: Some(shipped_interfaces_dir()),
        }
    }
}

impl TypeStoreBuilder {
    /// Adds a folder of packages (or a package folder), searched before the environment.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Whether to read `DORA_ROS2_MSG_PATH` and `AMENT_PREFIX_PATH` (default: yes).
    pub fn use_env(mut self, yes: bool) -> Self {
        self.use_env = yes;
        self
    }

    /// Where the shipped interfaces are (default: [`shipped_interfaces_dir`]).
    pub fn shipped_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.shipped = Some(path.into());
        self
    }

    /// Leaves the shipped interfaces out.
    pub fn without_shipped(mut self) -> Self {
        self.shipped = None;
        self
    }

    /// Scans the folders (file names only; files are parsed on first use).
    pub fn build(self) -> TypeStore {
        let mut roots = self.paths;
        if self.use_env {
            if let Some(value) = std::env::var_os(MSG_PATH_ENV) {
                roots.extend(std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()));
            }
            if let Some(value) = std::env::var_os("AMENT_PREFIX_PATH") {
                roots.extend(
                    std::env::split_paths(&value)
                        .filter(|p| !p.as_os_str().is_empty())
                        .map(|p| p.join("share")),
                );
            }
        }
        roots.extend(self.shipped);
        let mut index = BTreeMap::new();
        for root in &roots {
            index_root(root, &mut index);
        }
        TypeStore {
            roots,
            index,
            messages: RwLock::default(),
            services: RwLock::default(),
        }
    }
}

fn index_root(root: &Path, index: &mut BTreeMap<TypeName, PathBuf>) {
    let is_package = |dir: &Path| dir.join("msg").is_dir() || dir.join("srv").is_dir();
    let packages: Vec<PathBuf> = if is_package(root) {
        vec![root.to_owned()]
    } else {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_package(p))
            .collect();
        dirs.sort();
        dirs
    };
    for dir in packages {
        let Some(package) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        for namespace in ["msg", "srv"] {
            let Ok(entries) = std::fs::read_dir(dir.join(namespace)) else {
                continue;
            };
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                let matches_ext = path.extension().and_then(|e| e.to_str()) == Some(namespace);
                let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                if matches_ext {
                    index
                        .entry(TypeName::new(&package, namespace, stem))
                        .or_insert(path);
                }
            }
        }
    }
}

/// Interface types found on disk; cheap to share (`Arc`), safe to use from several threads.
#[derive(Debug)]
pub struct TypeStore {
    roots: Vec<PathBuf>,
    /// `pkg/msg/T` → `.msg` file, `pkg/srv/T` → `.srv` file.
    index: BTreeMap<TypeName, PathBuf>,
    messages: RwLock<HashMap<TypeName, Arc<MessageType>>>,
    services: RwLock<HashMap<TypeName, Arc<ServiceDefinition>>>,
}

impl Default for TypeStore {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl TypeStore {
    /// A builder, to add folders before the standard places or to move the shipped ones.
    pub fn builder() -> TypeStoreBuilder {
        TypeStoreBuilder::default()
    }

    /// The environment's packages plus the shipped ones.
    pub fn new() -> Self {
        Self::default()
    }

    /// The folders searched, in order of precedence.
    pub fn search_roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Every message (`pkg/msg/T`) and service (`pkg/srv/T`) found, sorted.
    pub fn known_types(&self) -> impl Iterator<Item = &TypeName> {
        self.index.keys()
    }

    /// The file defining a message or service.
    pub fn source_of(&self, name: &TypeName) -> Option<&Path> {
        self.index.get(name).map(PathBuf::as_path)
    }

    /// Looks up a message: `pkg/Type`, `pkg/msg/Type`, or a service part
    /// `pkg/srv/Type_Request` / `pkg/srv/Type_Response`.
    pub fn message(&self, name: &str) -> Result<Arc<MessageType>, TypeError> {
        let type_name: TypeName = name.parse()?;
        if type_name.namespace == "srv" && self.index.contains_key(&type_name) {
            return Err(TypeError::WrongKind {
                name: type_name.to_string(),
                found: "service",
                wanted: "message (use its _Request or _Response)",
            });
        }
        self.resolve(&type_name, None, &mut Vec::new())
    }

    /// Looks up a service: `pkg/Type` or `pkg/srv/Type`.
    pub fn service(&self, name: &str) -> Result<Arc<ServiceType>, TypeError> {
        let type_name = TypeName::parse_with_namespace(name, "srv")?;
        if type_name.namespace != "srv" {
            return Err(TypeError::WrongKind {
                name: name.to_owned(),
                found: "message",
                wanted: "service",
            });
        }
        let def = self.service_definition(&type_name, None)?;
        let mut stack = Vec::new();
        Ok(Arc::new(ServiceType {
            name: type_name,
            request: self.resolve(&def.request.name, None, &mut stack)?,
            response: self.resolve(&def.response.name, None, &mut stack)?,
        }))
    }

    /// The parsed (unresolved) definition of a message, as written in its file.
    pub fn message_definition(&self, name: &str) -> Result<MessageDefinition, TypeError> {
        let type_name: TypeName = name.parse()?;
        self.load_definition(&type_name, None)
    }

    fn unknown(&self, name: &TypeName, referenced_by: Option<String>) -> TypeError {
        TypeError::Unknown {
            name: name.to_string(),
            referenced_by,
            looked_in: self.roots.clone(),
            suggestions: self.suggestions(name),
        }
    }

    /// Up to five known names closest to `name` (Jaro–Winkler on the full name and on the
    /// type name alone).
    fn suggestions(&self, name: &TypeName) -> Vec<String> {
        let wanted_full = name.to_string().to_lowercase();
        let wanted_short = name.name.to_lowercase();
        let mut scored: Vec<(f64, String)> = self
            .index
            .keys()
            .filter(|k| k.namespace == name.namespace)
            .map(|k| {
                let full = strsim::jaro_winkler(&wanted_full, &k.to_string().to_lowercase());
                let short = strsim::jaro_winkler(&wanted_short, &k.name.to_lowercase()) * 0.97;
                (full.max(short), k.to_string())
            })
            .filter(|(score, _)| *score >= 0.8)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored.into_iter().take(5).map(|(_, n)| n).collect()
    }

    fn read(&self, path: &Path) -> Result<String, TypeError> {
        std::fs::read_to_string(path).map_err(|source| TypeError::Io {
            path: path.to_owned(),
            source,
        })
    }

    fn service_definition(
        &self,
        name: &TypeName,
        referenced_by: Option<String>,
    ) -> Result<Arc<ServiceDefinition>, TypeError> {
        if let Some(def) = self.services.read().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(def);
        }
        let path = self
            .index
            .get(name)
            .ok_or_else(|| self.unknown(name, referenced_by))?;
        let def = Arc::new(parse_service(&self.read(path)?, name.clone(), path)?);
        if let Ok(mut services) = self.services.write() {
            services.insert(name.clone(), def.clone());
        }
        Ok(def)
    }

    fn load_definition(
        &self,
        name: &TypeName,
        referenced_by: Option<String>,
    ) -> Result<MessageDefinition, TypeError> {
        if name.namespace == "srv" {
            let service = [("_Request", true), ("_Response", false)]
                .into_iter()
                .find_map(|(suffix, is_request)| {
                    let base = name.name.strip_suffix(suffix)?;
                    Some((TypeName::new(&name.package, "srv", base), is_request))
                });
            if let Some((service_name, is_request)) = service {
                if self.index.contains_key(&service_name) {
                    let def = self.service_definition(&service_name, referenced_by)?;
                    return Ok(if is_request {
                        def.request.clone()
                    } else {
                        def.response.clone()
                    });
                }
            }
            return Err(self.unknown(name, referenced_by));
        }
        let path = self
            .index
            .get(name)
            .ok_or_else(|| self.unknown(name, referenced_by))?;
        Ok(parse_message(&self.read(path)?, name.clone(), path)?)
    }

    fn resolve(
        &self,
        name: &TypeName,
        referenced_by: Option<String>,
        stack: &mut Vec<TypeName>,
    ) -> Result<Arc<MessageType>, TypeError> {
        if let Some(t) = self.messages.read().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(t);
        }
        if stack.contains(name) {
            let chain: Vec<String> = stack
                .iter()
                .chain(std::iter::once(name))
                .map(|n| n.to_string())
                .collect();
            return Err(TypeError::Recursive {
                chain: chain.join(" → "),
            });
        }
        let def = self.load_definition(name, referenced_by)?;
        stack.push(name.clone());
        let mut fields = Vec::with_capacity(def.fields.len());
        for field in def.fields {
            let element = match field.ty.element {
                ElementType::Message(nested) => ElementType::Message(self.resolve(
                    &nested,
                    Some(format!("{name}.{}", field.name)),
                    stack,
                )?),
                ElementType::Primitive(p) => ElementType::Primitive(p),
                ElementType::String { bound } => ElementType::String { bound },
                ElementType::WString { bound } => ElementType::WString { bound },
            };
            fields.push(Field {
                name: field.name,
                ty: FieldType {
                    element,
                    cardinality: field.ty.cardinality,
                },
                default: field.default,
            });
        }
        stack.pop();
        let resolved = Arc::new(MessageType {
            name: def.name,
            fields,
            constants: def.constants,
            source: def.source,
        });
        if let Ok(mut messages) = self.messages.write() {
            messages.insert(name.clone(), resolved.clone());
        }
        Ok(resolved)
    }
}
