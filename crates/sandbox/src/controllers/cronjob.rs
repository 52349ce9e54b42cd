//! The CronJob controller, after kubernetes
//! pkg/controller/cronjob/cronjob_controllerv2.go and utils.go (v1.33):
//! - the schedule is read by robfig/cron v3's `ParseStandard`, shared with
//!   the API's validation and with gameday (`gameday_spanned::values::cron`),
//!   in `spec.timeZone` (UTC without one);
//! - the most recent missed time since `lastScheduleTime` (or creation)
//!   starts a Job named `<cronjob>-<minutes since the epoch>` with the
//!   `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation and a
//!   controlling ownerReference; a time older than
//!   `startingDeadlineSeconds` is missed (`MissSchedule`);
//! - `concurrencyPolicy`: Forbid skips while a job is active
//!   (`JobAlreadyActive`), Replace deletes the active ones first;
//! - `suspend` starts nothing; finished jobs leave `status.active`
//!   (`SawCompletedJob`), set `lastSuccessfulTime`, and beyond
//!   `successfulJobsHistoryLimit`/`failedJobsHistoryLimit` the oldest are
//!   deleted;
//! - an unfinished job it owns but did not start (`kubectl create job
//!   --from=cronjob/NAME`, which sets the CronJob as controller) gets the
//!   `UnexpectedJob` warning and is not added to `active`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gameday_spanned::values::cron::{Schedule, parse_standard};
use jiff::{Timestamp, Zoned, tz::TimeZone};
use serde_json::{Value, json};

use super::Ctx;
use super::events::{NORMAL, WARNING};
use super::job::finished;
use crate::meta;
use crate::resources::{CRONJOBS, JOBS};
use crate::store::{Obj, UpdateMode};

const COMPONENT: &str = "cronjob-controller";
const SCHEDULED_AT: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// The latest scheduled time in (`since`, `now`], and how many there were
/// (the controller gives up past 100, as `mostRecentScheduleTime` does).
fn most_recent(sched: &Schedule, since: &Zoned, now: &Zoned) -> (Option<Zoned>, usize) {
    let mut last = None;
    let mut n = 0;
    let mut t = since.clone();
    while let Some(next) = sched.next_after(t.timestamp(), t.time_zone()) {
        if next > *now || n > 100 {
            break;
        }
        n += 1;
        t = next.clone();
        last = Some(next);
    }
    (last, n)
}

/// The controller's memory: the unexpected jobs already warned about (the
/// real controller warns on each resync; the sandbox's passes run on every
/// write, and an event is a write).
#[derive(Default)]
pub struct CronJobController {
    warned: HashSet<String>,
}

impl CronJobController {
    /// One pass over every CronJob.
    pub fn reconcile(&mut self, ctx: &Ctx) -> bool {
        let (cjs, _) = ctx.store.list(CRONJOBS, None);
        if cjs.is_empty() {
            return false;
        }
        let (jobs, _) = ctx.store.list(JOBS, None);
        let live: HashSet<&str> = jobs.iter().map(|j| j.summary.uid.as_str()).collect();
        self.warned.retain(|u| live.contains(u.as_str()));
        let jobs_by = super::workloads::by_owner(&jobs);
        let mut changed = false;
        for cj in &cjs {
            let owned = jobs_by
                .get(&cj.summary.uid)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            changed |= self.sync(ctx, &cj.parse(), owned);
        }
        changed
    }

    fn sync(&mut self, ctx: &Ctx, cj: &Value, jobs: &[Arc<Obj>]) -> bool {
        let mut status = cj.get("status").cloned().unwrap_or(json!({}));
        if !status.is_object() {
            status = json!({});
        }
        track_jobs(ctx, cj, jobs, &mut status, &mut self.warned);
        let mut changed = history(ctx, cj, jobs);
        changed |= schedule(ctx, cj, &mut status);
        changed | set_status(ctx, cj, status)
    }
}

