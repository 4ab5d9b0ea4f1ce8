//! `spin:variables/variables@3.0.0` for components.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{Accessor, HasData, Linker};

use crate::bindings::spin::variables::variables::{self, Error};
use crate::state::HostState;

/// Marker type through which `spin:variables` is implemented.
pub struct SpinVariables;

impl HasData for SpinVariables {
    type Data<'a> = &'a mut HostState;
}

/// The variables one component may read, already rendered.
#[derive(Debug, Clone, Default)]
pub struct ComponentVariables(pub Arc<BTreeMap<String, String>>);

/// Adds `spin:variables` to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    variables::add_to_linker::<HostState, SpinVariables>(linker, |s| s)
}

impl variables::Host for HostState {}

impl variables::HostWithStore for SpinVariables {
    async fn get<T>(
        accessor: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, Error>> {
        if !crate::manifest::is_variable_name(&name) {
            return Ok(Err(Error::InvalidName(format!(
                "{name:?} is not a valid variable name"
            ))));
        }
        let vars = accessor.with(|mut view| view.get().variables.0.clone());
        Ok(vars
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable named {name:?}"))))
    }
}
