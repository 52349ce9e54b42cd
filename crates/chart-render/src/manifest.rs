//! A template's output cut into manifests and ordered as `helm template`
//! prints them.

/// One rendered document and the template it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `CHART/templates/FILE`, Helm's `# Source:` line.
    pub source: String,
    /// The kind read from the document (empty when it has none).
    pub kind: String,
    pub body: String,
}

/// Cuts a template's output at `---` lines; documents with nothing but
/// whitespace and comments are dropped (pkg/releaseutil/manifest.go
/// SplitManifests, and Helm skips empty manifests).
pub fn split(source: &str, text: &str) -> Vec<Manifest> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    docs.into_iter()
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|d| Manifest {
            source: source.to_string(),
            kind: kind_of(&d),
            body: d.trim().to_string(),
        })
        .collect()
}

fn kind_of(doc: &str) -> String {
    serde_yaml::from_str::<serde_json::Value>(doc)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// Helm's install order by kind (pkg/releaseutil/kind_sorter.go,
/// InstallOrder); unknown kinds go last, by kind name.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// A stable sort, so manifests of one kind keep the order of their files.
pub fn sort_by_install_order(mut manifests: Vec<Manifest>) -> Vec<Manifest> {
    let rank = |k: &str| {
        INSTALL_ORDER
            .iter()
            .position(|o| *o == k)
            .unwrap_or(INSTALL_ORDER.len())
    };
    manifests.sort_by(|a, b| {
        rank(&a.kind)
            .cmp(&rank(&b.kind))
            .then_with(|| match rank(&a.kind) == INSTALL_ORDER.len() {
                true => a.kind.cmp(&b.kind),
                false => std::cmp::Ordering::Equal,
            })
    });
    manifests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_documents_are_dropped_and_kinds_sorted() {
        let text = "---\n# just a comment\n---\nkind: CronJob\n---\n\n---\nkind: ServiceAccount\n";
        let out = sort_by_install_order(split("c/templates/x.yaml", text));
        let kinds: Vec<&str> = out.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["ServiceAccount", "CronJob"]);
    }
}