/// Updates `status.active` and `lastSuccessfulTime` from the owned jobs.
fn track_jobs(
    ctx: &Ctx,
    cj: &Value,
    jobs: &[Arc<Obj>],
    status: &mut Value,
    warned: &mut HashSet<String>,
) {
    let mut active: Vec<Value> = status["active"].as_array().cloned().unwrap_or_default();
    let in_active = |uid: &str, a: &[Value]| a.iter().any(|r| r["uid"] == uid);
    for j in jobs {
        let job = j.parse();
        let uid = j.summary.uid.as_str();
        let done = finished(&job);
        match (in_active(uid, &active), done) {
            (false, None) if warned.insert(uid.to_string()) => {
                ctx.event(
                    cj,
                    WARNING,
                    "UnexpectedJob",
                    &format!(
                        "Saw a job that the controller did not create or forgot: {}",
                        j.summary.name
                    ),
                    COMPONENT,
                );
            }
            (true, Some(cond)) => {
                active.retain(|r| r["uid"] != uid);
                ctx.event(
                    cj,
                    NORMAL,
                    "SawCompletedJob",
                    &format!("Saw completed job: {}, condition: {cond}", j.summary.name),
                    COMPONENT,
                );
            }
            _ => {}
        }
        if done == Some("Complete")
            && let Some(t) = job["status"]["completionTime"].as_str()
        {
            let newer = status["lastSuccessfulTime"]
                .as_str()
                .and_then(meta::parse_time)
                .is_none_or(|old| meta::parse_time(t).is_some_and(|n| n > old));
            if newer {
                status["lastSuccessfulTime"] = json!(t);
            }
        }
    }
    // Active jobs that are gone.
    active.retain(|r| jobs.iter().any(|j| r["uid"] == j.summary.uid.as_str()));
    if active.is_empty() {
        if let Some(o) = status.as_object_mut() {
            o.remove("active");
        }
    } else {
        status["active"] = json!(active);
    }
}

/// Deletes the oldest finished jobs beyond the history limits.
fn history(ctx: &Ctx, cj: &Value, jobs: &[Arc<Obj>]) -> bool {
    let mut changed = false;
    for (cond, key, default) in [
        ("Complete", "successfulJobsHistoryLimit", 3),
        ("Failed", "failedJobsHistoryLimit", 1),
    ] {
        let limit = meta::at(cj, &["spec", key])
            .and_then(Value::as_i64)
            .unwrap_or(default)
            .max(0) as usize;
        let mut done: Vec<(String, String)> = jobs
            .iter()
            .filter(|j| finished(&j.parse()) == Some(cond))
            .map(|j| (j.summary.created.clone(), j.summary.name.clone()))
            .collect();
        done.sort();
        let extra = done.len().saturating_sub(limit);
        for (_, name) in done.into_iter().take(extra) {
            if ctx
                .store
                .delete(JOBS, meta::namespace(cj), &name, None)
                .is_ok()
            {
                changed = true;
                ctx.event(
                    cj,
                    NORMAL,
                    "SuccessfulDelete",
                    &format!("Deleted job {name}"),
                    COMPONENT,
                );
            }
        }
    }
    changed
}

