//! Scenario files with mistakes: each error names file, line, column and field.

use vllm_sim::scenario::load;
use vllm_sim_tests::repo_root;

/// Each fixture and the error lines it must produce (`file:line:col: field: message`).
const CASES: &[(&str, &[&str])] = &[
    (
        "unknown-field.yaml",
        &["unknown-field.yaml:10:5: pods[0].max_batch: unknown field `max_batch`"],
    ),
    (
        "wrong-type.yaml",
        &["wrong-type.yaml:4:11: pods[0].port: invalid u16"],
    ),
    (
        "negative-rate.yaml",
        &[
            "negative-rate.yaml:13:31: phases[0].traffic.mistral-7b-fp16.rate: must be at least 0.000001 and at most 10000, got -2.0",
        ],
    ),
    (
        "bad-duration.yaml",
        &["bad-duration.yaml:12:15: phases[0].duration: invalid duration \"five minutes\""],
    ),
    (
        "impossible.yaml",
        &[
            "impossible.yaml:14:11: pods[1].port: port 8001 is already used by pods[0]",
            "impossible.yaml:6:13: pods[0].engine: the model does not fit on t4: weights 13.49 GiB + overhead 1.20 GiB exceed the budget of 13.12 GiB",
            "impossible.yaml:18:9: pods[1].workload.output_tokens.p90: p90 (10) is below the median (40)",
            "impossible.yaml:22:5: phases[0].duration: missing duration: only the last phase may run forever",
            "impossible.yaml:26:23: phases[0].traffic.mistral-7b-awq: give exactly one of `rate` (requests/s) or `concurrency` (users)",
            "impossible.yaml:25:25: phases[0].traffic.mistral-7b-judge: no pod is called `mistral-7b-judge`",
            "impossible.yaml:28:9: phases[0].down[0]: no pod is called `mistral-7b-lora`",
        ],
    ),
    (
        "bad-teams.yaml",
        &[
            "bad-teams.yaml:5:11: pods[0].team: team `Baseline Team` must be lowercase letters, digits, `-` or `_`",
            "bad-teams.yaml:13:17: pods[1].pass_rates.poetry: unknown benchmark category `poetry`",
            "bad-teams.yaml:17:11: pods[2].team: team `quantization` is already routed to pods[1]",
        ],
    ),
    (
        "duplicate-key.yaml",
        &["duplicate-key.yaml:5:5: pods[0]: duplicate mapping key: port"],
    ),
    (
        "missing-field.yaml",
        &["missing-field.yaml:2:1: pods: missing field `pods`"],
    ),
];

#[test]
fn every_mistake_is_located() {
    let dir = repo_root().join("tests/fixtures/bad-scenarios");
    for (file, expected) in CASES {
        let text = std::fs::read_to_string(dir.join(file)).expect("fixture");
        let errors = load(&text, file).expect_err(file).to_string();
        let lines: Vec<&str> = errors.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{file}:\n{errors}");
        for (line, want) in lines.iter().zip(expected.iter()) {
            assert!(
                line.starts_with(want),
                "{file}: got\n  {line}\nwant a line starting\n  {want}"
            );
        }
    }
}

#[test]
fn every_fixture_is_covered() {
    let dir = repo_root().join("tests/fixtures/bad-scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut covered: Vec<String> = CASES.iter().map(|(f, _)| (*f).to_owned()).collect();
    covered.sort();
    assert_eq!(files, covered);
}
