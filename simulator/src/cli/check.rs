//! `vllm-sim check FILE...`: validate scenarios and show what each pod would be.

use std::path::PathBuf;

use clap::Args;

use vllm_sim_lab::scenario::{self, Scenario};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files to validate.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub(super) fn execute(args: CheckArgs) -> anyhow::Result<()> {
    let mut failed = 0;
    for path in &args.files {
        match scenario::load_file(path) {
            Ok(s) => println!("{}: ok\n{}", path.display(), summary(&s)),
            Err(errors) => {
                failed += 1;
                eprintln!("{errors}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} scenario files are invalid",
            args.files.len()
        );
    }
    Ok(())
}

/// One line per pod: where it listens, how its GPU memory is split and which vLLM
/// version's metrics it exposes.
pub(super) fn summary(s: &Scenario) -> String {
    let mut out = format!(
        "  scenario {} ({} phases, seed {})\n",
        s.name,
        s.phases.len(),
        s.seed
    );
    for p in &s.pods {
        let kv_tokens = u64::from(p.memory.num_gpu_blocks) * u64::from(p.config.block_size);
        out.push_str(&format!(
            "  {:<18} :{:<5} {:<9} {:<4} weights {:>5.2} GiB, KV {:>5.2} GiB = {} blocks ({} tokens), max_model_len {}, {} metrics\n",
            p.name, p.port, p.gpu.name, p.model.quantization, p.memory.weights_gib, p.memory.kv_gib,
            p.memory.num_gpu_blocks, kv_tokens, p.config.max_model_len, p.profile.name(),
        ));
    }
    out
}
