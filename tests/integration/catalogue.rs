//! The catalogue's data files are what vLLM's own code renders: the newest release is
//! regenerated from its PyPI wheel by `tools/vllm-metrics` and compared byte for byte.

use std::path::Path;
use std::process::Command;

#[test]
fn the_data_files_are_what_vllms_code_renders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("python3")
        .args(["tools/vllm-metrics/generate.py", "--check", "0.33.0"])
        .current_dir(&root)
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => return skip(&format!("python3 cannot run: {e}")),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(1) => panic!(
            "crates/core/data/vllm differs from what vLLM 0.33.0's code renders; regenerate with \
             `python3 tools/vllm-metrics/generate.py 0.33.0`:\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        ),
        _ => skip(&format!(
            "the generator could not run (no network to PyPI, or `pip install -r \
             tools/vllm-metrics/requirements.txt` not done): {}",
            stderr.lines().last().unwrap_or_default()
        )),
    }
}

/// Prints why the comparison cannot run; under CI, where PyPI and the requirements
/// are set up, fails instead.
fn skip(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIP: {why}");
}

/// Every number the pods write is what prometheus_client's `floatToGoString` writes
/// for it: 20,000 seeded values (whole and fractional, tiny and huge, any bit
/// pattern), each compared with Python's answer.
#[test]
fn numbers_print_as_prometheus_client_prints_them() {
    use std::io::Write;
    use vllm_sim::exposition::text::{Exponent, go_float};
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let values: Vec<f64> = (0..20_000)
        .map(|i| {
            let r = next();
            match i % 4 {
                0 => f64::from_bits(r),
                1 => (r % 100_000_000) as f64,
                2 => (r % 1_000_000) as f64 / 1000.0,
                _ => 10f64.powi((r % 40) as i32 - 20) * ((r >> 8) % 1000) as f64,
            }
        })
        .collect();
    let script = "import struct,sys\n\
        from prometheus_client.utils import floatToGoString\n\
        for line in sys.stdin:\n    \
        print(floatToGoString(struct.unpack('<d', struct.pack('<Q', int(line)))[0]))\n";
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return skip("python3 cannot run");
    };
    let input: String = values
        .iter()
        .map(|v| format!("{}\n", v.to_bits()))
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    if !out.status.success() {
        return skip(&format!(
            "prometheus_client is not installed (pip install -r tests/python-requirements.txt): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        ));
    }
    let python = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for (v, theirs) in values.iter().zip(python.lines()) {
        let mut ours = String::new();
        go_float(*v, Exponent::ZeroPrefixed, &mut ours);
        assert_eq!(ours, theirs, "{v:e} (bits {:#x})", v.to_bits());
        checked += 1;
    }
    assert_eq!(checked, values.len());
}
