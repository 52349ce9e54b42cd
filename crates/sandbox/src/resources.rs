//! The fixed table of resource types the sandbox serves. One table drives
//! routing, discovery documents, OpenAPI stubs and the store's layout, so a
//! resource added here is reachable by kubectl and kube-rs alike.

/// A subresource as discovery advertises it. Clients look these up: kubectl
/// drain checks `pods/eviction` for its group/version, kubectl scale checks
/// `deployments/scale`.
#[derive(Debug)]
pub struct SubresourceDef {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

#[derive(Debug)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub subresources: &'static [SubresourceDef],
}

/// Index into [`RESOURCES`]; cheap to copy and to key maps with.
pub type ResId = usize;

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];

const fn status_sub(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
) -> SubresourceDef {
    SubresourceDef {
        name: "status",
        group,
        version,
        kind,
        verbs: GET_PATCH_UPDATE,
    }
}

const fn scale_sub() -> SubresourceDef {
    SubresourceDef {
        name: "scale",
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: GET_PATCH_UPDATE,
    }
}

pub static RESOURCES: &[ResourceDef] = &[
    ResourceDef {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        subresources: &[status_sub("", "v1", "Namespace")],
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        subresources: &[status_sub("", "v1", "Node")],
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        subresources: &[
            status_sub("", "v1", "Pod"),
            SubresourceDef {
                name: "eviction",
                group: "policy",
                version: "v1",
                kind: "Eviction",
                verbs: &["create"],
            },
            SubresourceDef {
                name: "ephemeralcontainers",
                group: "",
                version: "v1",
                kind: "Pod",
                verbs: GET_PATCH_UPDATE,
            },
            SubresourceDef {
                name: "log",
                group: "",
                version: "v1",
                kind: "Pod",
                verbs: &["get"],
            },
        ],
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "services",
        singular: "service",
        kind: "Service",
        namespaced: true,
        short_names: &["svc"],
        subresources: &[status_sub("", "v1", "Service")],
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        subresources: &[],
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        subresources: &[],
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        subresources: &[status_sub("apps", "v1", "Deployment"), scale_sub()],
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        singular: "statefulset",
        kind: "StatefulSet",
        namespaced: true,
        short_names: &["sts"],
        subresources: &[status_sub("apps", "v1", "StatefulSet"), scale_sub()],
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        namespaced: true,
        short_names: &["rs"],
        subresources: &[status_sub("apps", "v1", "ReplicaSet"), scale_sub()],
    },
    ResourceDef {
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        kind: "PodDisruptionBudget",
        namespaced: true,
        short_names: &["pdb"],
        subresources: &[status_sub("policy", "v1", "PodDisruptionBudget")],
    },
    ResourceDef {
        group: "networking.k8s.io",
        version: "v1",
        plural: "networkpolicies",
        singular: "networkpolicy",
        kind: "NetworkPolicy",
        namespaced: true,
        short_names: &["netpol"],
        subresources: &[],
    },
    // RBAC and ServiceAccounts are stored, not enforced: they exist so that
    // `gameday rbac SCENARIO | kubectl apply -f -` can be rehearsed on the
    // sandbox exactly as on a real cluster.
    ResourceDef {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        subresources: &[],
    },
    ResourceDef {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "roles",
        singular: "role",
        kind: "Role",
        namespaced: true,
        short_names: &[],
        subresources: &[],
    },
    ResourceDef {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "rolebindings",
        singular: "rolebinding",
        kind: "RoleBinding",
        namespaced: true,
        short_names: &[],
        subresources: &[],
    },
    ResourceDef {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterroles",
        singular: "clusterrole",
        kind: "ClusterRole",
        namespaced: false,
        short_names: &[],
        subresources: &[],
    },
    ResourceDef {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        kind: "ClusterRoleBinding",
        namespaced: false,
        short_names: &[],
        subresources: &[],
    },
    // events.k8s.io/v1 Events are views of the core/v1 table (see
    // sandbox::events_v1); this table itself stays empty.
    ResourceDef {
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &[],
        subresources: &[],
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        singular: "daemonset",
        kind: "DaemonSet",
        namespaced: true,
        short_names: &["ds"],
        subresources: &[status_sub("apps", "v1", "DaemonSet")],
    },
    // The StatefulSet controller's revision history: `kubectl rollout
    // history|undo statefulset` reads it (kubectl's StatefulSetHistoryViewer
    // and StatefulSetRollbacker list them by the set's selector).
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "controllerrevisions",
        singular: "controllerrevision",
        kind: "ControllerRevision",
        namespaced: true,
        short_names: &[],
        subresources: &[],
    },
    // batch/v1: scheduled game days run as CronJobs whose Jobs the job
    // controller turns into pods (controllers::job, controllers::cronjob).
    ResourceDef {
        group: "batch",
        version: "v1",
        plural: "jobs",
        singular: "job",
        kind: "Job",
        namespaced: true,
        short_names: &[],
        subresources: &[status_sub("batch", "v1", "Job")],
    },
    ResourceDef {
        group: "batch",
        version: "v1",
        plural: "cronjobs",
        singular: "cronjob",
        kind: "CronJob",
        namespaced: true,
        short_names: &["cj"],
        subresources: &[status_sub("batch", "v1", "CronJob")],
    },
    // Stored only: `kubectl create secret|quota` (protobuf bodies) and
    // manifests that carry them apply; no controller acts on them.
    ResourceDef {
        group: "",
        version: "v1",
        plural: "secrets",
        singular: "secret",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        subresources: &[],
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "resourcequotas",
        singular: "resourcequota",
        kind: "ResourceQuota",
        namespaced: true,
        short_names: &["quota"],
        subresources: &[status_sub("", "v1", "ResourceQuota")],
    },
];

