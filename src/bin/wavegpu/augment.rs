//! `wavegpu augment IN -o OUT --pipeline FILE.json --seed N`: a JSON pipeline of
//! audiomentations-style transforms over a file or a directory of files.

use std::path::Path;

use ndarray::Axis;
use wavegpu::augment::Pipeline;
use wavegpu::Device;

use crate::args::{AugmentArgs, DeviceName};
use crate::fail::Fail;
use crate::{check_result, load, load_options, open_device, plan_mode_as, run_mode, OutKind};

/// The example id of a file: FNV-1a (64 bits) of its file name, so that a file gets the same
/// augmentation alone or in any directory, whatever the other files.
pub fn example_id(input: &Path) -> u64 {
    let name = input
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or(&[]);
    name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub fn augment(a: AugmentArgs) -> Result<i32, Fail> {
    let json = std::fs::read_to_string(&a.pipeline)
        .map_err(|e| Fail::usage(format!("--pipeline {}: {e}", a.pipeline.display())))?;
    // A pipeline the library rejects is a usage error, found before any file is read.
    Pipeline::from_json(&json, &Device::cpu())
        .map_err(|e| Fail::usage(format!("--pipeline {}: {e}", a.pipeline.display())))?;
    let device = match a.device.device {
        DeviceName::Cpu => Device::cpu(),
        name => open_device(name)?,
    };
    let pipeline = Pipeline::from_json(&json, &device)
        .map_err(|e| Fail::lib(format!("--pipeline {}", a.pipeline.display()), e))?;
    let dir_kind = match a.format {
        Some(crate::args::AugmentFormat::Wav) => OutKind::Wav,
        _ => OutKind::Npy,
    };
    let mode = plan_mode_as(&a.input, &a.output, &[OutKind::Wav, OutKind::Npy], dir_kind)?;
    let opts = load_options(&a.load);
    let mono = !a.load.no_mono;
    let seed = a.seed;
    let job = |input: &Path, output: &Path, kind: OutKind| -> Result<(), Fail> {
        let audio = load(input, &opts)?;
        let fail = |e| Fail::lib(input.display(), e);
        let out = pipeline
            .run_clip(seed, example_id(input), &audio)
            .map_err(fail)?;
        check_result(output, &out.data())?;
        match kind {
            OutKind::Wav => wavegpu::io::write_wav(output, &out),
            _ if mono => wavegpu::io::write_npy(output, &out.data().index_axis(Axis(0), 0)),
            _ => wavegpu::io::write_npy(output, &out.data()),
        }
        .map_err(|e| Fail::lib(output.display(), e))
    };
    run_mode(mode, &job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_ids_depend_on_the_file_name_only() {
        assert_eq!(
            example_id(Path::new("/a/b/clip.wav")),
            example_id(Path::new("clip.wav"))
        );
        assert_ne!(
            example_id(Path::new("clip.wav")),
            example_id(Path::new("clip2.wav"))
        );
        // FNV-1a 64 of the empty string is its offset basis; of "a", the published value.
        assert_eq!(example_id(Path::new("")), 0xcbf2_9ce4_8422_2325);
        assert_eq!(example_id(Path::new("a")), 0xaf63_dc4c_8601_ec8c);
    }
}
