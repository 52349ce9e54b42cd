//! What the validator needs to know about a fault type, asked of the faults
//! registry through a trait. Each fault's own file (under `src/faults/`)
//! implements [`FaultSpec`]: its target kind, whether it holds, and the
//! rules of its `params`. The scenario layer defines the questions, the
//! fault files answer them, and the registry is the one list of answers:
//! adding a fault touches no file here.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::fault_type::{FaultType, TargetKind};
use super::model::Fault;
use super::validate::lookup;
use crate::diag::{Diagnostic, Source};
use crate::values::Duration;
use crate::yaml::{self, Node, Step, Target, did_you_mean, one_of};

/// The static facts and the parameter rules of one fault type.
pub trait FaultSpec: Sync {
    /// The name written as `type:` in scenario files.
    fn name(&self) -> &'static str;

    /// The type as a value (for comparisons and marks).
    fn fault_type(&self) -> FaultType {
        FaultType::named(self.name())
    }

    /// Whether the fault holds for a `duration` until it is reverted
    /// (everything but the instantaneous podKill and podEvict).
    fn holds(&self) -> bool {
        true
    }

    /// What `selector` picks.
    fn target_kind(&self) -> TargetKind {
        TargetKind::Pods
    }

    /// Checks `params`, reporting each mistake at its position. The default
    /// accepts no params at all.
    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        check.typed::<NoParams>();
    }
}

/// The fault types a validator knows: the faults registry.
pub trait FaultRules {
    fn spec(&self, ty: FaultType) -> Option<&dyn FaultSpec>;

    /// Every known type name, for did-you-mean hints.
    fn names(&self) -> Vec<&'static str>;
}

/// The params of a fault type that takes none.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// One fault's `params`, with the means to report on them: a fault's
/// `check_params` reads them as its own type and adds its own rules.
pub struct ParamCheck<'a, 'b> {
    pub fault: &'a Fault,
    index: usize,
    root: &'a Node,
    src: &'a Source<'b>,
    diags: &'a mut Vec<Diagnostic>,
    /// The schema of the type the last `typed` call read: what
    /// [`params_schema`] publishes, so editors and the validator agree by
    /// construction.
    schema: Option<schemars::Schema>,
}

impl<'a, 'b> ParamCheck<'a, 'b> {
    pub fn new(
        fault: &'a Fault,
        index: usize,
        root: &'a Node,
        src: &'a Source<'b>,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Self {
        ParamCheck {
            fault,
            index,
            root,
            src,
            diags,
            schema: None,
        }
    }

    fn fault_path(&self) -> Vec<Step<'static>> {
        vec![
            Step::Key("spec"),
            Step::Key("faults"),
            Step::Index(self.index),
        ]
    }

    fn params_path(&self) -> Vec<Step<'static>> {
        let mut p = self.fault_path();
        p.push(Step::Key("params"));
        p
    }

    /// The params as `T`. Keys `T` does not have are reported as "not a
    /// parameter of <type>" with the accepted ones; wrong types as the
    /// schema checker reports them. `None` when anything was wrong.
    pub fn typed<T: DeserializeOwned + JsonSchema + Default>(&mut self) -> Option<T> {
        let schema = schemars::schema_for!(T);
        let names = property_names(&schema);
        self.schema = Some(schema);
        let path = self.params_path();
        let Some(node) = lookup(self.root, &path) else {
            return Some(T::default());
        };
        // Alphabetical, whatever order the schema keeps its properties in.
        let mut accepted: Vec<&str> = names.iter().map(String::as_str).collect();
        accepted.sort_unstable();
        let ty = self.fault.kind;
        let mut unknown = false;
        for e in node.entries() {
            let Some(k) = e.key.as_str() else { continue };
            if accepted.contains(&k) {
                continue;
            }
            unknown = true;
            let hint = if accepted.is_empty() {
                format!("{ty} takes no parameters; remove `params`")
            } else {
                match did_you_mean(k, accepted.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`? {ty} takes {}", one_of(&accepted)),
                    None => format!("{ty} takes {}", one_of(&accepted)),
                }
            };
            let mut d = self
                .src
                .error(e.key.span, format!("`{k}` is not a parameter of {ty}"));
            d.hint = Some(hint);
            self.diags.push(d);
        }
        if unknown {
            return None;
        }
        yaml::check_node::<T>(self.src, node, self.diags)
    }

    /// Reports at `params.<key>` (or deeper: `params.taint.key`).
    pub fn error(&mut self, keys: &[&str], target: Target, msg: String, hint: Option<String>) {
        let mut path = self.params_path();
        path.extend(keys.iter().map(|k| Step::Key(k)));
        self.push(&path, target, msg, hint);
    }

    /// Reports at the fault's `type`: for a param that is missing.
    pub fn error_at_type(&mut self, msg: String, hint: Option<String>) {
        let mut path = self.fault_path();
        path.push(Step::Key("type"));
        self.push(&path, Target::Value, msg, hint);
    }

    fn push(&mut self, path: &[Step<'_>], target: Target, msg: String, hint: Option<String>) {
        let span = self.root.locate(path, target);
        let mut d = self.src.error(span, msg);
        d.hint = hint;
        self.diags.push(d);
    }

    /// A duration param that must be above zero.
    pub fn positive(&mut self, d: Option<Duration>, key: &str) {
        if d == Some(Duration::ZERO) {
            self.error(
                &[key],
                Target::Value,
                format!("`{key}` must be longer than 0s"),
                None,
            );
        }
    }

    /// A string param that must not be blank.
    pub fn non_empty(&mut self, v: Option<&str>, key: &str) {
        if v.is_some_and(|s| s.trim().is_empty()) {
            self.error(
                &[key],
                Target::Key,
                format!("`{key}` must not be empty"),
                None,
            );
        }
    }
}

/// The JSON Schema of a fault type's `params`, for `gameday schema`: the
/// type its `check_params` reads, found by running it on a fault without
/// params (which reads the type and finds nothing wrong).
pub fn params_schema(spec: &dyn FaultSpec) -> schemars::Schema {
    let fault: Result<Fault, _> = serde_json::from_value(serde_json::json!({
        "name": "schema", "type": spec.name(), "selector": {}
    }));
    let src = Source::new("params", "{}");
    let (docs, _) = yaml::parse(&src);
    let (Ok(fault), Some(doc)) = (fault, docs.first()) else {
        return schemars::schema_for!(NoParams);
    };
    let mut diags = Vec::new();
    let mut check = ParamCheck::new(&fault, 0, &doc.root, &src, &mut diags);
    spec.check_params(&mut check);
    check
        .schema
        .unwrap_or_else(|| schemars::schema_for!(NoParams))
}

/// The keys a params type accepts, from its JSON Schema.
fn property_names(schema: &schemars::Schema) -> Vec<String> {
    schema
        .as_value()
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}