pub const NAMESPACES: ResId = 0;
pub const NODES: ResId = 1;
pub const PODS: ResId = 2;
pub const SERVICES: ResId = 3;
pub const CONFIGMAPS: ResId = 4;
pub const EVENTS: ResId = 5;
pub const DEPLOYMENTS: ResId = 6;
pub const STATEFULSETS: ResId = 7;
pub const REPLICASETS: ResId = 8;
pub const PDBS: ResId = 9;
pub const NETWORKPOLICIES: ResId = 10;
pub const SERVICEACCOUNTS: ResId = 11;
pub const ROLES: ResId = 12;
pub const ROLEBINDINGS: ResId = 13;
pub const CLUSTERROLES: ResId = 14;
pub const CLUSTERROLEBINDINGS: ResId = 15;
pub const EVENTS_V1: ResId = 16;
pub const DAEMONSETS: ResId = 17;
pub const CONTROLLERREVISIONS: ResId = 18;
pub const JOBS: ResId = 19;
pub const CRONJOBS: ResId = 20;
pub const SECRETS: ResId = 21;
pub const RESOURCEQUOTAS: ResId = 22;

/// The verbs every resource supports; the sandbox implements them all.
pub fn verbs() -> &'static [&'static str] {
    ALL_VERBS
}

impl ResourceDef {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn subresource(&'static self, name: &str) -> Option<&'static SubresourceDef> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

/// Finds a resource by group, version and plural name.
pub fn find(group: &str, version: &str, plural: &str) -> Option<ResId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Finds a resource by apiVersion and kind, as written in a manifest.
pub fn find_kind(api_version: &str, kind: &str) -> Option<ResId> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.kind == kind)
}

/// The API groups, in the order discovery lists them (core excluded).
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}

pub fn def(id: ResId) -> &'static ResourceDef {
    &RESOURCES[id]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_table() {
        assert_eq!(def(NAMESPACES).plural, "namespaces");
        assert_eq!(def(NODES).plural, "nodes");
        assert_eq!(def(PODS).plural, "pods");
        assert_eq!(def(SERVICES).plural, "services");
        assert_eq!(def(CONFIGMAPS).plural, "configmaps");
        assert_eq!(def(EVENTS).plural, "events");
        assert_eq!(def(DEPLOYMENTS).plural, "deployments");
        assert_eq!(def(STATEFULSETS).plural, "statefulsets");
        assert_eq!(def(REPLICASETS).plural, "replicasets");
        assert_eq!(def(PDBS).plural, "poddisruptionbudgets");
        assert_eq!(def(NETWORKPOLICIES).plural, "networkpolicies");
        assert_eq!(def(SERVICEACCOUNTS).plural, "serviceaccounts");
        assert_eq!(def(ROLES).plural, "roles");
        assert_eq!(def(ROLEBINDINGS).plural, "rolebindings");
        assert_eq!(def(CLUSTERROLES).plural, "clusterroles");
        assert_eq!(def(CLUSTERROLEBINDINGS).plural, "clusterrolebindings");
        assert_eq!(def(DAEMONSETS).plural, "daemonsets");
        assert_eq!(def(CONTROLLERREVISIONS).plural, "controllerrevisions");
        assert_eq!(def(JOBS).plural, "jobs");
        assert_eq!(def(CRONJOBS).plural, "cronjobs");
        assert_eq!(def(SECRETS).plural, "secrets");
        assert_eq!(def(RESOURCEQUOTAS).plural, "resourcequotas");
    }

    #[test]
    fn finds_by_kind_and_plural() {
        assert_eq!(find_kind("apps/v1", "Deployment"), Some(DEPLOYMENTS));
        assert_eq!(find_kind("v1", "Pod"), Some(PODS));
        assert_eq!(find("policy", "v1", "poddisruptionbudgets"), Some(PDBS));
        assert_eq!(find("apps", "v1", "pods"), None);
    }
}
