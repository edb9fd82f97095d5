//! The rules of [`super`], each on a file that breaks it.

use crate::scenario::load;
use vllm_sim_core::catalogue::Profile;
use vllm_sim_core::engine::Traffic;

const FLEET: &str = "
name: fleet
pods:
  - name: mistral-7b-fp16
    port: 9001
    replicas: 3
    team: baseline
    gpu: a10g
    workload: {prompt_tokens: {median: 100}, output_tokens: {median: 20}, max_tokens: 64}
  - name: mistral-7b-awq
    port: 9100
    gpu: a10g
    model: {quantization: awq}
    workload: {prompt_tokens: {median: 100}, output_tokens: {median: 20}, max_tokens: 64}
phases:
  - name: busy
    duration: 1m
    traffic:
      mistral-7b-fp16: {rate: 2}
  - name: outage
    traffic:
      mistral-7b-awq: {concurrency: 3}
    down: [mistral-7b-fp16]
";

#[test]
fn replicas_are_pods_on_consecutive_ports_sharing_app_and_phases() {
    let s = load(FLEET, "fleet.yaml").unwrap();
    let pods: Vec<_> = s
        .pods
        .iter()
        .map(|p| (p.name.as_str(), p.app.as_str(), p.port, p.team.as_deref()))
        .collect();
    assert_eq!(
        pods,
        [
            (
                "mistral-7b-fp16-0",
                "mistral-7b-fp16",
                9001,
                Some("baseline")
            ),
            (
                "mistral-7b-fp16-1",
                "mistral-7b-fp16",
                9002,
                Some("baseline")
            ),
            (
                "mistral-7b-fp16-2",
                "mistral-7b-fp16",
                9003,
                Some("baseline")
            ),
            ("mistral-7b-awq", "mistral-7b-awq", 9100, None),
        ]
    );
    let rate = Traffic::Poisson { rate: 2.0 };
    assert_eq!(s.phases[0].traffic, [rate, rate, rate, Traffic::Idle]);
    assert_eq!(s.phases[1].down, [true, true, true, false]);
    let config: serde_json::Value =
        serde_saphyr::from_str(&s.scrape_config("sim", 8000, "15s")).unwrap();
    let jobs = &config["scrape_configs"];
    assert_eq!(
        jobs[0]["static_configs"][0],
        serde_json::json!({"targets": ["sim:9001", "sim:9002", "sim:9003"], "labels": {"app": "mistral-7b-fp16"}})
    );
    assert_eq!(jobs[1]["job_name"], "lab-gateway");
    assert_eq!(
        jobs[1]["static_configs"][0]["targets"],
        serde_json::json!(["sim:8000"])
    );
    // Whatever the user types, the configuration stays YAML that says it.
    let odd: serde_json::Value =
        serde_saphyr::from_str(&s.scrape_config("a\"b\n  - evil: 1", 8000, "15s")).unwrap();
    assert_eq!(
        odd["scrape_configs"][1]["static_configs"][0]["targets"][0],
        "a\"b\n  - evil: 1:8000"
    );
}

#[test]
fn only_a_release_with_sleep_mode_sleeps() {
    let napping = FLEET.replace(
        "    down: [mistral-7b-fp16]",
        "    down: [mistral-7b-fp16]\n    sleep: [mistral-7b-awq, mistral-7b-fp16]",
    );
    let errors = load(&napping, "f.yaml").unwrap_err().to_string();
    assert!(
        errors.contains(
            "phases[1].sleep[0]: `mistral-7b-awq` runs vllm-0.6.4, whose server has no sleep mode"
        ),
        "{errors}"
    );
    assert!(
        errors.contains(
            "phases[1].sleep[1]: `mistral-7b-fp16` is down in this phase: it cannot sleep"
        ),
        "{errors}"
    );
    let on_033 = format!(
        "profile: vllm-0.33.0\n{}",
        napping.replace(", mistral-7b-fp16]", "]")
    );
    let s = load(&on_033, "f.yaml").unwrap();
    assert_eq!(s.phases[1].asleep, [false, false, false, true]);
}

#[test]
fn pod_names_are_label_safe() {
    for (from, to, field) in [
        ("name: mistral-7b-awq", "name: \"awq\\\"x\"", "pods[1].name"),
        (
            "name: mistral-7b-awq",
            "name: \"awq\\nup{job=1} 1\"",
            "pods[1].name",
        ),
    ] {
        let text = FLEET.replacen(from, to, 1);
        let errors = load(&text, "f.yaml").unwrap_err().to_string();
        assert!(
            errors.contains(&format!("{field}: "))
                && errors.contains("is not a name: use letters, digits"),
            "{to}: {errors}"
        );
    }
}

