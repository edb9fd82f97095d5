//! The `vllm-sim` binary as a user runs it: exit codes, messages, listeners, shutdown.
//!
//! These live beside the binary (not in the workspace's `tests/` crate) because only
//! this package's tests can locate the built binary through `CARGO_BIN_EXE_vllm-sim`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sim() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vllm-sim"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap());
    cmd.env_remove("VLLM_SIM_SCENARIO")
        .env_remove("VLLM_SIM_BIND")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `vllm-sim args`, asserting that it succeeds; its standard output.
fn succeed(args: &[&str]) -> String {
    let out = sim().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vllm-sim {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn check_accepts_the_shipped_scenarios() {
    let stdout = succeed(&[
        "check",
        "scenarios/healthy.yaml",
        "scenarios/t4-reality.yaml",
    ]);
    assert!(stdout.contains("scenarios/t4-reality.yaml: ok"));
    assert!(stdout.contains("257 blocks (4112 tokens)"), "{stdout}");
    assert!(stdout.contains(", vllm-0.6.4 metrics\n"), "{stdout}");
}

#[test]
fn check_rejects_a_bad_file_with_its_location() {
    let out = sim()
        .args([
            "check",
            "scenarios/healthy.yaml",
            "tests/fixtures/bad-scenarios/negative-rate.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tests/fixtures/bad-scenarios/negative-rate.yaml:13:31: phases[0].traffic.mistral-7b-fp16.rate: must be at least 0.000001 and at most 10000, got -2.0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: 1 of 2 scenario files are invalid"),
        "{stderr}"
    );
}

#[test]
fn run_rejects_a_speed_out_of_range() {
    for speed in ["0", "1e5", "inf", "NaN"] {
        let out = sim().args(["run", "--speed", speed]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "--speed {speed}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--speed must be greater than 0 and at most 1000"),
            "--speed {speed}: {stderr}"
        );
    }
}

#[test]
fn run_rejects_a_history_it_cannot_write_before_starting() {
    let dir = tempfile_dir("bad-history");
    let out = format!("{dir}/h.om");
    let cases: [(&[&str], &str); 5] = [
        (
            &["--history", "8d", "--history-out", &out],
            "--history must be at most 7 days, got 8days",
        ),
        (&["--history", "1h"], "--history needs --history-out FILE"),
        (
            &["--history", "1h", "--history-out", "/nonexistent/dir/h.om"],
            "--history-out: cannot write /nonexistent/dir/h.om.partial",
        ),
        (
            &["--history", "1h", "--history-out", &out, "--speed", "10"],
            "--history needs --speed 1",
        ),
        (
            &["--history", "1m", "--history-out", &out, "--interval", "2m"],
            "--interval must be longer than 0s and at most --history",
        ),
    ];
    for (args, message) in cases {
        let out = sim().arg("run").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("listening on"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A directory of its own, by `name`, under the system's temporary directory.
fn tempfile_dir(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("vllm-sim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_str().unwrap().to_owned()
}

/// `run --history` writes the history whole (the partial file renamed) before its
/// pods listen, stamped up to now, and the live counters go on from its last values.
#[test]
fn run_with_history_writes_it_and_continues_from_it() {
    let dir = tempfile_dir("history");
    let out = format!("{dir}/history.om");
    let (mut child, urls) = serve(&[
        "--base-port",
        "0",
        "--gateway-port",
        "0",
        "--history",
        "10m",
        "--history-out",
        &out,
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!Path::new(&format!("{out}.partial")).exists());
    assert!(text.ends_with("# EOF\n"));
    let port = urls[0].rsplit(':').next().unwrap();
    let needle = format!(
        "vllm:generation_tokens_total{{model_name=\"mistral-7b-fp16\",app=\"mistral-7b-fp16\",instance=\"127.0.0.1:{port}\",job=\"vllm\"}} "
    );
    let last: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&needle))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(last.len(), 41, "10 minutes every 15 s, both ends");
    let mut response = ureq::get(&format!("{}/metrics", urls[0])).call().unwrap();
    let body = response.body_mut().read_to_string().unwrap();
    let live: f64 = body
        .lines()
        .find_map(|l| {
            l.strip_prefix("vllm:generation_tokens_total{model_name=\"mistral-7b-fp16\"} ")
        })
        .unwrap()
        .parse()
        .unwrap();
    let end = *last.last().unwrap();
    // Healthy FP16 generates about 1,700 tokens/s: the live value is the history's last
    // plus the seconds since, never a restart.
    assert!(
        live >= end && live < end + 20_000.0,
        "live {live}, history ended at {end}"
    );
    terminate(&mut child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_rejects_an_unknown_scenario() {
    let out = sim().args(["run", "no-such-scenario"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "built-ins: healthy, awq-not-quantized, judge-backlog, spot-preemption, t4-reality"
        ),
        "{stderr}"
    );
}

/// Starts `vllm-sim` with `args` and waits for its four pods' "listening" lines.
fn serve(args: &[&str]) -> (std::process::Child, Vec<String>) {
    serve_pods(args, 4)
}

/// Starts `vllm-sim` with `args` and waits for `pods` pods' "listening" lines.
fn serve_pods(args: &[&str], pods: usize) -> (std::process::Child, Vec<String>) {
    let mut child = sim().args(args).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut urls = Vec::new();
    while urls.len() < pods {
        let line = lines.next().expect("the simulator exited early").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            urls.push(rest.split(' ').next().unwrap().to_owned());
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    (child, urls)
}

#[test]
fn run_serves_four_pods_and_stops_cleanly_on_sigterm() {
    // No scenario argument: the built-in healthy scenario.
    let (mut child, urls) = serve(&["--base-port", "0", "--speed", "10"]);
    for url in &urls {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let response = ureq::get(&format!("{url}/health")).call().unwrap();
        assert_eq!(response.status(), 200);
    }
    terminate(&mut child);
}

/// A scenario with every range at its edge, which `check` accepts: far more traffic
/// than the machine simulates at `--speed 1000`. Every pod still answers `/metrics`
/// at once, SIGTERM still stops it, and a backfill of it ends.
#[test]
fn a_scenario_at_its_ranges_edges_runs_and_stops() {
    let file = "tests/fixtures/extremes.yaml";
    let (mut child, urls) = serve(&[
        file,
        "--base-port",
        "0",
        "--gateway-port",
        "0",
        "--speed",
        "1000",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    for url in &urls {
        let started = Instant::now();
        let response = ureq::get(&format!("{url}/metrics")).call();
        let took = started.elapsed();
        if response.is_err() || took > Duration::from_secs(2) {
            child.kill().unwrap();
        }
        assert_eq!(response.unwrap().status(), 200, "{url}");
        assert!(
            took <= Duration::from_secs(2),
            "{url}/metrics took {took:?}"
        );
    }
    terminate(&mut child);
    let out = std::env::temp_dir().join(format!("vllm-sim-extremes-{}.om", std::process::id()));
    let mut backfill = sim()
        .args(["backfill", file, "--duration", "1m", "--out"])
        .arg(&out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = backfill.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            backfill.kill().unwrap();
            panic!("backfill of {file} did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::fs::remove_file(&out).ok();
    assert!(status.success(), "backfill: {status}");
}

#[test]
fn only_serves_the_named_pods() {
    let only = ["--only", "mistral-7b-awq,mistral-7b-judge"];
    let (mut child, urls) = serve_pods(&[&["--base-port", "0"][..], &only].concat(), 2);
    for (url, model) in urls.iter().zip(["mistral-7b-awq", "mistral-7b-judge"]) {
        let mut response = ureq::get(&format!("{url}/v1/models")).call().unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        let served = text.contains(&format!("\"id\":\"{model}\""));
        if !served {
            child.kill().unwrap();
        }
        assert!(served, "{url} does not serve {model}: {text}");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let out = sim()
        .args(["run", "--only", "mistral-7b-fp8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scenario healthy has no pod mistral-7b-fp8 (it has mistral-7b-fp16, "),
        "{stderr}"
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = sim()
        .args(["run", "healthy", "--base-port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "mistral-7b-fp16 cannot listen on 127.0.0.1:{port}"
        )),
        "{stderr}"
    );
}

#[test]
fn sigterm_lets_an_open_stream_finish() {
    let (mut child, urls) = serve(&["--base-port", "0", "--speed", "1"]);
    let request = r#"{"model": "mistral-7b-fp16", "prompt": "Go on", "max_tokens": 40, "ignore_eos": true, "stream": true}"#;
    let response = ureq::post(&format!("{}/v1/completions", urls[0]))
        .header("Content-Type", "application/json")
        .send(request)
        .unwrap();
    let mut events = BufReader::new(response.into_body().into_reader()).lines();
    let first = events.next().unwrap().unwrap();
    assert!(first.starts_with("data: {"), "{first}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let sent_at = Instant::now();
    let rest: Vec<String> = events
        .map(|l| l.expect("the stream is cut"))
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        sent_at.elapsed() > Duration::from_millis(100),
        "the stream ended before SIGTERM reached it; make it longer"
    );
    assert_eq!(rest.last().map(String::as_str), Some("data: [DONE]"));
    let tokens = std::iter::once(&first)
        .chain(&rest)
        .filter(|l| l.contains(r#""text":""#) && !l.contains(r#""text":"""#))
        .count();
    assert_eq!(tokens, 40, "every token arrived");
    assert!(
        rest.iter()
            .any(|l| l.contains(r#""finish_reason":"length""#))
    );
    // The grace period is 5 s; the stream ended well within it.
    exits_cleanly_within_10_s(&mut child, "of its last stream");
}

/// Asserts that `child` exits successfully within 10 s (`after` says of what).
/// Sends `child` SIGTERM and waits for it to exit cleanly.
fn terminate(child: &mut std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    exits_cleanly_within_10_s(child, "of SIGTERM");
}

fn exits_cleanly_within_10_s(child: &mut std::process::Child, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "did not stop within 10 s {after}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------
// What README.md (and docs/rig.md) show, run as written.

/// The repository's root, where README's commands run.
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// A file of the repository, as text.
fn repo_file(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap()
}

/// The fenced code blocks of a Markdown text, each as (info string, body).
fn code_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let indent = line.len() - trimmed.len();
                    open = Some((info.trim().to_owned(), String::new(), indent));
                }
            }
            Some((info, body, indent)) => {
                if trimmed.starts_with("```") {
                    blocks.push((std::mem::take(info), std::mem::take(body)));
                    open = None;
                } else {
                    body.push_str(line.get(*indent..).unwrap_or(line.trim_start()));
                    body.push('\n');
                }
            }
        }
    }
    blocks
}

/// The first code block after the heading `heading` of README.md.
fn readme_block_after(heading: &str) -> String {
    let readme = repo_file("README.md");
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README.md has no {heading:?}"));
    code_blocks(&readme[at..]).remove(0).1
}

/// Whether `tool` answers `--version` (or `-V`).
fn has(tool: &str) -> bool {
    ["--version", "-V"].iter().any(|flag| {
        Command::new(tool)
            .arg(flag)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Whether a test needing `tool` may run: prints a SKIP line when it is missing, and
/// fails instead under `CI` (`scripts/test` installs every tool these tests use).
fn require(tool: &str) -> bool {
    if has(tool) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`{tool}` is not installed (CI is set): scripts/test installs it"
    );
    eprintln!("SKIP: `{tool}` is not installed");
    false
}

/// The first of `len` consecutive ports of 22000-22999 that nobody listens on, for a
/// test that must name its ports before it starts the simulator. Each call hands out
/// a block of its own, so tests running at once never pick the same one.
fn free_port_block(len: u16) -> u16 {
    use std::sync::Mutex;
    const BLOCK: u16 = 10;
    // Runs of the suite at once (other processes) start from different places.
    static NEXT: Mutex<Option<u16>> = Mutex::new(None);
    assert!(len <= BLOCK);
    let mut next = NEXT.lock().unwrap();
    let first = *next.get_or_insert((std::process::id() % 100) as u16);
    for i in 0..100 {
        let block = (first + i) % 100;
        let base = 22000 + block * BLOCK;
        if (base..base + len).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            *next = Some(block + 1);
            return base;
        }
    }
    panic!("no free block of {len} ports in 22000-22999");
}

/// Runs `cmd` with `input` on its standard input.
fn output_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A running `vllm-sim`, killed when dropped.
struct Running {
    child: std::process::Child,
    /// Each pod's URL, in scenario order.
    pods: Vec<String>,
    /// The gateway's URL.
    gateway: String,
    /// Its stderr lines up to the first phase's.
    lines: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vllm-sim` with `args` and waits until its gateway listens and its first
/// phase begins.
fn start(args: &[&str]) -> Running {
    let mut child = sim().args(args).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut running = Running {
        child,
        pods: Vec::new(),
        gateway: String::new(),
        lines: Vec::new(),
    };
    loop {
        let line = stderr.next().expect("the simulator exited early").unwrap();
        if let Some(rest) = line.split(" listening on ").nth(1) {
            let url = rest.split(' ').next().unwrap().to_owned();
            if line.contains(" gateway listening on ") {
                running.gateway = url;
            } else {
                running.pods.push(url);
            }
        }
        let phase = line.contains(" phase ");
        running.lines.push(line);
        if phase {
            break;
        }
    }
    std::thread::spawn(move || stderr.for_each(drop));
    running
}

/// A log line as README shows it: the timestamp and port numbers replaced, runs of
/// spaces squeezed.
fn normalise(line: &str) -> String {
    let line = line.trim();
    let line = match line.split_once('Z') {
        Some((stamp, rest)) if stamp.len() > 18 && stamp.as_bytes()[4] == b'-' => {
            format!("TIME{rest}")
        }
        _ => line.to_owned(),
    };
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if out.ends_with("t=") && c.is_ascii_digit() {
            // The simulated time the first phase began at: `t=0.003s`.
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
            {
                chars.next();
            }
            out.push('T');
        } else if c == ':' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push_str(":PORT");
        } else if c == ' ' && out.ends_with(' ') {
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn readme_what_you_get_is_what_run_prints() {
    let shown = readme_block_after("## What you get");
    let running = start(&["--base-port", "0", "--gateway-port", "0"]);
    let printed: Vec<String> = running.lines.iter().map(|l| normalise(l)).collect();
    let mut from = 0;
    for line in shown.lines() {
        let want = normalise(line);
        let (head, tail) = want.split_once('…').unwrap_or((&want, ""));
        let at = printed[from..]
            .iter()
            .position(|got| {
                if want.contains('…') {
                    got.starts_with(head.trim_end()) && got.ends_with(tail.trim_start())
                } else {
                    *got == want
                }
            })
            .unwrap_or_else(|| {
                panic!(
                    "README's line\n  {line}\nis not printed (in order); the run printed:\n{}",
                    running.lines.join("\n")
                )
            });
        from += at + 1;
    }
    for line in &running.lines {
        assert!(!line.contains('\x1b'), "escape codes on a pipe: {line:?}");
    }
}

#[test]
fn logs_on_a_pipe_or_a_file_have_no_colour_codes() {
    let out = std::env::temp_dir().join(format!("vllm-sim-colour-{}.om", std::process::id()));
    let log = std::env::temp_dir().join(format!("vllm-sim-colour-{}.log", std::process::id()));
    let backfill = |stderr: Stdio| {
        sim()
            .env_remove("NO_COLOR")
            .args(["backfill", "healthy", "--duration", "1m", "--out"])
            .arg(&out)
            .stderr(stderr)
            .output()
            .unwrap()
    };
    let piped = backfill(Stdio::piped());
    assert!(piped.status.success());
    let to_file = backfill(Stdio::from(std::fs::File::create(&log).unwrap()));
    assert!(to_file.status.success());
    let file = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&out).ok();
    std::fs::remove_file(&log).ok();
    for (to, text) in [
        (
            "a pipe",
            String::from_utf8_lossy(&piped.stderr).into_owned(),
        ),
        ("a file", file),
    ] {
        assert!(
            text.contains("  INFO vllm_sim::cli::backfill: "),
            "{to}: {text:?}"
        );
        assert!(!text.contains('\x1b'), "escape codes on {to}: {text:?}");
    }
}

#[test]
fn logs_on_a_terminal_are_coloured_unless_no_color() {
    if !require("script") {
        return;
    }
    let out = std::env::temp_dir().join(format!("vllm-sim-tty-{}.om", std::process::id()));
    let command = format!(
        "{} backfill healthy --duration 1m --out {}",
        env!("CARGO_BIN_EXE_vllm-sim"),
        out.display()
    );
    // `script` runs the command on a pseudo-terminal and copies what it shows.
    let on_a_terminal = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"])
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let coloured = on_a_terminal(None);
    assert!(coloured.contains("\x1b[32m INFO\x1b[0m"), "{coloured:?}");
    let plain = on_a_terminal(Some("1"));
    assert!(
        plain.contains("  INFO vllm_sim::cli::backfill: "),
        "{plain:?}"
    );
    assert!(!plain.contains('\x1b'), "NO_COLOR=1: {plain:?}");
    std::fs::remove_file(&out).ok();
}

/// The `curl` examples of README.md: (port, path, JSON body).
fn readme_curls() -> Vec<(u16, String, String)> {
    let readme = repo_file("README.md");
    let mut curls = Vec::new();
    for (_, body) in code_blocks(&readme) {
        let text = body.replace("\\\n", " ");
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("curl -s localhost:") else {
                continue;
            };
            let (port, rest) = rest.split_once('/').unwrap();
            let path = format!("/{}", rest.split_whitespace().next().unwrap());
            let json = rest
                .split("-d '")
                .nth(1)
                .unwrap()
                .split('\'')
                .next()
                .unwrap();
            curls.push((port.parse().unwrap(), path, json.to_owned()));
        }
    }
    curls
}

/// What the simulated model says in 16 tokens.
const SIXTEEN_TOKENS: &str =
    "The model answers with simulated tokens. The model answers with simulated tokens. The model";

fn post(url: &str, body: &str) -> serde_json::Value {
    let mut response = ureq::post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

#[test]
fn readme_curl_examples_answer_in_sentences() {
    let running = start(&["--base-port", "0", "--gateway-port", "0", "--speed", "10"]);
    let curls = readme_curls();
    assert!(curls.len() >= 2, "{curls:?}");
    for (port, path, body) in &curls {
        // The default ports: the gateway on 8000, the pods from 8001 in scenario order.
        let base = match port {
            8000 => running.gateway.clone(),
            p => running.pods[usize::from(p - 8001)].clone(),
        };
        let answer = post(&format!("{base}{path}"), body);
        // The model may stop before `max_tokens` (its workload's output lengths).
        let text = answer["choices"][0]["text"].as_str().unwrap_or_default();
        assert!(
            !text.is_empty() && SIXTEEN_TOKENS.starts_with(text),
            "{path}: {answer}"
        );
    }
    // Chat completions join their tokens the same way, streamed or not.
    let chat = r#"{"model": "mistral-7b-awq", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16, "ignore_eos": true}"#;
    let answer = post(&format!("{}/v1/chat/completions", running.pods[1]), chat);
    assert_eq!(
        answer["choices"][0]["message"]["content"], SIXTEEN_TOKENS,
        "{answer}"
    );
    let stream = chat.replace("}], ", r#"}], "stream": true, "#);
    let response = ureq::post(&format!("{}/v1/chat/completions", running.pods[1]))
        .header("Content-Type", "application/json")
        .send(&stream)
        .unwrap();
    let mut text = String::new();
    for line in BufReader::new(response.into_body().into_reader()).lines() {
        let line = line.unwrap();
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            break;
        }
        let chunk: serde_json::Value = serde_json::from_str(data).unwrap();
        if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
            text.push_str(piece);
        }
    }
    assert_eq!(text, SIXTEEN_TOKENS);
}

/// The targets of each job of a Prometheus configuration, with their `app` labels.
fn scrape_targets(yaml: &str) -> Vec<(String, String, Option<String>)> {
    let config: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
    let mut targets = Vec::new();
    for job in config["scrape_configs"].as_array().unwrap() {
        for group in job["static_configs"].as_array().unwrap() {
            let app = group["labels"]["app"].as_str().map(str::to_owned);
            for target in group["targets"].as_array().unwrap() {
                let job_name = job["job_name"].as_str().unwrap().to_owned();
                targets.push((job_name, target.as_str().unwrap().to_owned(), app.clone()));
            }
        }
    }
    targets
}

#[test]
fn scrape_config_follows_run_base_port() {
    let base = free_port_block(5) + 1;
    let base_port = base.to_string();
    let running = start(&["--base-port", &base_port]);
    let yaml = succeed(&["scrape-config", "--base-port", &base_port]);
    let targets = scrape_targets(&yaml);
    assert_eq!(targets.len(), 5, "{yaml}");
    for (job, target, app) in targets {
        let url = format!("http://{target}");
        match app {
            Some(app) => {
                assert_eq!(job, "vllm");
                assert!(
                    running.pods.contains(&url),
                    "{url} is no pod: {:?}",
                    running.pods
                );
                let mut models = ureq::get(&format!("{url}/v1/models")).call().unwrap();
                let text = models.body_mut().read_to_string().unwrap();
                assert!(
                    text.contains(&format!("\"id\":\"{app}\"")),
                    "{url} is not {app}: {text}"
                );
            }
            None => {
                assert_eq!(
                    (job.as_str(), url.as_str()),
                    ("lab-gateway", running.gateway.as_str())
                );
                let mut metrics = ureq::get(&format!("{url}/metrics")).call().unwrap();
                let text = metrics.body_mut().read_to_string().unwrap();
                assert!(text.contains("lab_gateway_requests_total"), "{text}");
            }
        }
    }
    if require("promtool") {
        let check = output_with_stdin(
            Command::new("promtool").args(["check", "config", "/dev/stdin"]),
            &yaml,
        );
        assert!(
            check.status.success(),
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// The step of README's CI example that runs `vllm-sim verify`, as its shell text.
fn readme_ci_script() -> String {
    let yaml = readme_block_after("### Use it in your CI");
    let steps: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let steps = steps.as_array().expect("a list of steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.contains(&"cargo build --release --locked -p vllm-sim"),
        "the example builds from the checkout: {runs:?}"
    );
    runs.into_iter()
        .find(|r| r.contains("vllm-sim verify"))
        .expect("a step running vllm-sim verify")
        .to_owned()
}

#[test]
fn readme_ci_example_verifies_every_scenario() {
    if !["prometheus", "promtool", "curl"]
        .iter()
        .all(|tool| require(tool))
    {
        return;
    }
    let port = free_port_block(1).to_string();
    let script = readme_ci_script().replace("127.0.0.1:9090", &format!("127.0.0.1:{port}"));
    assert!(script.contains(&port));
    let dir = std::env::temp_dir().join(format!("vllm-sim-ci-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        repo_root().join("dashboard/llm-platform-overview.json"),
        dir.join("my-dashboard.json"),
    )
    .unwrap();
    // The step as GitHub Actions runs it on Ubuntu, with the built binary on PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_vllm-sim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .current_dir(&dir)
        .env("PATH", path)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let reports: Vec<String> = [
        "healthy",
        "awq-not-quantized",
        "judge-backlog",
        "spot-preemption",
        "t4-reality",
    ]
    .iter()
    .map(|s| std::fs::read_to_string(dir.join(format!("verify-{s}.xml"))).unwrap_or_default())
    .collect();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        reports.join("\n")
    );
    for report in reports {
        assert!(
            report.contains("<testsuite") && report.contains("failures=\"0\""),
            "{report}"
        );
    }
}

/// Every `vllm-sim ...` synopsis line of a Markdown file's code blocks, as (subcommand,
/// the `--flags` it names).
fn synopses(markdown: &str) -> Vec<(String, Vec<String>)> {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for (info, body) in code_blocks(markdown) {
        if !info.is_empty() {
            continue;
        }
        for line in body.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let flags = words
                .iter()
                .filter_map(|w| {
                    let w = w.trim_start_matches(['[', '(']);
                    let flag: String = w
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    (flag.starts_with("--") && flag.len() > 2).then_some(flag)
                })
                .collect::<Vec<_>>();
            match words.first() {
                Some(&"vllm-sim") => {
                    let sub = words
                        .get(1)
                        .filter(|w| !w.starts_with(['[', '-']))
                        .map_or("run", |w| w);
                    found.push((sub.to_owned(), flags));
                }
                // A continuation line of the synopsis above.
                Some(w) if w.starts_with('[') && !found.is_empty() => {
                    found.last_mut().unwrap().1.extend(flags);
                }
                _ => {}
            }
        }
    }
    found
}

#[test]
fn every_flag_of_the_documented_synopses_exists() {
    let mut checked = 0;
    for file in ["README.md", "docs/rig.md"] {
        for (sub, flags) in synopses(&repo_file(file)) {
            let out = sim().args([&sub, "--help"]).output().unwrap();
            assert!(out.status.success(), "{file}: vllm-sim {sub} --help");
            let help = String::from_utf8_lossy(&out.stdout);
            for flag in flags {
                let named =
                    help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n"));
                assert!(named, "{file}: `vllm-sim {sub}` has no {flag}:\n{help}");
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} flags found in the synopses");
}

#[test]
fn documented_commands_run_as_written() {
    let ok = succeed;
    let metrics = ok(&["metrics"]);
    assert!(metrics.contains("`vllm:num_requests_running`"), "{metrics}");
    for profile in ["vllm-0.6", "vllm-0.11", "latest", "vllm-0.33.0"] {
        assert!(
            ok(&["metrics", "--profile", profile]).contains("vllm:"),
            "{profile}"
        );
    }
    let config = ok(&["scrape-config"]);
    let targets = scrape_targets(&config);
    assert_eq!(targets.len(), 5, "{config}");
    assert!(
        targets
            .iter()
            .any(|(_, t, app)| t == "127.0.0.1:8001" && app.as_deref() == Some("mistral-7b-fp16"))
    );
    let moved = ok(&["scrape-config", "--base-port", "9101"]);
    let ports: Vec<String> = scrape_targets(&moved)
        .into_iter()
        .map(|(_, t, _)| t)
        .collect();
    assert_eq!(
        ports,
        [
            "127.0.0.1:9101",
            "127.0.0.1:9102",
            "127.0.0.1:9103",
            "127.0.0.1:9104",
            "127.0.0.1:9100"
        ]
    );
    assert!(
        !ok(&["scrape-config", "--help"]).contains("loki"),
        "scrape-config ships no logs"
    );
    for sub in [
        "backfill",
        "verify",
        "migrate",
        "bench",
        "check",
        "run",
        "scrape-config",
        "metrics",
    ] {
        ok(&[sub, "--help"]);
    }
    assert!(ok(&["backfill", "--help"]).contains("--loki-url <URL>"));
    let verify = ok(&["verify", "--help"]);
    assert!(
        verify.contains("--loki-datasource <URL>") && !verify.contains("--loki-url"),
        "{verify}"
    );
    let check = ok(&[
        "check",
        "scenarios/healthy.yaml",
        "scenarios/judge-backlog.yaml",
    ]);
    assert!(
        check.contains("scenarios/judge-backlog.yaml: ok"),
        "{check}"
    );
}

/// Runs README's `vllm-sim bench --suite benchmark-quant --limit 20 --out -` against a
/// lab: 20 results on stdout, the summary on stderr.
#[test]
fn readme_bench_example_writes_twenty_results() {
    let running = start(&["--base-port", "0", "--gateway-port", "0", "--speed", "100"]);
    let out = sim()
        .args(["bench", "--gateway", &running.gateway])
        .args(["--suite", "benchmark-quant", "--limit", "20", "--out", "-"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let results: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 20);
    for r in &results {
        assert!(r["passed"].is_boolean(), "{r}");
        assert_eq!(r["scenario_id"], "benchmark-quant");
        let text = r["response"].as_str().unwrap();
        let sentences = "The model answers with simulated tokens. ".repeat(40);
        assert!(!text.is_empty() && sentences.starts_with(text), "{r}");
    }
    assert!(
        stderr.contains("benchmark finished: 20 prompts"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "no bar off a terminal: {stderr:?}"
    );
}

/// `bench` on a terminal (tmux), logging every result: each log line goes above the
/// progress bar, which leaves no copy of itself in the scrollback and is cleared at
/// the end.
#[test]
fn bench_progress_bar_leaves_nothing_in_the_scrollback() {
    if !require("tmux") {
        return;
    }
    // Slow enough for the bar to be drawn many times between log lines.
    let running = start(&["--base-port", "0", "--gateway-port", "0", "--speed", "2"]);
    let id = std::process::id();
    let socket = format!("vllm-sim-test-{id}");
    let out = std::env::temp_dir().join(format!("vllm-sim-bar-{id}.jsonl"));
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    };
    let command = format!(
        "env RUST_LOG=vllm_sim=debug NO_COLOR=1 {} bench --gateway {} --suite benchmark-quant --limit 30 --out {}",
        env!("CARGO_BIN_EXE_vllm-sim"),
        running.gateway,
        out.display()
    );
    // One tmux command list, so that the pane outlives bench however fast it ends.
    let started = tmux(&[
        "start-server",
        ";",
        "set-option",
        "-g",
        "remain-on-exit",
        "on",
        ";",
        "set-option",
        "-g",
        "history-limit",
        "10000",
        ";",
        "new-session",
        "-d",
        "-x",
        "150",
        "-y",
        "20",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut bar_seen = false;
    let screen = loop {
        let dead = tmux(&["display-message", "-p", "#{pane_dead}"]);
        if !dead.status.success() {
            tmux(&["kill-server"]);
            panic!("the tmux pane is gone: {dead:?}");
        }
        // While it runs, the bar is the screen's last line.
        let visible = tmux(&["capture-pane", "-p"]);
        let visible = String::from_utf8_lossy(&visible.stdout);
        let last = visible.lines().rev().find(|l| !l.trim().is_empty());
        bar_seen |= last.is_some_and(|l| l.contains("/30 prompts  benchmark-quant  ["));
        if String::from_utf8_lossy(&dead.stdout).trim() == "1" {
            let capture = tmux(&["capture-pane", "-p", "-S", "-", "-E", "-"]);
            break String::from_utf8_lossy(&capture.stdout).into_owned();
        }
        if Instant::now() > deadline {
            tmux(&["kill-server"]);
            panic!("bench did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    tmux(&["kill-server"]);
    std::fs::remove_file(&out).ok();
    assert!(bar_seen, "no progress bar was drawn:\n{screen}");
    let results = screen.matches("harness result benchmark-quant").count();
    assert!(results >= 29, "{results} result lines:\n{screen}");
    // The bar reads `████░░ 12/30 prompts  benchmark-quant  [0s, eta 1s]`.
    let frozen: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("/30 prompts"))
        .collect();
    assert!(frozen.is_empty(), "frozen bars: {frozen:#?}\nin:\n{screen}");
}

/// A stand-in for Loki's push endpoint: keeps each request's JSON body, answers 204.
struct FakeLoki {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl FakeLoki {
    fn start() -> FakeLoki {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    loop {
                        let mut request = String::new();
                        if reader.read_line(&mut request).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut length = 0;
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).unwrap();
                            let header = header.trim_end().to_ascii_lowercase();
                            if header.is_empty() {
                                break;
                            }
                            if let Some(n) = header.strip_prefix("content-length:") {
                                length = n.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        sink.lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap());
                        write!(
                            writer,
                            "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
                        )
                        .unwrap();
                    }
                });
            }
        });
        FakeLoki { url, bodies }
    }

    /// Every pushed stream's labels and values (Unix nanoseconds, line), in push order.
    fn streams(&self) -> Vec<(serde_json::Value, Vec<(u128, String)>)> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .flat_map(|b| b["streams"].as_array().unwrap().clone())
            .map(|s| {
                let values = (s["values"].as_array().unwrap().iter())
                    .map(|v| {
                        (
                            v[0].as_str().unwrap().parse().unwrap(),
                            v[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                (s["stream"].clone(), values)
            })
            .collect()
    }
}

/// `run --history --bench --loki-url`: before the lab serves, the lines its phases and
/// the battery's past runs would have logged reach Loki with their own timestamps,
/// inside the history's window, in time order per stream, in streams of their own.
#[test]
fn run_with_history_and_bench_pushes_the_past_log_lines_to_loki() {
    let loki = FakeLoki::start();
    let dir = tempfile_dir("history-loki");
    let out = format!("{dir}/history.om");
    let unix_nanos = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    };
    let started = unix_nanos();
    let running = start(&[
        "--base-port",
        "0",
        "--gateway-port",
        "0",
        "--history",
        "30m",
        "--history-out",
        &out,
        "--bench",
        "--bench-every",
        "10m",
        "--bench-limit",
        "1",
        "--loki-url",
        &loki.url,
    ]);
    let serving = unix_nanos();
    let said = running
        .lines
        .iter()
        .find(|l| l.contains("past log lines pushed to Loki"))
        .expect("the push is reported before the lab serves");
    let window = (started - 1_800_000_000_000, serving);
    let mut past: std::collections::BTreeMap<String, Vec<(u128, String)>> = Default::default();
    for (labels, values) in loki.streams() {
        if labels["history"] != "true" {
            continue;
        }
        let key = format!("{}/{}", labels["component"], labels["level"]);
        past.entry(key).or_default().extend(values);
    }
    assert!(!past.is_empty(), "no past lines pushed; {said}");
    for (stream, values) in &past {
        for (at, line) in values {
            assert!(
                (window.0..=window.1).contains(at),
                "{stream}: {line} at {at}, outside {window:?}"
            );
        }
        assert!(
            values.windows(2).all(|w| w[0].0 <= w[1].0),
            "{stream} out of order: {values:?}"
        );
    }
    let bench = &past["\"bench\"/\"info\""];
    let runs: Vec<u128> = (bench.iter())
        .filter(|(_, l)| l.contains("benchmark started:"))
        .map(|(at, _)| (at - window.0) / 1_000_000_000)
        .collect();
    assert_eq!(runs.len(), 3, "runs 30, 20 and 10 minutes ago: {runs:?}");
    for (k, secs) in runs.iter().enumerate() {
        assert!(secs.abs_diff(600 * k as u128) <= 2, "{runs:?}");
    }
    assert!(
        past["\"run\"/\"info\""]
            .iter()
            .any(|(_, l)| l.starts_with("INFO vllm_sim::cli::run: phase ")),
        "{past:?}"
    );
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
}
