//! The CronJob controller, after kubernetes
//! pkg/controller/cronjob/cronjob_controllerv2.go and utils.go (v1.33):
//! - the schedule is the standard 5-field cron (robfig/cron v3's standard
//!   parser: ranges, steps, lists, month and weekday names, `@hourly` and
//!   friends; day-of-month and day-of-week OR-ed when both are restricted),
//!   read in `spec.timeZone` (UTC without one);
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

use jiff::{Timestamp, ToSpan, Zoned, tz::TimeZone};
use serde_json::{Value, json};

use super::Ctx;
use super::events::{NORMAL, WARNING};
use super::job::finished;
use crate::meta;
use crate::resources::{CRONJOBS, JOBS};
use crate::store::{Obj, UpdateMode};

const COMPONENT: &str = "cronjob-controller";
const SCHEDULED_AT: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// Why a schedule does not parse (robfig/cron's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

/// A parsed 5-field schedule: one bit per allowed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_star: bool,
    dow_star: bool,
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, names: &[&str], base: u32) -> Result<u32, ScheduleError> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + base);
    }
    s.parse::<u32>()
        .map_err(|_| ScheduleError(format!("failed to parse int from {s}")))
}

fn field(
    s: &str,
    lo: u32,
    hi: u32,
    names: &[&str],
    base: u32,
) -> Result<(u64, bool), ScheduleError> {
    let mut bits = 0u64;
    let mut star = false;
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (
                r,
                st.parse::<u32>()
                    .map_err(|_| ScheduleError(format!("failed to parse int from {st}")))?,
            ),
            None => (part, 1),
        };
        let (a, b) = if range == "*" || range == "?" {
            star |= step == 1;
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, base)?, value(b, names, base)?)
        } else {
            let a = value(range, names, base)?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b || step == 0 {
            return Err(ScheduleError(format!("{part}: beyond range {lo}-{hi}")));
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Schedule {
    pub fn parse(s: &str) -> Result<Schedule, ScheduleError> {
        let s = s.trim();
        let expanded = match s {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(ScheduleError(format!(
                "expected exactly 5 fields, found {}: {s}",
                f.len()
            )));
        }
        let (minute, _) = field(f[0], 0, 59, &[], 0)?;
        let (hour, _) = field(f[1], 0, 23, &[], 0)?;
        let (dom, dom_star) = field(f[2], 1, 31, &[], 1)?;
        let (month, _) = field(f[3], 1, 12, MONTHS, 1)?;
        let (mut dow, dow_star) = field(f[4], 0, 7, DAYS, 0)?;
        if dow & (1 << 7) != 0 {
            dow |= 1;
        }
        Ok(Schedule {
            minute,
            hour,
            dom,
            month,
            dow,
            dom_star,
            dow_star,
        })
    }

    fn day_matches(&self, t: &Zoned) -> bool {
        let d = self.dom & (1 << t.day()) != 0;
        let w = self.dow & (1 << t.weekday().to_sunday_zero_offset()) != 0;
        if self.dom_star || self.dow_star {
            d && w
        } else {
            d || w
        }
    }

    /// The first scheduled time strictly after `t` (within five years).
    pub fn next_after(&self, t: &Zoned) -> Option<Zoned> {
        let mut z = t.round(jiff::Unit::Minute).ok()?;
        if z <= *t {
            z = z.checked_add(1.minute()).ok()?;
        }
        let limit = t.checked_add(5.years()).ok()?;
        while z < limit {
            if self.month & (1 << z.month()) == 0 {
                z = z.first_of_month().ok()?.start_of_day().ok()?;
                z = z.checked_add(1.month()).ok()?;
            } else if !self.day_matches(&z) {
                z = z.start_of_day().ok()?.checked_add(1.day()).ok()?;
            } else if self.hour & (1 << z.hour()) == 0 {
                z = z
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
            } else if self.minute & (1 << z.minute()) == 0 {
                z = z.checked_add(1.minute()).ok()?;
            } else {
                return Some(z);
            }
        }
        None
    }
}

/// The latest scheduled time in (`since`, `now`], and how many there were
/// (the controller gives up past 100, as `mostRecentScheduleTime` does).
fn most_recent(sched: &Schedule, since: &Zoned, now: &Zoned) -> (Option<Zoned>, usize) {
    let mut last = None;
    let mut n = 0;
    let mut t = since.clone();
    while let Some(next) = sched.next_after(&t) {
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
    let sched = match Schedule::parse(spec) {
        Ok(s) => s,
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
    let tz = match cj["spec"]["timeZone"].as_str() {
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
    if let Some(next) = sched.next_after(&now) {
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

    fn at(s: &str, tz: &str) -> Zoned {
        let t: Timestamp = s.parse().expect("time");
        t.to_zoned(TimeZone::get(tz).expect("tz"))
    }

    #[test]
    fn schedules_step_through_fields_like_robfig_cron() {
        let s = Schedule::parse("0 10 * * 2").expect("parse");
        let next = s
            .next_after(&at("2026-11-30T04:00:00Z", "UTC"))
            .expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-12-01T10:00:00Z");
        let s = Schedule::parse("*/15 9-17 * * mon-fri").expect("parse");
        let next = s
            .next_after(&at("2026-11-28T12:00:00Z", "UTC"))
            .expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-11-30T09:00:00Z");
        // Both day fields restricted: either matches.
        let s = Schedule::parse("0 0 1 * 1").expect("parse");
        let next = s
            .next_after(&at("2026-11-28T00:00:00Z", "UTC"))
            .expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-11-30T00:00:00Z");
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("* * *").is_err());
        assert_eq!(Schedule::parse("@hourly"), Schedule::parse("0 * * * *"));
    }

    #[test]
    fn the_time_zone_decides_the_hour() {
        let s = Schedule::parse("0 10 * * *").expect("parse");
        let next = s
            .next_after(&at("2026-11-30T00:00:00Z", "Europe/Berlin"))
            .expect("next");
        assert_eq!(next.timestamp().to_string(), "2026-11-30T09:00:00Z");
    }

    #[test]
    fn missed_times_start_one_job_for_the_latest() {
        let s = Schedule::parse("* * * * *").expect("parse");
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
