//! The permission preflight: before any change, one SelfSubjectAccessReview
//! per permission the run needs (faults, their revert, `recover
//! --namespace`, probes, autopilot actions, the kill switch; see
//! [`crate::faults::rbac::rules_for_run`]). A run whose identity lacks one
//! would otherwise fail mid-run, possibly with a fault injected that it may
//! not revert.

use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::PostParams;

use crate::faults::rbac::RuleSet;
use crate::k8s::{K8sError, Kube};

/// One permission: a verb on a resource (maybe `resource/subresource`) in
/// an API group, in a namespace or cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub namespace: Option<String>,
    pub group: String,
    pub resource: String,
    pub verb: String,
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "core".to_string()
        } else {
            self.group.clone()
        };
        write!(f, "{} {} ({group})", self.verb, self.resource)?;
        match &self.namespace {
            Some(ns) => write!(f, " in namespace {ns}"),
            None => write!(f, " cluster-wide"),
        }
    }
}

/// Every (scope, group, resource, verb) of a rule set.
pub fn permissions(set: &RuleSet) -> Vec<Permission> {
    let mut out = Vec::new();
    for (scope, rules) in set {
        for ((group, resource), verbs) in rules {
            for verb in verbs {
                out.push(Permission {
                    namespace: scope.clone(),
                    group: group.clone(),
                    resource: resource.clone(),
                    verb: verb.clone(),
                });
            }
        }
    }
    out
}

fn review(p: &Permission) -> SelfSubjectAccessReview {
    let (resource, subresource) = match p.resource.split_once('/') {
        Some((r, s)) => (r.to_string(), Some(s.to_string())),
        None => (p.resource.clone(), None),
    };
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: p.namespace.clone(),
                group: Some(p.group.clone()),
                resource: Some(resource),
                subresource,
                verb: Some(p.verb.clone()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    }
}

/// The permissions of `set` this identity does not have, in order.
pub async fn missing(
    kube: &Kube,
    set: &RuleSet,
    concurrency: usize,
) -> Result<Vec<Permission>, K8sError> {
    let api: kube::Api<SelfSubjectAccessReview> = kube::Api::all(kube.client.clone());
    let api = &api;
    let pp = PostParams::default();
    let pp = &pp;
    let answers: Vec<Result<(Permission, bool), K8sError>> =
        futures::stream::iter(permissions(set))
            .map(|p| async move {
                let r = review(&p);
                let op = format!("check permission to {p}");
                let answer = kube.call(&op, || api.create(pp, &r)).await?;
                let allowed = answer.status.is_some_and(|s| s.allowed);
                Ok((p, allowed))
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;
    let mut out = Vec::new();
    for a in answers {
        let (p, allowed) = a?;
        if !allowed {
            out.push(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subresources_are_split_for_the_review() {
        let p = Permission {
            namespace: Some("shop".into()),
            group: String::new(),
            resource: "pods/eviction".into(),
            verb: "create".into(),
        };
        let r = review(&p).spec.resource_attributes.unwrap();
        assert_eq!(r.resource.as_deref(), Some("pods"));
        assert_eq!(r.subresource.as_deref(), Some("eviction"));
        assert_eq!(
            p.to_string(),
            "create pods/eviction (core) in namespace shop"
        );
    }
}
