//! WGSL sources from `shaders/`, composed with their shared snippets from `shaders/common/`.

/// The shared FFT core and its two working memories.
const FFT_CORE: &str = include_str!("../../shaders/common/fft.wgsl");
const FFT_WORKGROUP: &str = include_str!("../../shaders/common/fft_workgroup.wgsl");
const FFT_GLOBAL: &str = include_str!("../../shaders/common/fft_global.wgsl");
const POWER_WORKGROUP: &str = include_str!("../../shaders/common/power_workgroup.wgsl");
const POWER_GLOBAL: &str = include_str!("../../shaders/common/power_global.wgsl");
/// The radix-2 workgroup FFT of the convolution and phase-vocoder kernels.
const FFT_2048: &str = include_str!("../../shaders/common/fft2048.wgsl");

/// Where a kernel's FFT works: workgroup memory (fast; n_fft bounded by the device's
/// workgroup storage), or a storage-buffer scratch (any n_fft the buffers allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FftMemory {
    Workgroup,
    Global,
}

/// A kernel's full source: its file, the FFT core and the chosen working memory.
pub(crate) fn source(kernel: Kernel, mem: FftMemory) -> String {
    let (body, power) = match kernel {
        Kernel::Stft => (include_str!("../../shaders/stft.wgsl"), true),
        Kernel::Istft => (include_str!("../../shaders/istft.wgsl"), false),
        // The spectral features reduce the STFT kernel's spectrum in place: stft.wgsl's
        // bindings, framing and FFT come first, then spectral.wgsl's entry points.
        Kernel::Spectral => {
            return format!(
                "{}\n{}",
                source(Kernel::Stft, mem),
                include_str!("../../shaders/spectral.wgsl")
            )
        }
        // No FFT: the post stages are self-contained.
        Kernel::Features => return include_str!("../../shaders/features.wgsl").to_string(),
        Kernel::Bank => return include_str!("../../shaders/bank.wgsl").to_string(),
        // Augmentations draw their per-sample randomness from the counter-based generator.
        Kernel::Augment => {
            return format!(
                "{}\n{}",
                include_str!("../../shaders/augment.wgsl"),
                include_str!("../../shaders/common/philox.wgsl")
            )
        }
        // IIR filters (Butterworth sections, biquads) as a block-state recursion.
        Kernel::Iir => return include_str!("../../shaders/iir.wgsl").to_string(),
        // FFT convolution of waveforms with impulse responses.
        Kernel::Conv => return format!("{}\n{FFT_2048}", include_str!("../../shaders/conv.wgsl")),
        // The phase vocoder (time_stretch, pitch_shift) on the same FFT.
        Kernel::Stretch => {
            return format!("{}\n{FFT_2048}", include_str!("../../shaders/stretch.wgsl"))
        }
        // The CQT projects the STFT kernel's spectrum: stft.wgsl first, as for Spectral.
        Kernel::Cqt => {
            return format!(
                "{}\n{}",
                source(Kernel::Stft, mem),
                include_str!("../../shaders/cqt.wgsl")
            )
        }
    };
    let (mem, power_mem) = match mem {
        FftMemory::Workgroup => (FFT_WORKGROUP, POWER_WORKGROUP),
        FftMemory::Global => (FFT_GLOBAL, POWER_GLOBAL),
    };
    let power_mem = if power { power_mem } else { "" };
    format!("{body}\n{FFT_CORE}\n{mem}\n{power_mem}")
}

/// Every kernel family, one per file in `shaders/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    Stft,
    Istft,
    Features,
    Spectral,
    /// A filterbank over a spectrogram already on the device.
    Bank,
    /// Constant-Q: per-octave STFT projected on sparse complex bases.
    Cqt,
    /// Waveform augmentations (gain, noise, masks ...).
    Augment,
    /// IIR filtering of waveforms.
    Iir,
    /// FFT convolution of waveforms (impulse responses).
    Conv,
    /// The phase vocoder and resampler of time_stretch / pitch_shift.
    Stretch,
}