/// Starts the job due now, if any, and asks for a pass at the next time.
fn schedule(ctx: &Ctx, cj: &Value, status: &mut Value) -> bool {
    if cj["spec"]["suspend"].as_bool() == Some(true) {
        return false;
    }
    let spec = cj["spec"]["schedule"].as_str().unwrap_or("");
    let (sched, prefix_zone) = match parse_standard(spec) {
        Ok(p) => (p.schedule, p.zone),
        Err(e) => {
            ctx.event(
                cj,
                WARNING,
                "UnparseableSchedule",
                &format!("unparseable schedule: {spec:?} : {e}"),
                COMPONENT,
            );
            return false;
        }
    };
    // A `TZ=` prefix (only on objects from before the API server refused
    // it) wins, as robfig's parser returns that location.
    let tz = match prefix_zone.as_deref().or(cj["spec"]["timeZone"].as_str()) {
        None => TimeZone::UTC,
        Some(name) => match TimeZone::get(name) {
            Ok(tz) => tz,
            Err(_) => {
                ctx.event(
                    cj,
                    WARNING,
                    "UnknownTimeZone",
                    &format!("invalid timeZone: {name:?}"),
                    COMPONENT,
                );
                return false;
            }
        },
    };
    let now = Timestamp::now().to_zoned(tz.clone());
    let since = status["lastScheduleTime"]
        .as_str()
        .or_else(|| meta::str_at(cj, &["metadata", "creationTimestamp"]))
        .and_then(meta::parse_time)
        .unwrap_or_else(Timestamp::now)
        .to_zoned(tz);
    if let Some(next) = sched.next_after(now.timestamp(), now.time_zone()) {
        let wait = next.timestamp().duration_since(now.timestamp());
        let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
        ctx.wake_at(Instant::now() + wait + Duration::from_millis(10));
    }
    let (Some(due), _) = most_recent(&sched, &since, &now) else {
        return false;
    };
    let late = now
        .timestamp()
        .duration_since(due.timestamp())
        .as_secs_f64();
    if let Some(deadline) = cj["spec"]["startingDeadlineSeconds"].as_i64()
        && late > deadline as f64
    {
        ctx.event(
            cj,
            WARNING,
            "MissSchedule",
            &format!(
                "Missed scheduled time to start a job: {}",
                meta::format_time(due.timestamp())
            ),
            COMPONENT,
        );
        status["lastScheduleTime"] = json!(meta::format_time(due.timestamp()));
        return false;
    }
    let active = status["active"].as_array().cloned().unwrap_or_default();
    match cj["spec"]["concurrencyPolicy"].as_str() {
        Some("Forbid") if !active.is_empty() => {
            ctx.event(
                cj,
                NORMAL,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
                COMPONENT,
            );
            return false;
        }
        Some("Replace") => {
            for r in &active {
                let name = r["name"].as_str().unwrap_or("");
                if ctx
                    .store
                    .delete(JOBS, meta::namespace(cj), name, None)
                    .is_ok()
                {
                    ctx.event(
                        cj,
                        NORMAL,
                        "SuccessfulDelete",
                        &format!("Deleted job {name}"),
                        COMPONENT,
                    );
                }
            }
            if let Some(o) = status.as_object_mut() {
                o.remove("active");
            }
        }
        _ => {}
    }
    start_job(ctx, cj, &due, status)
}

fn start_job(ctx: &Ctx, cj: &Value, due: &Zoned, status: &mut Value) -> bool {
    let at = meta::format_time(due.timestamp());
    let name = format!("{}-{}", meta::name(cj), due.timestamp().as_second() / 60);
    let tpl = cj["spec"]["jobTemplate"].clone();
    let mut md = tpl.get("metadata").cloned().unwrap_or(json!({}));
    if !md.is_object() {
        md = json!({});
    }
    md["name"] = json!(name);
    md["ownerReferences"] = json!([meta::owner_ref(cj)]);
    meta::ensure_object(&mut md, &["annotations"]).insert(SCHEDULED_AT.into(), json!(at));
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": md,
                     "spec": tpl.get("spec").cloned().unwrap_or(json!({}))});
    status["lastScheduleTime"] = json!(at);
    match ctx.store.create(JOBS, meta::namespace(cj), job) {
        Ok(o) => {
            let r = json!({"apiVersion": "batch/v1", "kind": "Job", "name": name,
                "namespace": meta::namespace(cj), "uid": o.summary.uid,
                "resourceVersion": o.rv.to_string()});
            let mut active = status["active"].as_array().cloned().unwrap_or_default();
            active.push(r);
            status["active"] = json!(active);
            ctx.event(
                cj,
                NORMAL,
                "SuccessfulCreate",
                &format!("Created job {name}"),
                COMPONENT,
            );
            true
        }
        Err(e) => {
            ctx.event(
                cj,
                WARNING,
                "FailedCreate",
                &format!("Error creating job: {e}"),
                COMPONENT,
            );
            false
        }
    }
}

