//! The drill loop's side of the facilitator controls (`drill::control`):
//! each is journalled (`facilitator.*`, with the drill time) and answered.
//! Pause stops the drill clock, so every later inject is delayed by the
//! pause in wall time and not at all in drill time.

use serde_json::json;

use super::deliver::Deliverer;
use super::run::Running;
use super::schedule::{Schedule, State};
use crate::drill::control::{Control, ControlRefused};
use crate::report::exercise::INJECT_SKIPPED;
use crate::report::live::lock;
use crate::respond::server::ControlReply;

/// The facilitator token's file in the run directory (0600), which
/// `gameday drill control` reads by default.
pub const TOKEN_FILE: &str = "facilitator-token";

/// Applies one control and answers it; returns why the drill ends, for `end`.
pub async fn apply(
    running: &Running,
    deliverer: &Deliverer,
    schedule: &mut Schedule<'_>,
    control: Control,
    reply: ControlReply,
) -> Option<String> {
    let clock = &running.clock;
    let waiting = |id: &str| match schedule.index(id) {
        None => Err(ControlRefused::NoSuchInject(id.to_string())),
        Some(i) if schedule.states[i] != State::Waiting => {
            Err(ControlRefused::AlreadySettled(id.to_string()))
        }
        Some(i) => Ok(i),
    };
    let result: Result<String, ControlRefused> = match &control {
        Control::Pause if clock.pause() => Ok("paused".into()),
        Control::Pause => Err(ControlRefused::AlreadyPaused),
        Control::Resume if clock.resume() => Ok("resumed".into()),
        Control::Resume => Err(ControlRefused::NotPaused),
        Control::Inject { id } => match waiting(id) {
            Ok(i) => {
                deliverer.fire(running, schedule.inject(i)).await;
                schedule.states[i] = State::Fired(clock.elapsed());
                Ok(format!("inject {id} fired"))
            }
            Err(e) => Err(e),
        },
        Control::Skip { id } => waiting(id).map(|i| {
            schedule.states[i] = State::Settled;
            let _ = running.journal.append(
                "facilitator",
                INJECT_SKIPPED,
                json!({"inject": id, "drillSeconds": clock.elapsed().as_secs_f64()}),
            );
            format!("inject {id} skipped")
        }),
        Control::Hint { text } => {
            lock(&running.shared).push(
                clock.now(),
                "facilitator",
                "facilitator.hint",
                format!("hint to everyone: {text}"),
            );
            Ok("hint sent to everyone".into())
        }
        Control::End => Ok("ending the drill".into()),
    };
    if result.is_ok() {
        let mut data = serde_json::to_value(&control).unwrap_or_default();
        data["drillSeconds"] = json!(clock.elapsed().as_secs_f64());
        data["at"] = json!(clock.now());
        let _ = running.journal.append("facilitator", control.event(), data);
    }
    let ends = result.is_ok() && control == Control::End;
    let _ = reply.send(result);
    ends.then(|| "ended by the facilitator".into())
}
