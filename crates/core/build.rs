//! Embeds the vLLM release data files (`data/vllm/<release>.json`, written by
//! `tools/vllm-metrics`) into the binary: `releases.rs` in `OUT_DIR` lists them,
//! oldest release first.

use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("data/vllm");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut releases: Vec<(Vec<u64>, String)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".json")?
                .to_owned();
            let key = name.split('.').map(version_part).collect();
            Some((key, name))
        })
        .collect();
    releases.sort();
    let mut out = String::from("/// Every release's data file, oldest first.\n");
    out.push_str("pub(super) static FILES: &[(&str, &str)] = &[\n");
    for (_, name) in &releases {
        let path = dir.join(format!("{name}.json"));
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("releases.rs");
    fs::write(dest, out).unwrap();
}

/// A version component as a number for sorting: `4` of `0.6.4`, `1` of `post1`.
fn version_part(part: &str) -> u64 {
    part.trim_start_matches("post").parse().unwrap_or(0)
}