#[test]
fn replica_ports_must_fit_and_not_collide() {
    let overlapping = FLEET.replace("port: 9100", "port: 9003");
    let errors = load(&overlapping, "f.yaml").unwrap_err().to_string();
    assert!(
        errors.contains("pods[1].port: port 9003 is already used by pods[0]"),
        "{errors}"
    );
    let too_many = FLEET.replace("replicas: 3", "replicas: 60000");
    let errors = load(&too_many, "f.yaml").unwrap_err().to_string();
    assert!(
        errors.contains("pods[0].replicas: replicas must be between 1 and 10000"),
        "{errors}"
    );
    let past_the_end = FLEET.replace("port: 9001", "port: 65534");
    let errors = load(&past_the_end, "f.yaml").unwrap_err().to_string();
    assert!(
        errors.contains("3 replicas from port 65534 run past port 65535"),
        "{errors}"
    );
}

#[test]
fn traffic_is_bounded() {
    let flood = FLEET.replace("{rate: 2}", "{rate: 1e9}");
    let errors = load(&flood, "f.yaml").unwrap_err().to_string();
    assert!(
            errors.contains(
                "phases[0].traffic.mistral-7b-fp16.rate: must be at least 0.000001 and at most 10000, got 1000000000.0"
            ),
            "{errors}"
        );
    let crowd = FLEET.replace("{concurrency: 3}", "{concurrency: 4000000000}");
    let errors = load(&crowd, "f.yaml").unwrap_err().to_string();
    assert!(
        errors.contains("4000000000 users are more than a pod takes (100000)"),
        "{errors}"
    );
}

#[test]
fn only_keeps_the_named_pods_with_their_timeline() {
    let s = load(FLEET, "fleet.yaml").unwrap();
    let awq = s.clone().only(&["mistral-7b-awq".to_owned()]).unwrap();
    let names: Vec<_> = awq.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["mistral-7b-awq"]);
    assert_eq!(awq.phases[0].traffic, [Traffic::Idle]);
    let users = Traffic::ClosedLoop {
        concurrency: 3,
        think_time: std::time::Duration::ZERO,
    };
    assert_eq!(awq.phases[1].traffic, [users]);
    assert_eq!(awq.phases[1].down, [false]);
    let fp16 = s.clone().only(&["mistral-7b-fp16".to_owned()]).unwrap();
    assert_eq!(fp16.pods.len(), 3);
    assert_eq!(fp16.phases[1].down, [true, true, true]);
    let one = s.clone().only(&["mistral-7b-fp16-1".to_owned()]).unwrap();
    assert_eq!(one.pods[0].port, 9002);
    let err = s.only(&["nope".to_owned()]).unwrap_err();
    assert_eq!(
        err,
        "scenario fleet has no pod nope (it has mistral-7b-fp16, mistral-7b-awq)"
    );
}

#[test]
fn max_num_queued_reqs_needs_vllm_0_32() {
    let limited = FLEET.replace(
        "  - name: mistral-7b-fp16\n",
        "  - name: mistral-7b-fp16\n    engine: {max_num_queued_reqs: 4}\n",
    );
    let err = load(&limited, "fleet.yaml").unwrap_err().to_string();
    assert!(
            err.contains("pods[0].engine.max_num_queued_reqs: vllm-0.6.4 has no --max-num-queued-reqs (vLLM 0.32.0 added it)"),
            "{err}"
        );
    let on_032 = limited.replace("name: fleet\n", "name: fleet\nprofile: vllm-0.32.0\n");
    let s = load(&on_032, "fleet.yaml").unwrap();
    assert_eq!(s.pods[0].config.max_num_queued_reqs, Some(4));
}

