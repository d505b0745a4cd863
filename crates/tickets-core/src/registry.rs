//! The plugin registry: provider crates submit a [`ProviderFactory`] through `inventory`, and
//! configuration names the kind it wants.
//!
//! ```ignore
//! // in a provider crate
//! pub static FACTORY: ProviderFactory = ProviderFactory::new(
//!     "jira",
//!     "Jira Cloud issues",
//!     env!("CARGO_PKG_NAME"),
//!     |ctx| Box::pin(async move {
//!         let config: JiraConfig = ctx.config()?;
//!         Ok(Arc::new(JiraProvider::new(config)?) as DynProvider)
//!     }),
//! )
//! .with_keys(JiraConfig::KEYS);
//! inventory::submit!(FACTORY);
//! ```
//!
//! The linker drops a crate nothing names, so an application (or the `tickets` facade) must
//! name each plugin crate it wants, e.g. `use tickets_jira as _;`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

use crate::config::{BackendSpec, Config};
use crate::error::{Error, Result};
use crate::layers;
use crate::provider::DynProvider;

/// How a factory builds a provider from its [`BuildContext`].
pub type BuildFn = fn(BuildContext) -> BoxFuture<'static, Result<DynProvider>>;

/// How to build one provider kind. Provider crates declare one as a `static` made with
/// [`ProviderFactory::new`] and submit it with `inventory::submit!`.
///
/// Non-exhaustive, so that what a factory can say about its provider can grow without breaking
/// provider crates: build one with [`ProviderFactory::new`] and the `with_*` methods.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ProviderFactory {
    /// The kind named in config (`provider = "asana"`); lower-case, unique.
    pub kind: &'static str,
    /// One line for `tickets providers`.
    pub summary: &'static str,
    /// The crate that registered it (`env!("CARGO_PKG_NAME")`), to name both sides of a clash.
    pub crate_name: &'static str,
    /// Builds a provider from its config section.
    pub build: BuildFn,
    /// The keys a backend section of this kind may hold besides `provider` and `layers`, when
    /// declared (see [`ProviderFactory::with_keys`]).
    pub keys: Option<&'static [&'static str]>,
}

impl ProviderFactory {
    /// A factory for `kind`. `crate_name` is `env!("CARGO_PKG_NAME")`.
    pub const fn new(
        kind: &'static str,
        summary: &'static str,
        crate_name: &'static str,
        build: BuildFn,
    ) -> Self {
        Self {
            kind,
            summary,
            crate_name,
            build,
            keys: None,
        }
    }

    /// Declares the keys a backend section of this kind may hold besides `provider` and
    /// `layers`. Every section is then checked before anything is built: a key not in the list
    /// is an error naming it, where it came from and the nearest declared key.
    ///
    /// Without a declaration, [`BuildContext::config`] checks the section against the fields
    /// of the struct it reads; declare the keys when the section is read as more than one
    /// struct, or to have them listed (`tickets providers`) and checked up front.
    pub const fn with_keys(mut self, keys: &'static [&'static str]) -> Self {
        self.keys = Some(keys);
        self
    }
}

inventory::collect!(ProviderFactory);

/// The provider kinds this program knows: those linked in through `inventory`, plus any
/// registered by hand. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    factories: Arc<BTreeMap<&'static str, ProviderFactory>>,
}

impl Registry {
    /// Every factory submitted through `inventory` in this binary. Fails if two crates register
    /// the same kind.
    pub fn discover() -> Result<Self> {
        let mut registry = Self::empty();
        for factory in inventory::iter::<ProviderFactory> {
            registry.register(*factory)?;
        }
        Ok(registry)
    }

    /// A registry with no kinds at all.
    pub fn empty() -> Self {
        Self {
            factories: Arc::new(BTreeMap::new()),
        }
    }

    /// Adds a factory by hand (for programs that do not want `inventory`, and for tests).
    pub fn register(&mut self, factory: ProviderFactory) -> Result<()> {
        if let Some(existing) = self.factories.get(factory.kind) {
            return Err(Error::config(format!(
                "provider kind {:?} is registered twice (by {} and {}); link only one of them",
                factory.kind, existing.crate_name, factory.crate_name
            )));
        }
        Arc::make_mut(&mut self.factories).insert(factory.kind, factory);
        Ok(())
    }

    /// True when `kind` is registered.
    pub fn contains(&self, kind: &str) -> bool {
        self.factories.contains_key(kind)
    }

