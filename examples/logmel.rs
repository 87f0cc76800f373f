//! Log-mel spectrogram of an audio file, as a library user writes it.
//!
//! ```sh
//! cargo run --release --example logmel -- examples/data/speech.wav logmel.npy
//! ```

use wavegpu::io::{load, write_npy, LoadOptions};
use wavegpu::{Device, Spectrogram};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .unwrap_or_else(|| "examples/data/speech.wav".into());
    let output = args.next().unwrap_or_else(|| "logmel.npy".into());

    // Mono, resampled to 16 kHz on load (librosa.load(sr=16000)).
    let audio = load(
        input.as_str(),
        &LoadOptions::default().mono().sample_rate(16_000),
    )?;
    // A hardware GPU if there is one, else the CPU path: same numbers.
    let device = Device::auto();
    // Built once (filterbank, FFT plan, pipelines): reuse it for every file.
    let logmel = Spectrogram::mel(16_000)
        .n_fft(512)
        .hop_length(160)
        .n_mels(80)
        .to_db(80.0)
        .build(&device)?;
    let m = logmel.run(&audio)?; // (1, 80, frames)
    println!(
        "{input}: {:.2} s -> log-mel {:?} on {device}",
        audio.duration(),
        m.dim()
    );
    write_npy(&output, &m.index_axis(ndarray::Axis(0), 0))?;
    println!("wrote {output}");
    Ok(())
}
