//! Five-field cron expressions for `calendar.schedules[].cron`: the same
//! parser the sandbox validates CronJobs with, since the chart renders
//! each schedule into a CronJob's `spec.schedule` and gameday must accept
//! exactly what kube-apiserver does (see `gameday_spanned::values::cron`).

pub use gameday_spanned::values::cron::{Cron, CronError};