    /// The factory for `kind`, or an error listing the kinds there are.
    pub fn get(&self, kind: &str) -> Result<&ProviderFactory> {
        self.factories.get(kind).ok_or_else(|| {
            Error::config(format!(
                "provider {kind:?} is not registered; available: {}",
                self.kinds().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Registered kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    /// Registered factories, sorted by kind.
    pub fn factories(&self) -> impl Iterator<Item = &ProviderFactory> + '_ {
        self.factories.values()
    }
}

/// What a factory gets: its backend's name and config section, and a way to reach the other
/// configured backends (the `sync` provider joins two of them by name).
///
/// A provider reads its section with [`BuildContext::config`] into its own
/// `#[derive(Deserialize)]` struct; figment stays available ([`BuildContext::figment`]) for
/// those who want it, but is not needed.
pub struct BuildContext {
    spec: BackendSpec,
    kind: &'static str,
    declared_keys: bool,
    resolver: Arc<Resolver>,
    stack: Vec<String>,
}

impl fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildContext")
            .field("kind", &self.kind)
            .field("spec", &self.spec)
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

impl BuildContext {
    /// The backend's name (`[backends.NAME]`, or `default` for the shorthand form).
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The provider kind being built.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The backend's config section, focused so that its keys are top-level. (Its `Debug`
    /// shows values, secrets included: do not print it.)
    pub fn figment(&self) -> &figment::Figment {
        &self.spec.figment
    }

    /// The backend's section as the core sees it: name, kind, key path and sources.
    pub fn spec(&self) -> &BackendSpec {
        &self.spec
    }

    /// Reads the config section (minus `provider` and `layers`) into the provider's own config
    /// struct. Values are read the same from every source (see [`crate::config`]); errors name
    /// the key by its absolute path and the file or environment variable it came from.
    ///
    /// When the factory declares no keys ([`ProviderFactory::with_keys`]), the section's keys
    /// are first checked against `T`'s fields.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        if !self.declared_keys
            && let Some(keys) = crate::config::struct_keys::<T>()
        {
            self.spec.check_keys(keys, self.kind)?;
        }
        self.spec
            .read()
            .map_err(|e| e.with_context("backend", &self.spec.name))
    }

    /// The same as [`BuildContext::config`].
    #[deprecated(note = "use `config`, which names keys and sources the same for every source")]
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T> {
        self.config()
    }

    /// Checks the section's keys against `allowed` (plus `provider` and `layers`), for providers
    /// whose keys depend on the section's shape.
    pub fn check_keys(&self, allowed: &[&str]) -> Result<()> {
        self.spec.check_keys(allowed, self.kind)
    }

    /// A `Config` error for a value that deserialized but is wrong (a bad URL, say), naming the
    /// key (dotted, inside the section) by its absolute path and where it came from.
    pub fn config_error(&self, key: &str, problem: impl std::fmt::Display) -> Error {
        self.spec.key_error(key, problem)
    }

    /// The registry in use.
    pub fn registry(&self) -> &Registry {
        &self.resolver.registry
    }

    /// Builds (or reuses) another configured backend by name. Cycles are refused.
    pub async fn backend(&self, name: &str) -> Result<DynProvider> {
        self.resolver.resolve(name, self.stack.clone()).await
    }

    /// The provider kind of another configured backend.
    pub fn backend_kind(&self, name: &str) -> Result<String> {
        Ok(self.resolver.config().backend(name)?.provider.clone())
    }

    /// The config section of another configured backend read as `T`, without building it: for
    /// providers that open their own typed handle on it (the sync provider opens the internal
    /// store named by `local` with its outbox on).
    pub fn backend_config<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        self.resolver
            .config()
            .backend(name)?
            .read()
            .map_err(|e| e.with_context("backend", name))
    }

    /// The config section of another configured backend as a figment.
    pub fn backend_figment(&self, name: &str) -> Result<figment::Figment> {
        Ok(self.resolver.config().backend(name)?.figment.clone())
    }

    /// True when a backend of this name is configured.
    pub fn has_backend(&self, name: &str) -> bool {
        self.resolver.config().backend(name).is_ok()
    }

    /// Builds a backend of `kind` from a config section that is not in `[backends]`. Not
    /// cached; keys are named relative to the section.
    pub async fn build_inline(
        &self,
        kind: &str,
        name: &str,
        figment: figment::Figment,
    ) -> Result<DynProvider> {
        let spec = BackendSpec::inline(name, kind, figment);
        self.resolver.build(&spec, self.stack.clone()).await
    }
}

/// Builds the backends of one [`Config`], each once, sharing instances between the hub and
/// providers that refer to other backends.
pub(crate) struct Resolver {
    registry: Registry,
    config: Config,
    built: Mutex<HashMap<String, DynProvider>>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let built: Vec<String> = self
            .built
            .lock()
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("Resolver")
            .field("kinds", &self.registry.kinds().collect::<Vec<_>>())
            .field("config", &self.config)
            .field("built", &built)
            .finish()
    }
}

impl Resolver {
    pub(crate) fn new(registry: Registry, config: Config) -> Arc<Self> {
        Arc::new(Self {
            registry,
            config,
            built: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) async fn resolve(
        self: &Arc<Self>,
        name: &str,
        stack: Vec<String>,
    ) -> Result<DynProvider> {
        if let Some(p) = self.built.lock().expect("resolver lock").get(name) {
            return Ok(p.clone());
        }
        let spec = self.config.backend(name)?.clone();
        let provider = self.build(&spec, stack).await?;
        // Two callers may have built the same backend at once; the first one stored wins.
        let mut built = self.built.lock().expect("resolver lock");
        Ok(built.entry(name.to_owned()).or_insert(provider).clone())
    }

    pub(crate) async fn build(
        self: &Arc<Self>,
        spec: &BackendSpec,
        mut stack: Vec<String>,
    ) -> Result<DynProvider> {
        if stack.contains(&spec.name) {
            stack.push(spec.name.clone());
            return Err(Error::config(format!(
                "backends refer to each other in a cycle: {}",
                stack.join(" -> ")
            )));
        }
        stack.push(spec.name.clone());
        let factory = *self
            .registry
            .get(&spec.provider)
            .map_err(|e| e.with_context("backend", &spec.name))?;
        if let Some(keys) = factory.keys {
            spec.check_keys(keys, factory.kind)
                .map_err(|e| e.with_context("backend", &spec.name))?;
        }
        let layer_config = layers::LayerConfig::from_spec(spec)?;
        let ctx = BuildContext {
            spec: spec.clone(),
            kind: factory.kind,
            declared_keys: factory.keys.is_some(),
            resolver: self.clone(),
            stack,
        };
        let provider = Box::pin((factory.build)(ctx)).await.map_err(|e| {
            e.with_context("backend", &spec.name)
                .with_provider(factory.kind)
        })?;
        Ok(layer_config.apply(provider, &spec.name))
    }
}