impl Kernel {
    #[cfg(test)]
    pub const ALL: [Kernel; 10] = [
        Kernel::Stft,
        Kernel::Istft,
        Kernel::Features,
        Kernel::Spectral,
        Kernel::Bank,
        Kernel::Cqt,
        Kernel::Augment,
        Kernel::Iir,
        Kernel::Conv,
        Kernel::Stretch,
    ];

    /// The file under `shaders/` this kernel comes from.
    pub fn file(self) -> &'static str {
        match self {
            Kernel::Stft => "stft.wgsl",
            Kernel::Istft => "istft.wgsl",
            Kernel::Features => "features.wgsl",
            Kernel::Spectral => "spectral.wgsl",
            Kernel::Bank => "bank.wgsl",
            Kernel::Cqt => "cqt.wgsl",
            Kernel::Augment => "augment.wgsl",
            Kernel::Iir => "iir.wgsl",
            Kernel::Conv => "conv.wgsl",
            Kernel::Stretch => "stretch.wgsl",
        }
    }
}

#[cfg(test)]
mod tests {
    //! naga validation of every shader, and translation to every backend's language:
    //! catches most backend-specific shader errors without a GPU.
    use super::*;

    fn validate(name: &str, src: &str) {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}: WGSL parse error:\n{}", e.emit_to_string(src)));
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        );
        let info = validator
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: validation error:\n{}", e.emit_to_string(src)));
        // Resolve overrides with their defaults, as a pipeline would.
        let (module, info) = naga::back::pipeline_constants::process_overrides(
            &module,
            &info,
            None,
            &naga::back::PipelineConstants::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: overrides: {e}"));
        let mut spv = Vec::new();
        let mut w =
            naga::back::spv::Writer::new(&naga::back::spv::Options::default()).expect("spv writer");
        w.write(&module, &info, None, &None, &mut spv)
            .unwrap_or_else(|e| panic!("{name}: SPIR-V: {e}"));
        assert!(!spv.is_empty());
        naga::back::msl::write_string(
            &module,
            &info,
            &naga::back::msl::Options::default(),
            &naga::back::msl::PipelineOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: MSL: {e}"));
        for ep in &module.entry_points {
            let mut s = String::new();
            let opts = naga::back::hlsl::Options::default();
            let popts = naga::back::hlsl::PipelineOptions::default();
            let mut w = naga::back::hlsl::Writer::new(&mut s, &opts, &popts);
            w.write(&module, &info, None)
                .unwrap_or_else(|e| panic!("{name}: HLSL: {e}"));
            let mut g = String::new();
            let gopts = naga::back::glsl::Options {
                version: naga::back::glsl::Version::new_gles(310),
                ..Default::default()
            };
            let pipe = naga::back::glsl::PipelineOptions {
                shader_stage: naga::ShaderStage::Compute,
                entry_point: ep.name.clone(),
                multiview: None,
            };
            naga::back::glsl::Writer::new(
                &mut g,
                &module,
                &info,
                &gopts,
                &pipe,
                naga::proc::BoundsCheckPolicies::default(),
            )
            .and_then(|mut w| w.write())
            .unwrap_or_else(|e| panic!("{name}: GLSL ({}): {e}", ep.name));
        }
    }

    #[test]
    fn every_shader_validates_and_translates() {
        for k in Kernel::ALL {
            for mem in [FftMemory::Workgroup, FftMemory::Global] {
                validate(&format!("{} ({mem:?})", k.file()), &source(k, mem));
            }
        }
    }

    #[test]
    fn every_file_in_shaders_is_a_kernel() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
        for entry in std::fs::read_dir(dir).expect("shaders/") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf8");
            if name.ends_with(".wgsl") {
                assert!(
                    Kernel::ALL.iter().any(|k| k.file() == name),
                    "shaders/{name} is not validated: add it to Kernel::ALL"
                );
            }
        }
        let common = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/common");
        for entry in std::fs::read_dir(common).expect("shaders/common/") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf8");
            assert!(
                [
                    "fft.wgsl",
                    "fft_workgroup.wgsl",
                    "fft_global.wgsl",
                    "power_workgroup.wgsl",
                    "power_global.wgsl",
                    "philox.wgsl",
                    "fft2048.wgsl"
                ]
                .contains(&name.as_str()),
                "shaders/common/{name} is not composed into any validated kernel"
            );
        }
    }
}