fn set_status(ctx: &Ctx, cj: &Value, status: Value) -> bool {
    if cj.get("status") == Some(&status) {
        return false;
    }
    ctx.store
        .modify(
            CRONJOBS,
            meta::namespace(cj),
            meta::name(cj),
            UpdateMode::Full,
            |_, new| {
                new["status"] = status;
                Ok(())
            },
        )
        .is_ok()
}

/// Jobs per CronJob uid, for tests.
#[cfg(test)]
fn count(store: &crate::store::Store) -> std::collections::HashMap<String, usize> {
    let (jobs, _) = store.list(JOBS, None);
    let mut m = std::collections::HashMap::new();
    for j in jobs {
        *m.entry(j.summary.owner_uid().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ToSpan;

    fn parse(s: &str) -> Result<Schedule, gameday_spanned::values::cron::CronError> {
        parse_standard(s).map(|p| p.schedule)
    }

    fn next_after(s: &Schedule, t: &Zoned) -> Option<Zoned> {
        s.next_after(t.timestamp(), t.time_zone())
    }

    fn at(s: &str, tz: &str) -> Zoned {
        let t: Timestamp = s.parse().expect("time");
        t.to_zoned(TimeZone::get(tz).expect("tz"))
    }

    #[test]
    fn schedules_step_through_fields_like_robfig_cron() {
        let s = parse("0 10 * * 2").expect("parse");
        let next = next_after(&s, &at("2026-11-30T04:00:00Z", "UTC")).expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-12-01T10:00:00Z");
        let s = parse("*/15 9-17 * * mon-fri").expect("parse");
        let next = next_after(&s, &at("2026-11-28T12:00:00Z", "UTC")).expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-11-30T09:00:00Z");
        // Both day fields restricted: either matches.
        let s = parse("0 0 1 * 1").expect("parse");
        let next = next_after(&s, &at("2026-11-28T00:00:00Z", "UTC")).expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-11-30T00:00:00Z");
        assert!(parse("61 * * * *").is_err());
        assert!(parse("* * *").is_err());
        assert_eq!(parse("@hourly"), parse("0 * * * *"));
    }

    #[test]
    fn the_time_zone_decides_the_hour() {
        let s = parse("0 10 * * *").expect("parse");
        let next = next_after(&s, &at("2026-11-30T00:00:00Z", "Europe/Berlin")).expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-11-30T09:00:00Z");
    }

    #[test]
    fn missed_times_start_one_job_for_the_latest() {
        let s = parse("* * * * *").expect("parse");
        let (last, n) = most_recent(
            &s,
            &at("2026-11-30T04:00:30Z", "UTC"),
            &at("2026-11-30T04:03:10Z", "UTC"),
        );
        assert_eq!(n, 3);
        assert_eq!(
            last.map(|z| z.timestamp().to_string()).as_deref(),
            Some("2026-11-30T04:03:00Z")
        );
    }

    #[test]
    fn a_due_cronjob_starts_a_job_it_owns() {
        use crate::controllers::{Controllers, ensure_system_namespaces};
        let store = Arc::new(crate::store::Store::new(100));
        ensure_system_namespaces(&store);
        let cj = store
            .create(
                CRONJOBS,
                "default",
                json!({"metadata": {"name": "gd", "creationTimestamp": "2020-01-01T00:00:00Z"},
                    "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid",
                    "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}}}}}),
            )
            .expect("cronjob");
        // As if its last run was two minutes ago.
        let old = meta::format_time(Timestamp::now() - 120.seconds());
        store
            .modify(CRONJOBS, "default", "gd", UpdateMode::Full, |_, v| {
                v["status"] = json!({"lastScheduleTime": old});
                Ok(())
            })
            .expect("backdate");
        let mut ctrl = Controllers::new(store.clone(), 33);
        for _ in 0..5 {
            ctrl.pass(true);
        }
        assert_eq!(
            count(&store).get(&cj.summary.uid),
            Some(&1),
            "Forbid: one job"
        );
        let v = store.get(CRONJOBS, "default", "gd").expect("cj").parse();
        assert_eq!(v["status"]["active"].as_array().map(Vec::len), Some(1));
        assert!(v["status"]["lastScheduleTime"].is_string());
    }
}
