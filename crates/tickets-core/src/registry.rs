//! The plugin registry: provider crates submit a [`ProviderFactory`] through `inventory`, and
//! configuration names the kind it wants.
//!
//! ```ignore
//! // in a provider crate
//! pub static FACTORY: ProviderFactory = ProviderFactory {
//!     kind: "jira",
//!     summary: "Jira Cloud issues",
//!     crate_name: env!("CARGO_PKG_NAME"),
//!     build: |ctx| Box::pin(async move { Ok(Arc::new(JiraProvider::new(ctx.extract()?)?) as DynProvider) }),
//! };
//! inventory::submit!(FACTORY);
//! ```
//!
//! The linker drops a crate nothing names, so an application (or the `tickets` facade) must
//! name each plugin crate it wants, e.g. `use tickets_jira as _;`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

use crate::config::{BackendSpec, Config};
use crate::error::{Error, Result};
use crate::layers;
use crate::provider::DynProvider;

/// How to build one provider kind. Provider crates declare one as a `static` and submit it with
/// `inventory::submit!`.
#[derive(Debug, Clone, Copy)]
pub struct ProviderFactory {
    /// The kind named in config (`provider = "asana"`); lower-case, unique.
    pub kind: &'static str,
    /// One line for `tickets providers`.
    pub summary: &'static str,
    /// The crate that registered it (`env!("CARGO_PKG_NAME")`), to name both sides of a clash.
    pub crate_name: &'static str,
    /// Builds a provider from its config section.
    pub build: fn(BuildContext) -> BoxFuture<'static, Result<DynProvider>>,
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
#[derive(Debug)]
pub struct BuildContext {
    name: String,
    kind: &'static str,
    figment: figment::Figment,
    resolver: Arc<Resolver>,
    stack: Vec<String>,
}

impl BuildContext {
    /// The backend's name (`[backends.NAME]`, or `default` for the shorthand form).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider kind being built.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The backend's config section, focused so that its keys are top-level.
    pub fn figment(&self) -> &figment::Figment {
        &self.figment
    }

    /// Deserializes the config section into the provider's own config struct; errors name the
    /// key and the file or environment variable it came from.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T> {
        self.figment
            .extract()
            .map_err(|e| Error::from(e).with_context("backend", &self.name))
    }

    /// A `Config` error for a value that deserialized but is wrong (a bad URL, say), naming the
    /// key and where it came from.
    pub fn config_error(&self, key: &str, problem: impl std::fmt::Display) -> Error {
        crate::config::key_error(&self.figment, &self.name, key, problem)
    }

    /// The registry in use.
    pub fn registry(&self) -> &Registry {
        &self.resolver.registry
    }

    /// Builds (or reuses) another configured backend by name. Cycles are refused.
    pub async fn backend(&self, name: &str) -> Result<DynProvider> {
        self.resolver.resolve(name, self.stack.clone()).await
    }

    /// The provider kind and config section of another configured backend, without building
    /// it: for providers that open their own typed handle on it (the sync provider opens the
    /// internal store named by `local` with its outbox on).
    pub fn backend_config(&self, name: &str) -> Result<(String, figment::Figment)> {
        let spec = self.resolver.config().backend(name)?;
        Ok((spec.provider.clone(), spec.figment.clone()))
    }

    /// True when a backend of this name is configured.
    pub fn has_backend(&self, name: &str) -> bool {
        self.resolver.config().backend(name).is_ok()
    }

    /// Builds a backend of `kind` from a config section that is not in `[backends]` (the sync
    /// shorthand builds its local and remote halves this way). Not cached.
    pub async fn build_inline(
        &self,
        kind: &str,
        name: &str,
        figment: figment::Figment,
    ) -> Result<DynProvider> {
        let spec = BackendSpec {
            name: name.to_owned(),
            provider: kind.to_owned(),
            figment,
        };
        self.resolver.build(&spec, self.stack.clone()).await
    }
}

/// Builds the backends of one [`Config`], each once, sharing instances between the hub and
/// providers that refer to other backends.
#[derive(Debug)]
pub(crate) struct Resolver {
    registry: Registry,
    config: Config,
    built: Mutex<HashMap<String, DynProvider>>,
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
        let layer_config = layers::LayerConfig::from_figment(&spec.figment, &spec.name)?;
        let ctx = BuildContext {
            name: spec.name.clone(),
            kind: factory.kind,
            figment: spec.figment.clone(),
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
