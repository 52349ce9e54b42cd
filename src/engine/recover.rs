//! Finding and reverting marked objects by label. Shared by the end of every
//! run (confirm), `gameday recover`, `gameday halt` and the crash guard: the
//! cluster is the source of truth, so none of them need the run directory.

use futures::StreamExt;
use kube::api::{DynamicObject, ListParams};
use serde::Serialize;

use crate::faults::{self, Reverted};
use crate::k8s::marks::{LABEL_RUN_ID, Marked, ObjKind, ObjRef};
use crate::k8s::{K8sError, Kube};

/// Which marks to look for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this run's marks; `None` for every run.
    pub run_id: Option<String>,
    /// Only marks whose `gameday/expires-at` has passed.
    pub expired_only: bool,
    /// Namespaces to search for namespaced kinds; `None` for all namespaces.
    pub namespaces: Option<Vec<String>>,
    /// Also search nodes.
    pub nodes: bool,
    /// Only these namespaced kinds (`None`: all). A run's confirm step looks
    /// only where its faults can leave marks, which keeps it to one list
    /// per namespace for pod faults.
    pub kinds: Option<Vec<ObjKind>>,
}

pub use crate::faults::kinds_marked_by;

impl Filter {
    /// Every mark one run can leave: its namespaces, and nodes when a fault
    /// targets nodes. The drop guard of a run and of a hybrid drill both
    /// sweep with it.
    pub fn of_run(run_id: &str, scenario: &crate::scenario::Scenario) -> Filter {
        Filter {
            run_id: Some(run_id.to_string()),
            expired_only: false,
            namespaces: Some(scenario.spec.target.namespaces.clone()),
            nodes: scenario.spec.faults.iter().any(|f| {
                crate::faults::kind_of(f.kind).target_kind() == crate::scenario::TargetKind::Nodes
            }),
            kinds: None,
        }
    }
}

fn selector(run_id: Option<&str>) -> String {
    match run_id {
        Some(id) => format!("{LABEL_RUN_ID}={id}"),
        None => LABEL_RUN_ID.to_string(),
    }
}

const LIST_CONCURRENCY: usize = 16;

async fn list_job<'a>(
    kube: &Kube,
    kind: ObjKind,
    ns: Option<&'a str>,
    sel: &str,
) -> (
    ObjKind,
    Option<&'a str>,
    Result<Vec<DynamicObject>, K8sError>,
) {
    (kind, ns, list_kind(kube, kind, ns, sel).await)
}

async fn list_kind(
    kube: &Kube,
    kind: ObjKind,
    ns: Option<&str>,
    sel: &str,
) -> Result<Vec<DynamicObject>, K8sError> {
    let probe = ObjRef {
        kind,
        namespace: ns.map(str::to_string),
        name: String::new(),
    };
    let api = crate::faults::common::dyn_api(kube, &probe);
    let lp = ListParams::default().labels(sel);
    let op = format!("list marked {kind} in {}", ns.unwrap_or("all namespaces"));
    Ok(kube.call(&op, || api.list(&lp)).await?.items)
}

/// A list the identity may not make (403): what it could not look at.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refused {
    pub kind: ObjKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub error: String,
}

/// What to do with a 403 on one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnForbidden {
    /// Fail: a mark that cannot be seen must never count as gone (the run's
    /// own confirm step, the crash guard).
    Fail,
    /// Skip that list and report it (`recover`, `halt`: revert what the
    /// identity can see, and say what it could not).
    Report,
}

/// Every marked object matching the filter. Marks that cannot be parsed
/// are returned as unknown-type marks so that they are still stripped.
pub async fn find(kube: &Kube, filter: &Filter) -> Result<Vec<Marked>, K8sError> {
    Ok(find_with(kube, filter, OnForbidden::Fail).await?.0)
}

/// As [`find`], skipping the lists this identity is forbidden to make and
/// returning them.
pub async fn find_reporting(
    kube: &Kube,
    filter: &Filter,
) -> Result<(Vec<Marked>, Vec<Refused>), K8sError> {
    find_with(kube, filter, OnForbidden::Report).await
}