#[test]
fn releases_bring_their_defaults() {
    let on = |release: &str| {
        let s = load(FLEET, "fleet.yaml")
            .unwrap()
            .with_profile(Profile::from_name(release).unwrap());
        let pod = s.pods[0].clone();
        (
            pod.gpu_memory_utilization,
            pod.config.num_gpu_blocks,
            pod.config.prefix_caching,
        )
    };
    let (v0, v1, v20) = (on("vllm-0.6.4"), on("vllm-0.11.0"), on("vllm-0.20.0"));
    assert_eq!((v0.0, v0.2), (0.9, false));
    assert_eq!((v1.0, v1.1, v1.2), (0.9, v0.1, true));
    // vLLM 0.20 raised the default to 0.92: a larger KV cache on the same GPU.
    assert_eq!((v20.0, v20.2), (0.92, true));
    assert!(v20.1 > v1.1, "{v20:?} vs {v1:?}");
    // Given in the scenario, it stays whatever the release.
    let given = FLEET.replace(
        "  - name: mistral-7b-fp16\n",
        "  - name: mistral-7b-fp16\n    engine: {gpu_memory_utilization: 0.85}\n",
    );
    let s = load(&given, "fleet.yaml")
        .unwrap()
        .with_profile(Profile::from_name("vllm-0.20.0").unwrap());
    assert_eq!(s.pods[0].gpu_memory_utilization, 0.85);
}

#[test]
fn profiles_per_scenario_and_per_pod() {
    let s = load(FLEET, "fleet.yaml").unwrap();
    assert!(
        s.pods
            .iter()
            .all(|p| p.profile == Profile::from_name("vllm-0.6").unwrap())
    );
    let mixed = FLEET
        .replace("name: fleet\n", "name: fleet\nprofile: vllm-0.11\n")
        .replace(
            "    port: 9100\n",
            "    port: 9100\n    profile: vllm-0.6\n",
        );
    let s = load(&mixed, "fleet.yaml").unwrap();
    let profiles: Vec<_> = s.pods.iter().map(|p| p.profile).collect();
    assert_eq!(
        profiles,
        [
            Profile::from_name("vllm-0.11").unwrap(),
            Profile::from_name("vllm-0.11").unwrap(),
            Profile::from_name("vllm-0.11").unwrap(),
            Profile::from_name("vllm-0.6").unwrap()
        ],
        "replicas inherit the scenario's, the AWQ pod keeps its own"
    );
    let upgraded = s.with_profile(Profile::from_name("vllm-0.11").unwrap());
    assert!(
        upgraded
            .pods
            .iter()
            .all(|p| p.profile == Profile::from_name("vllm-0.11").unwrap())
    );
    let bad = FLEET.replace(
        "    port: 9100\n",
        "    port: 9100\n    profile: vllm-0.11.9\n",
    );
    let err = load(&bad, "fleet.yaml").unwrap_err().to_string();
    assert!(
            err.starts_with("fleet.yaml:12:14: pods[1].profile: unknown vLLM profile \"vllm-0.11.9\"; the nearest known are vllm-0.11.2 and vllm-0.12.0"),
            "{err}"
        );
}

/// Numbers and durations outside their documented ranges, each of which `run`
/// could not survive, are refused with the file, line, column and field.
#[test]
fn numbers_and_durations_outside_their_ranges_are_refused() {
    let cases = [
        (
            "gpu: a10g",
            "gpu: {memory_gib: 24, bandwidth_gb_s: 1e-300, fp16_tflops: 125}",
            "pods[0].gpu.bandwidth_gb_s: must be at least 1 and at most 100000, got 1e-300",
        ),
        (
            "gpu: a10g",
            "gpu: {memory_gib: 24, bandwidth_gb_s: 600, fp16_tflops: 1e-300}",
            "pods[0].gpu.fp16_tflops: must be at least 0.1 and at most 100000, got 1e-300",
        ),
        (
            "    gpu: a10g\n    model",
            "    gpu: a10g\n    lora: {adapter: x, step_overhead: 1e308}\n    model",
            "pods[1].lora.step_overhead: must be at least 0 and at most 10, got 1e308",
        ),
        (
            "median: 100}",
            "median: .nan}",
            "must be greater than 0 and at most 10000000, got NaN",
        ),
        (
            "{rate: 2}",
            "{rate: 1e-300}",
            "phases[0].traffic.mistral-7b-fp16.rate: must be at least 0.000001",
        ),
        (
            "duration: 1m",
            "duration: 584000000000y",
            "phases[0].duration: duration must be at least 1s and at most 100years, got 584000000000years",
        ),
        (
            "duration: 1m",
            "duration: 1ns",
            "phases[0].duration: duration must be at least 1s and at most 100years, got 1ns",
        ),
        (
            "{concurrency: 3}",
            "{concurrency: 3, think_time: 5y}",
            "think_time must be at most 1day, got 5years",
        ),
        (
            "max_tokens: 64",
            "max_tokens: 4294967295",
            "pods[0].workload.max_tokens: must be from 1 to 1048576, got 4294967295",
        ),
    ];
    for (from, to, expected) in cases {
        let text = FLEET.replacen(&from.replace("\\n", "\n"), &to.replace("\\n", "\n"), 1);
        assert_ne!(text, FLEET, "{from}");
        let err = load(&text, "fleet.yaml").unwrap_err().to_string();
        assert!(err.contains(expected), "{to}: {err}");
        assert!(err.starts_with("fleet.yaml:"), "{err}");
    }
    let expect = format!("{FLEET}expect:\n  - {{panel: 5, min: .nan}}\n");
    let err = load(&expect, "fleet.yaml").unwrap_err().to_string();
    assert!(
        err.contains("expect[0].min: min must be a finite number"),
        "{err}"
    );
}

