//! One protobuf decode of the Job `kubectl create job --from=cronjob/NAME`
//! posts (400 bytes, captured from kubectl 1.33.1), to the JSON the sandbox
//! stores: median and p99 of 10,000 decodes.
//!
//!     cargo bench --bench sandbox_protobuf

use std::time::{Duration, Instant};

use gameday::sandbox::wire;

const JOB: &[u8] = include_bytes!("../crates/sandbox/testdata/kubectl-create-job-from-cronjob.pb");

fn main() {
    let runs = 10_000;
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let v = wire::decode(std::hint::black_box(JOB)).expect("the captured Job decodes");
        times.push(t.elapsed());
        std::hint::black_box(v);
    }
    times.sort();
    println!(
        "protobuf decode of kubectl's Job ({} bytes), {runs} runs: median {:?}, p99 {:?}",
        JOB.len(),
        times[runs / 2],
        times[runs * 99 / 100]
    );
}