async fn find_with(
    kube: &Kube,
    filter: &Filter,
    on_forbidden: OnForbidden,
) -> Result<(Vec<Marked>, Vec<Refused>), K8sError> {
    let sel = selector(filter.run_id.as_deref());
    let mut refused = Vec::new();
    let mut keep =
        |kind: ObjKind, ns: Option<&str>, r: Result<Vec<DynamicObject>, K8sError>| match r {
            Err(e) if e.is_forbidden() && on_forbidden == OnForbidden::Report => {
                refused.push(Refused {
                    kind,
                    namespace: ns.map(str::to_string),
                    error: e.to_string(),
                });
                Ok(Vec::new())
            }
            other => other,
        };
    let now = jiff::Timestamp::now();
    let mut out = Vec::new();
    let mut push = |kind: ObjKind, items: Vec<DynamicObject>| {
        for o in items {
            let m = match Marked::from_meta(kind, &o.metadata) {
                Some(Ok(m)) => m,
                Some(Err(_)) => Marked {
                    obj: ObjRef {
                        kind,
                        namespace: o.metadata.namespace.clone(),
                        name: o.metadata.name.clone().unwrap_or_default(),
                    },
                    run_id: String::new(),
                    fault: None,
                    fault_type: None,
                    expires_at: None,
                    undo: serde_json::Value::Null,
                },
                None => continue,
            };
            if filter.expired_only && !m.is_expired(now) {
                continue;
            }
            out.push(m);
        }
    };
    // One list per (kind, namespace), a few in flight at once: a run over
    // many namespaces confirms in the time of a handful of round trips.
    let mut jobs: Vec<(ObjKind, Option<String>)> = Vec::new();
    for kind in [
        ObjKind::Pod,
        ObjKind::Deployment,
        ObjKind::StatefulSet,
        ObjKind::NetworkPolicy,
    ] {
        if filter.kinds.as_ref().is_some_and(|k| !k.contains(&kind)) {
            continue;
        }
        match &filter.namespaces {
            None => jobs.push((kind, None)),
            Some(nss) => jobs.extend(nss.iter().map(|ns| (kind, Some(ns.clone())))),
        }
    }
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut next = jobs.iter();
    loop {
        while in_flight.len() < LIST_CONCURRENCY {
            let Some((kind, ns)) = next.next() else { break };
            in_flight.push(list_job(kube, *kind, ns.as_deref(), &sel));
        }
        match in_flight.next().await {
            Some((kind, ns, items)) => push(kind, keep(kind, ns, items)?),
            None => break,
        }
    }
    if filter.nodes || filter.namespaces.is_none() {
        let nodes = list_kind(kube, ObjKind::Node, None, &sel).await;
        push(ObjKind::Node, keep(ObjKind::Node, None, nodes)?);
    }
    Ok((out, refused))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevertReport {
    pub obj: ObjRef,
    pub fault: Option<String>,
    pub fault_type: Option<String>,
    pub run_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Reverted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reverts every mark, `concurrency` at a time, with the revert retry policy.
pub async fn revert_all(kube: &Kube, marked: Vec<Marked>, concurrency: usize) -> Vec<RevertReport> {
    let kube = Kube {
        retry: kube.retry.for_revert(),
        ..kube.clone()
    };
    let kube = &kube;
    futures::stream::iter(marked)
        .map(|m| async move {
            let r = faults::revert_marked(kube, &m).await;
            RevertReport {
                obj: m.obj.clone(),
                fault: m.fault.clone(),
                fault_type: m.fault_type.map(|t| t.as_str().to_string()),
                run_id: m.run_id.clone(),
                result: r.as_ref().ok().copied(),
                error: r.err().map(|e| e.to_string()),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// Reverts what is found, then looks again; returns what is still marked.
/// Idempotent: running it on a clean cluster changes nothing.
pub async fn sweep(
    kube: &Kube,
    filter: &Filter,
    concurrency: usize,
) -> Result<(Vec<RevertReport>, Vec<Marked>), K8sError> {
    sweep_where(kube, filter, concurrency, |_| true).await
}

/// As [`sweep`], for the marks `wanted` accepts only. The end of a fault
/// phase leaves responder actions alone: they are reverted after the
/// recovery measurement, which they may be part of.
pub async fn sweep_where(
    kube: &Kube,
    filter: &Filter,
    concurrency: usize,
    wanted: impl Fn(&Marked) -> bool,
) -> Result<(Vec<RevertReport>, Vec<Marked>), K8sError> {
    let s = sweep_with(kube, filter, concurrency, wanted, OnForbidden::Fail).await?;
    Ok((s.reports, s.left))
}

/// The outcome of a sweep that reports what it was not allowed to see.
#[derive(Debug, Default)]
pub struct Sweep {
    pub reports: Vec<RevertReport>,
    /// Still marked after the retries.
    pub left: Vec<Marked>,
    /// Lists this identity is forbidden to make: marks there, if any, were
    /// neither seen nor reverted.
    pub refused: Vec<Refused>,
}

/// As [`sweep`], continuing past a 403 on one kind or namespace (`gameday
/// recover` and `halt` under least privilege) and reporting it.
pub async fn sweep_reporting(
    kube: &Kube,
    filter: &Filter,
    concurrency: usize,
) -> Result<Sweep, K8sError> {
    sweep_with(kube, filter, concurrency, |_| true, OnForbidden::Report).await
}

async fn sweep_with(
    kube: &Kube,
    filter: &Filter,
    concurrency: usize,
    wanted: impl Fn(&Marked) -> bool,
    on_forbidden: OnForbidden,
) -> Result<Sweep, K8sError> {
    let find_wanted = || async {
        find_with(kube, filter, on_forbidden)
            .await
            .map(|(f, refused)| {
                let f: Vec<Marked> = f.into_iter().filter(|m| wanted(m)).collect();
                (f, refused)
            })
    };
    let mut reports = Vec::new();
    for _ in 0..3 {
        let (found, refused) = find_wanted().await?;
        if found.is_empty() {
            return Ok(Sweep {
                reports,
                left: vec![],
                refused,
            });
        }
        reports.extend(revert_all(kube, found, concurrency).await);
    }
    let (left, refused) = find_wanted().await?;
    Ok(Sweep {
        reports,
        left,
        refused,
    })
}