#[test]
fn alerts_lower_to_expectations_and_mistakes_are_located() {
    let s = load(&format!("{FLEET}alerts:\n  - {{alert: Down, labels: {{app: mistral-7b-awq}}, firing_from: 3m, until: 5m}}\n  - {{alert: Busy, firing_from: 90s, until: end, within: 30s}}\n  - {{alert: Hot, firing: maybe}}\n  - {{alert: Quiet, firing: false}}\n"), "a.yaml").unwrap();
    let alerts = s.alerts.unwrap();
    assert_eq!(alerts.len(), 4);
    let down = alerts[0].firing.unwrap();
    assert_eq!(
        (down.from_ms, down.until_ms, down.within_ms),
        (180_000, Some(300_000), None)
    );
    assert_eq!(alerts[0].labels["app"], "mistral-7b-awq");
    assert_eq!(
        alerts[0].note,
        "Down{app=\"mistral-7b-awq\"} fires from 3m until 5m"
    );
    assert!(
        alerts[0].origin.starts_with("a.yaml:25:") && alerts[0].origin.ends_with(": alerts[0]"),
        "{}",
        alerts[0].origin
    );
    assert_eq!(alerts[1].firing.unwrap().until_ms, None);
    assert_eq!(alerts[1].firing.unwrap().within_ms, Some(30_000));
    assert!(alerts[2].may_fire && alerts[2].firing.is_none());
    assert!(!alerts[3].may_fire && alerts[3].firing.is_none());
    assert_eq!(
        load(FLEET, "a.yaml").unwrap().alerts,
        None,
        "no alerts: section, no rule"
    );
    assert_eq!(
        load(&format!("{FLEET}alerts: []\n"), "a.yaml")
            .unwrap()
            .alerts,
        Some(vec![])
    );
    for (entry, want) in [
        (
            "{alert: A, firing_from: soon, until: end}",
            "alerts[0].firing_from: invalid duration \"soon\"",
        ),
        (
            "{alert: A, firing_from: 3m, until: later}",
            "alerts[0].until: invalid duration \"later\"",
        ),
        (
            "{alert: A, firing_from: 2d, until: end}",
            "alerts[0].firing_from: must be at most 1 day, got 2days",
        ),
        (
            "{alert: A, firing_from: 5m, until: 3m}",
            "alerts[0].until: must be after firing_from (5m), got 3m",
        ),
        (
            "{alert: A, firing_from: 5m}",
            "alerts[0].until: say when it is resolved",
        ),
        ("{alert: A}", "alerts[0].firing_from: say when it fires"),
        (
            "{alert: A, firing: false, until: end}",
            "alerts[0].firing: `firing: false` takes no",
        ),
        (
            "{alert: A, firing: often}",
            "alerts[0].firing: must be true, false or maybe, got \"often\"",
        ),
        (
            "{alert: '', firing: false}",
            "alerts[0].alert: name an alerting rule",
        ),
        (
            "{alert: A, labels: {'9x': y}, firing: false}",
            "alerts[0].labels.9x: \"9x\" is not a label name",
        ),
        (
            "{alert: A, firng: false}",
            "alerts[0].firng: unknown field `firng`",
        ),
    ] {
        let text = format!("{FLEET}alerts:\n  - {entry}\n");
        let e = load(&text, "a.yaml").unwrap_err().to_string();
        assert!(e.starts_with("a.yaml:25:"), "{entry}: {e}");
        assert!(e.contains(want), "{entry}: want {want:?} in {e}");
    }
}
