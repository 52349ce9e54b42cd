//! What a pod's processes do to it: CPU and memory from running stress
//! processes, and the netem qdisc on its interface. The qdisc lives in the
//! pod's network namespace, not in the process that added it: it stays
//! after that container exits, until someone deletes it or the pod (and
//! its namespace) goes away — as on Linux.

use std::collections::BTreeMap;

/// A netem qdisc's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Netem {
    pub delay_ms: f64,
    pub jitter_ms: f64,
    pub loss_percent: f64,
}

fn millis(s: &str) -> Option<f64> {
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        // tc's default time unit is microseconds.
        (s, 0.001)
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * mult)
}

/// What `tc` prints when its parser or the kernel refuses, in iproute2's
/// own words (q_netem.c, tc_qdisc.c, and the kernel's extack messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TcError {
    #[error("Illegal \"latency\"")]
    IllegalLatency,
    #[error("Illegal \"loss percent\"")]
    IllegalLossPercent,
    #[error("What is \"{0}\"?")]
    Unknown(String),
    #[error("RTNETLINK answers: File exists")]
    Exists,
    #[error("Error: Cannot delete qdisc with handle of zero.")]
    HandleZero,
    #[error("Error: Invalid handle.")]
    InvalidHandle,
}

impl Netem {
    /// `delay X [Y]` and `loss [random] P%`, as iproute2's netem takes them.
    pub fn parse(words: &[&str]) -> Result<Netem, TcError> {
        let mut n = Netem::default();
        let mut i = 0;
        while let Some(w) = words.get(i) {
            match *w {
                "delay" | "latency" => {
                    n.delay_ms = words
                        .get(i + 1)
                        .and_then(|v| millis(v))
                        .ok_or(TcError::IllegalLatency)?;
                    i += 2;
                    if let Some(j) = words.get(i).and_then(|v| millis(v)) {
                        n.jitter_ms = j;
                        i += 1;
                    }
                }
                "loss" => {
                    i += 1;
                    if words.get(i) == Some(&"random") {
                        i += 1;
                    }
                    n.loss_percent = words
                        .get(i)
                        .and_then(|v| v.strip_suffix('%'))
                        .and_then(|v| v.parse::<f64>().ok())
                        .filter(|v| (0.0..=100.0).contains(v))
                        .ok_or(TcError::IllegalLossPercent)?;
                    i += 1;
                }
                other => return Err(TcError::Unknown(other.to_string())),
            }
        }
        Ok(n)
    }
}

/// The root qdisc on a device, when one was added.
#[derive(Debug, Clone, PartialEq)]
struct Qdisc {
    handle: String,
    netem: Netem,
}

/// A pod's network namespace: `lo` and `eth0`, each with its root qdisc.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Netns {
    root: BTreeMap<String, Qdisc>,
}

fn normal_handle(h: &str) -> String {
    // `7a11:` and `7a11:0` name the same qdisc.
    h.trim_end_matches('0').trim_end_matches(':').to_string() + ":"
}

impl Netns {
    pub fn has_device(&self, dev: &str) -> bool {
        matches!(dev, "eth0" | "lo")
    }

    /// `tc qdisc show dev D`, one line as iproute2 prints it.
    pub fn show(&self, dev: &str) -> String {
        match self.root.get(dev) {
            Some(q) => {
                let mut line = format!("qdisc netem {} root refcnt 2 limit 1000", q.handle);
                if q.netem.delay_ms > 0.0 {
                    line += &format!(" delay {}ms", q.netem.delay_ms);
                    if q.netem.jitter_ms > 0.0 {
                        line += &format!("  {}ms", q.netem.jitter_ms);
                    }
                }
                if q.netem.loss_percent > 0.0 {
                    line += &format!(" loss {}%", q.netem.loss_percent);
                }
                line
            }
            None => "qdisc noqueue 0: root refcnt 2".into(),
        }
    }

    /// `add` fails when a root qdisc was already added ("File exists");
    /// `replace` overwrites it.
    pub fn add(
        &mut self,
        dev: &str,
        handle: Option<&str>,
        netem: Netem,
        replace: bool,
    ) -> Result<(), TcError> {
        if !replace && self.root.contains_key(dev) {
            return Err(TcError::Exists);
        }
        let handle = handle.map_or_else(|| "8001:".to_string(), normal_handle);
        self.root.insert(dev.to_string(), Qdisc { handle, netem });
        Ok(())
    }

    /// `del ... root [handle H]`: the kernel refuses a handle that is not the
    /// root qdisc's (tc_get_qdisc: "Invalid handle") and the default qdisc
    /// (handle 0).
    pub fn delete(&mut self, dev: &str, handle: Option<&str>) -> Result<(), TcError> {
        let Some(q) = self.root.get(dev) else {
            return Err(TcError::HandleZero);
        };
        if let Some(h) = handle
            && normal_handle(h) != q.handle
        {
            return Err(TcError::InvalidHandle);
        }
        self.root.remove(dev);
        Ok(())
    }

    /// The netem on the pod's interface, if any.
    pub fn eth0(&self) -> Option<Netem> {
        self.root.get("eth0").map(|q| q.netem)
    }
}

/// Everything the pod's processes do to it right now.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PodEffects {
    pub cpu_workers: u32,
    pub memory_bytes: u64,
    pub netem: Option<Netem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_parses_delay_jitter_and_loss() {
        let n = Netem::parse(&["delay", "200ms", "20ms", "loss", "5%"]).unwrap();
        assert_eq!(n.delay_ms, 200.0);
        assert_eq!(n.jitter_ms, 20.0);
        assert_eq!(n.loss_percent, 5.0);
        assert_eq!(
            Netem::parse(&["loss", "random", "30%"])
                .unwrap()
                .loss_percent,
            30.0
        );
        assert!(Netem::parse(&["loss", "130%"]).is_err());
        assert!(Netem::parse(&["rate", "1mbit"]).is_err());
    }

    #[test]
    fn qdisc_add_exists_delete_by_handle() {
        let mut ns = Netns::default();
        let n = Netem {
            delay_ms: 100.0,
            ..Netem::default()
        };
        ns.add("eth0", Some("7a11:"), n, false).unwrap();
        assert!(
            ns.add("eth0", Some("7a11:"), n, false)
                .unwrap_err()
                .to_string()
                .contains("File exists")
        );
        assert!(ns.show("eth0").starts_with("qdisc netem 7a11: root"));
        assert!(ns.delete("eth0", Some("1:")).is_err());
        assert_eq!(ns.eth0(), Some(n));
        ns.delete("eth0", Some("7a11:0")).unwrap();
        assert_eq!(ns.eth0(), None);
        assert!(
            ns.delete("eth0", None)
                .unwrap_err()
                .to_string()
                .contains("handle of zero")
        );
        assert_eq!(ns.show("eth0"), "qdisc noqueue 0: root refcnt 2");
    }
}
