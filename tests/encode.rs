//! Encoding: the WAV encoder (always), the FFmpeg encoder (feature `ffmpeg`), `encode_audio`
//! and their errors. Files written through FFmpeg are read back with the ffmpeg/ffprobe
//! command-line tools, independently of the crate's own decoders.

mod common;

use std::path::{Path, PathBuf};

use ndarray::Array2;
use wavegpu::io::{
    encode_audio, load, open_encoder, AudioChunk, EncodeOptions, LoadOptions, SampleFormat,
    WavEncoder,
};
use wavegpu::{Audio, Error};

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("encode");
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

/// Noise on the `bits`-bit grid: k / 2^(bits-1), k in [-2^(bits-1), 2^(bits-1)).
fn quantised(n: usize, bits: u32, seed: u64) -> Vec<f32> {
    let scale = (1u64 << (bits - 1)) as f64;
    common::noise(n, seed)
        .into_iter()
        .map(|x| ((x as f64 * scale).round().clamp(-scale, scale - 1.0) / scale) as f32)
        .collect()
}

fn audio(channels: Vec<Vec<f32>>, sr: u32) -> Audio {
    let n = channels[0].len();
    let c = channels.len();
    Audio::new(
        Array2::from_shape_vec((c, n), channels.concat()).unwrap(),
        sr,
    )
    .unwrap()
}

/// A music-like test signal: six partials (G3 and up) under a slow swell, a little noise.
fn music(n: usize, sr: u32, seed: u64) -> Vec<f32> {
    let partials = [
        (196.0, 0.30),
        (392.0, 0.15),
        (587.3, 0.10),
        (880.0, 0.08),
        (1318.5, 0.05),
        (2637.0, 0.03),
    ];
    let nz = common::noise(n, seed);
    let phase = seed as f64 * 0.7;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr as f64;
            let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 0.5 * t + phase).sin();
            let s: f64 = partials
                .iter()
                .map(|&(f, a)| a * (2.0 * std::f64::consts::PI * f * t + phase * f / 100.0).sin())
                .sum();
            (env * s + 0.005 * nz[i] as f64) as f32
        })
        .collect()
}

/// Raw WAV contents with hound: integer samples, or float ones.
enum Raw {
    Int(Vec<i32>),
    Float(Vec<f32>),
}

fn read_raw(path: &Path) -> (hound::WavSpec, Raw) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let raw = match spec.sample_format {
        hound::SampleFormat::Int => Raw::Int(r.samples::<i32>().map(|s| s.unwrap()).collect()),
        hound::SampleFormat::Float => Raw::Float(r.samples::<f32>().map(|s| s.unwrap()).collect()),
    };
    (spec, raw)
}

fn interleave(a: &Audio) -> Vec<f32> {
    let d = a.data();
    let mut out = Vec::with_capacity(d.len());
    for col in d.columns() {
        out.extend(col.iter().copied());
    }
    out
}

// ---------------------------------------------------------------------------------------
// WAV

#[test]
fn wav_16_bit_round_trip_is_bit_exact() {
    let n = 20_000;
    let a = audio(vec![quantised(n, 16, 1), quantised(n, 16, 2)], 22_050);
    let p = scratch("s16.wav");
    let opts = EncodeOptions::default().sample_format(SampleFormat::S16);
    let info = encode_audio(&p, &a, &opts).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.frames, info.bits_per_sample),
        ("pcm_s16le", n as u64, Some(16))
    );
    let (spec, raw) = read_raw(&p);
    assert_eq!(
        (spec.bits_per_sample, spec.channels, spec.sample_rate),
        (16, 2, 22_050)
    );
    let Raw::Int(ints) = raw else { panic!("int") };
    let want: Vec<i32> = interleave(&a)
        .iter()
        .map(|&x| (x * 32768.0) as i32)
        .collect();
    assert_eq!(ints, want);
    // And back through the crate's decoder: the same floats.
    assert_eq!(load(&p, &LoadOptions::default().no_mono()).unwrap(), a);
}

#[test]
fn wav_24_and_32_bit_round_trips_are_bit_exact() {
    let n = 5_000;
    for (fmt, bits) in [(SampleFormat::S24, 24u32), (SampleFormat::S32, 32)] {
        // 24-bit grid for both: every such value is exact in f32, and on the 32-bit grid too.
        let a = audio(vec![quantised(n, 24, 3)], 48_000);
        let p = scratch(&format!("s{bits}.wav"));
        encode_audio(&p, &a, &EncodeOptions::default().sample_format(fmt)).unwrap();
        let (spec, raw) = read_raw(&p);
        assert_eq!(spec.bits_per_sample as u32, bits);
        let Raw::Int(ints) = raw else { panic!("int") };
        let scale = (1u64 << (bits - 1)) as f64;
        let want: Vec<i32> = a
            .channel(0)
            .iter()
            .map(|&x| (x as f64 * scale) as i32)
            .collect();
        assert_eq!(ints, want, "{fmt}");
        assert_eq!(load(&p, &LoadOptions::default()).unwrap(), a, "{fmt}");
    }
}

#[test]
fn wav_float_is_the_default_and_keeps_every_bit() {
    // Values past full scale, tiny ones, negative zero: float WAV stores them as they are.
    let mut x = common::noise(4_000, 4);
    x[0] = 1.75;
    x[1] = -3.5;
    x[2] = 1e-30;
    x[3] = -0.0;
    let a = audio(vec![x.clone()], 16_000);
    let p = scratch("f32.wav");
    let info = encode_audio(&p, &a, &EncodeOptions::default()).unwrap();
    assert_eq!(info.codec, "pcm_f32le");
    let (spec, raw) = read_raw(&p);
    assert_eq!(
        (spec.sample_format, spec.bits_per_sample),
        (hound::SampleFormat::Float, 32)
    );
    let Raw::Float(f) = raw else { panic!("float") };
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&f), bits(&x));
    // write_wav is the same encoder: the same bytes.
    let p2 = scratch("f32_write_wav.wav");
    wavegpu::io::write_wav(&p2, &a).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&p2).unwrap());
}

#[test]
fn integer_pcm_rounds_to_nearest_even_and_clips() {
    let lsb = 1.0 / 32768.0;
    let x = vec![
        1.0,
        -1.0,
        2.0,
        -2.0,
        0.5 * lsb,
        1.5 * lsb,
        2.5 * lsb,
        -0.5 * lsb,
        -1.5 * lsb,
        0.49 * lsb,
        32767.5 * lsb,
        -32768.5 * lsb,
    ];
    let a = audio(vec![x], 8_000);
    let p = scratch("round.wav");
    encode_audio(
        &p,
        &a,
        &EncodeOptions::default().sample_format(SampleFormat::S16),
    )
    .unwrap();
    let Raw::Int(ints) = read_raw(&p).1 else {
        panic!("int")
    };
    assert_eq!(
        ints,
        [32767, -32768, 32767, -32768, 0, 2, 2, 0, -2, 0, 32767, -32768]
    );
}

#[test]
fn streaming_small_chunks_equals_one_write() {
    // 30 s of stereo at 44.1 kHz (2.6 M samples), fed 997 frames at a time, against
    // encode_audio's one call: the same bytes, for every sample format.
    let sr = 44_100;
    let n = 30 * sr as usize + 17;
    let a = audio(vec![music(n, sr, 1), music(n, sr, 2)], sr);
    let planar: Vec<f32> = a.data().iter().copied().collect();
    for fmt in [
        SampleFormat::S16,
        SampleFormat::S24,
        SampleFormat::S32,
        SampleFormat::F32,
    ] {
        let opts = EncodeOptions::default().sample_format(fmt);
        let whole = scratch(&format!("whole_{fmt}.wav"));
        encode_audio(&whole, &a, &opts).unwrap();
        let streamed = scratch(&format!("streamed_{fmt}.wav"));
        let mut enc = open_encoder(&streamed, sr, 2, &opts).unwrap();
        let mut buf = Vec::new();
        let mut start = 0;
        while start < n {
            let m = 997.min(n - start);
            buf.clear();
            for c in 0..2 {
                buf.extend_from_slice(&planar[c * n + start..c * n + start + m]);
            }
            enc.write(AudioChunk::new(&buf, 2, m).unwrap()).unwrap();
            start += m;
        }
        enc.finish().unwrap();
        assert_eq!(enc.info().frames, n as u64);
        assert!(
            std::fs::read(&whole).unwrap() == std::fs::read(&streamed).unwrap(),
            "{fmt}: streamed file differs"
        );
    }
}

#[test]
fn channel_conversion_mono_mean_and_repeat() {
    let n = 3_000;
    let st = audio(vec![quantised(n, 16, 5), quantised(n, 16, 6)], 16_000);
    // To mono: the mean, exactly as Audio::to_mono (librosa.to_mono).
    let p = scratch("to_mono.wav");
    let info = encode_audio(&p, &st, &EncodeOptions::default().channels(1)).unwrap();
    assert_eq!((info.channels, info.input_channels), (1, 2));
    assert_eq!(load(&p, &LoadOptions::default()).unwrap(), st.to_mono());
    // From mono: repeated.
    let mono = audio(vec![quantised(n, 16, 7)], 16_000);
    let p = scratch("from_mono.wav");
    encode_audio(&p, &mono, &EncodeOptions::default().channels(3)).unwrap();
    let back = load(&p, &LoadOptions::default().no_mono()).unwrap();
    assert_eq!(back.channels(), 3);
    for c in 0..3 {
        assert_eq!(back.channel(c), mono.channel(0));
    }
    // Anything else: an error naming the output.
    let p = scratch("three_to_two.wav");
    let three = audio(vec![vec![0.0; 10]; 3], 16_000);
    let e = encode_audio(&p, &three, &EncodeOptions::default().channels(2)).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("three_to_two.wav"), "{e}");
}

#[test]
fn encode_audio_resamples_first() {
    let a = audio(vec![music(16_001, 16_000, 3)], 16_000);
    let p = scratch("resampled.wav");
    let info = encode_audio(&p, &a, &EncodeOptions::default().sample_rate(8_000)).unwrap();
    assert_eq!((info.sample_rate, info.frames), (8_000, 8_001)); // ceil(16001 / 2)
    let back = load(&p, &LoadOptions::default()).unwrap();
    assert_eq!(back, wavegpu::io::resample(&a, 8_000).unwrap());
    // The streaming WAV encoder does not resample.
    let e = WavEncoder::create(
        scratch("no.wav"),
        16_000,
        1,
        &EncodeOptions::default().sample_rate(8_000),
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Unsupported { .. }) && e.to_string().contains("resample"),
        "{e}"
    );
    assert!(!scratch("no.wav").exists());
}

#[test]
fn wav_errors_name_the_output() {
    let p = scratch("errors.wav");
    let name = p.display().to_string();
    let mut enc = open_encoder(
        &p,
        16_000,
        2,
        &EncodeOptions::default().sample_format(SampleFormat::S16),
    )
    .unwrap();
    // Wrong channel count.
    let e = enc
        .write(AudioChunk::new(&[0.0; 4], 1, 4).unwrap())
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidAudio { .. }) && e.to_string().contains(&name),
        "{e}"
    );
    // NaN into integer PCM: named with its position.
    let mut x = vec![0.0f32; 8];
    x[6] = f32::NAN;
    let e = enc.write(AudioChunk::new(&x, 2, 4).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("sample 2 of channel 1 is NaN"),
        "{e}"
    );
    // Infinities too (integer PCM would clip them silently).
    x[6] = f32::INFINITY;
    let e = enc.write(AudioChunk::new(&x, 2, 4).unwrap()).unwrap_err();
    assert!(e.to_string().contains("is inf"), "{e}");
    // A rejected chunk writes nothing; the encoder goes on.
    enc.write(AudioChunk::new(&[0.25, -0.25], 2, 1).unwrap())
        .unwrap();
    enc.finish().unwrap();
    assert_eq!(
        load(&p, &LoadOptions::default().no_mono()).unwrap(),
        audio(vec![vec![0.25], vec![-0.25]], 16_000)
    );
    let mut enc = open_encoder(&p, 16_000, 1, &EncodeOptions::default()).unwrap();
    enc.write(AudioChunk::new(&[0.5; 3], 1, 3).unwrap())
        .unwrap();
    enc.finish().unwrap();
    enc.finish().unwrap(); // a second finish does nothing
    let e = enc
        .write(AudioChunk::new(&[0.5], 1, 1).unwrap())
        .unwrap_err();
    assert!(
        matches!(e, Error::Output { .. }) && e.to_string().contains(&name),
        "{e}"
    );
    assert_eq!(load(&p, &LoadOptions::default()).unwrap().len(), 3);

    // Options WAV has no use for: parameter errors, nothing written.
    for (opts, param) in [
        (EncodeOptions::default().bit_rate(128_000), "bit_rate"),
        (EncodeOptions::default().quality(2.0), "quality"),
        (
            EncodeOptions::default().compression_level(5),
            "compression_level",
        ),
        (
            EncodeOptions::default().codec_option("x", "y"),
            "codec_options",
        ),
        (EncodeOptions::default().sample_rate(0), "sample_rate"),
        (EncodeOptions::default().channels(0), "channels"),
    ] {
        let q = scratch("opt.wav");
        let e = open_encoder(&q, 16_000, 1, &opts).map(|_| ()).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, .. } if *name == param),
            "{param}: {e}"
        );
        assert!(opts.validate(&q).is_err());
        assert!(!q.exists(), "{param}");
    }
    // Sample rate 0, a missing directory.
    let e = open_encoder(scratch("sr0.wav"), 0, 1, &EncodeOptions::default())
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, Error::Output { .. }), "{e}");
    let missing = scratch("no_such_dir").join("x.wav");
    let e = open_encoder(&missing, 8_000, 1, &EncodeOptions::default())
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("no_such_dir"),
        "{e}"
    );
    // An Audio at another rate than the encoder's.
    let mut enc = open_encoder(scratch("rate.wav"), 8_000, 1, &EncodeOptions::default()).unwrap();
    let e = enc
        .write_audio(&Audio::from_mono(vec![0.0; 4], 16_000))
        .unwrap_err();
    assert!(e.to_string().contains("16000 Hz"), "{e}");
}

#[test]
fn format_choice_and_its_errors() {
    let a = Audio::from_mono(vec![0.0; 100], 8_000);
    // No extension, .npy: unsupported, naming the output.
    for name in ["noext", "x.npy"] {
        let p = scratch(name);
        let e = encode_audio(&p, &a, &EncodeOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e}");
        assert!(e.to_string().contains(name), "{e}");
    }
    // An explicit format wins over the extension.
    let p = scratch("wav_named.audio");
    let info = encode_audio(&p, &a, &EncodeOptions::default().format("wav")).unwrap();
    assert_eq!(info.container, "wav");
    assert_eq!(load(&p, &LoadOptions::default()).unwrap(), a);
    // Compressed formats need FFmpeg.
    #[cfg(not(feature = "ffmpeg"))]
    for ext in ["flac", "mp3", "opus", "m4a", "ogg"] {
        let p = scratch(&format!("x.{ext}"));
        let e = encode_audio(&p, &a, &EncodeOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("ffmpeg") && msg.contains(&format!("x.{ext}")),
            "{msg}"
        );
        assert!(!p.exists());
        let e = wavegpu::io::FfmpegEncoder::create(&p, 8_000, 1, &EncodeOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("ffmpeg"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------
// FFmpeg

#[cfg(feature = "ffmpeg")]
mod ffmpeg {
    use super::*;
    use std::process::Command;

    /// The ffmpeg/ffprobe tools the checks read files with. Missing tools fail in CI and skip
    /// elsewhere.
    fn tools() -> bool {
        let ok = Command::new("ffprobe").arg("-version").output().is_ok()
            && Command::new("ffmpeg").arg("-version").output().is_ok();
        if !ok {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but the ffmpeg/ffprobe tools are missing");
            }
            eprintln!("skipping: the ffmpeg/ffprobe command-line tools are missing");
        }
        ok
    }

    /// Decodes with the ffmpeg tool to interleaved f32 at the file's own rate and channels.
    fn decode(path: &Path) -> Vec<f32> {
        let o = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-f", "f32le", "-acodec", "pcm_f32le", "-"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// ffprobe's first stream and format, as JSON.
    fn probe(path: &Path) -> (serde_json::Value, serde_json::Value) {
        let o = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_streams",
                "-show_format",
                "-of",
                "json",
            ])
            .arg(path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v["streams"][0].clone(), v["format"].clone())
    }

    fn num(v: &serde_json::Value) -> f64 {
        v.as_str()
            .map(|s| s.parse().unwrap())
            .or_else(|| v.as_f64())
            .unwrap_or_else(|| panic!("not a number: {v}"))
    }

    fn snr_db(reference: &[f32], got: &[f32]) -> f64 {
        let (mut s, mut e) = (0.0f64, 0.0f64);
        for (&r, &g) in reference.iter().zip(got) {
            s += (r as f64).powi(2);
            e += (g as f64 - r as f64).powi(2);
        }
        10.0 * (s / e.max(1e-30)).log10()
    }

    /// The shift of `got` against `reference` (interleaved, `ch` channels) with the best
    /// correlation, within ±`max` frames.
    fn best_lag(reference: &[f32], got: &[f32], ch: usize, max: i64) -> i64 {
        let frames = (reference.len() / ch).min(got.len() / ch) as i64;
        let mut best = (f64::MIN, 0);
        for lag in -max..=max {
            let mut acc = 0.0f64;
            for i in max..frames - max {
                let j = i + lag;
                for c in 0..ch {
                    acc += reference[i as usize * ch + c] as f64 * got[j as usize * ch + c] as f64;
                }
            }
            if acc > best.0 {
                best = (acc, lag);
            }
        }
        best.1
    }

    #[test]
    fn flac_is_lossless_after_quantisation() {
        if !tools() {
            return;
        }
        let n = 50_001;
        for (fmt, bits) in [(SampleFormat::S16, 16), (SampleFormat::S24, 24)] {
            let a = audio(vec![quantised(n, bits, 8), quantised(n, bits, 9)], 44_100);
            let p = scratch(&format!("lossless_{bits}.flac"));
            let info = encode_audio(&p, &a, &EncodeOptions::default().sample_format(fmt)).unwrap();
            assert_eq!(
                (info.codec.as_str(), info.bits_per_sample, info.frames),
                ("flac", Some(bits), n as u64)
            );
            let got = decode(&p);
            assert!(got == interleave(&a), "{fmt}: FLAC samples differ");
            let (st, _) = probe(&p);
            assert_eq!(st["codec_name"], "flac");
            assert_eq!(st["bits_per_raw_sample"], bits.to_string());
            assert_eq!(num(&st["duration_ts"]) as usize, n);
        }
        // Default: 16-bit; 32-bit is refused (FFmpeg 5.1's FLAC stores at most 24 bits).
        let a = audio(vec![quantised(1000, 16, 1)], 8_000);
        let info = encode_audio(scratch("d.flac"), &a, &EncodeOptions::default()).unwrap();
        assert_eq!(info.bits_per_sample, Some(16));
        let e = encode_audio(
            scratch("s32.flac"),
            &a,
            &EncodeOptions::default().sample_format(SampleFormat::S32),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "sample_format",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn flac_compression_level_changes_size_not_samples() {
        if !tools() {
            return;
        }
        let sr = 44_100;
        let n = 5 * sr as usize;
        let x: Vec<f32> = music(n, sr, 4)
            .iter()
            .map(|v| (v * 32768.0).round() / 32768.0)
            .collect();
        let a = audio(vec![x], sr);
        let mut sizes = Vec::new();
        let mut decoded = Vec::new();
        for level in [0, 5, 12] {
            let p = scratch(&format!("level{level}.flac"));
            encode_audio(&p, &a, &EncodeOptions::default().compression_level(level)).unwrap();
            sizes.push(std::fs::metadata(&p).unwrap().len());
            decoded.push(decode(&p));
        }
        eprintln!("flac sizes at levels 0, 5, 12: {sizes:?}");
        assert!(sizes[0] > sizes[1] && sizes[1] >= sizes[2], "{sizes:?}");
        assert!(decoded.iter().all(|d| *d == interleave(&a)));
    }

    /// One lossy round trip: the decoded length against the input's, the alignment, and
    /// the SNR over the input's length.
    struct Lossy {
        decoded_frames: usize,
        lag: i64,
        snr: f64,
        size: u64,
    }

    /// Encodes `a` into `p`, decodes it with the ffmpeg tool and compares it with `a` at
    /// the decoded rate (resampled with the crate's resampler where the rates differ, as
    /// Opus, always decoded at 48 kHz).
    fn lossy(p: &Path, a: &Audio, opts: &EncodeOptions) -> (wavegpu::io::EncoderInfo, Lossy) {
        let info = encode_audio(p, a, opts).unwrap();
        let ch = a.channels();
        let got = decode(p);
        let rate = num(&probe(p).0["sample_rate"]) as u32;
        let reference = if rate == a.sample_rate() {
            interleave(a)
        } else {
            interleave(&wavegpu::io::resample(a, rate).unwrap())
        };
        let lag = best_lag(&reference, &got, ch, 200);
        let r = Lossy {
            decoded_frames: got.len() / ch,
            lag,
            snr: snr_db(&reference, &got[..reference.len().min(got.len())]),
            size: std::fs::metadata(p).unwrap().len(),
        };
        (info, r)
    }

    #[test]
    fn lossy_round_trips_keep_length_alignment_and_quality() {
        if !tools() {
            return;
        }
        // (extension, rate, codec ffprobe names, SNR floor in dB, extra decoded frames allowed)
        // Measured on this signal at the codecs' default settings (FFmpeg 5.1, LAME 3.100,
        // libopus 1.3.1, libvorbis 1.3.7; stereo, 3 s): mp3 25.3 dB (128 kb/s), opus 27.3 dB,
        // aac 26.6 dB, vorbis 31.6 dB; the floors sit about 3 dB under. Perceptual codecs are
        // far from waveform-exact, so these are sanity floors, not quality claims. ffmpeg
        // trims the MP3 (LAME header), Opus (pre-skip, end granule) and Vorbis padding
        // exactly; from M4A it trims the priming (edit list) but returns the last AAC frame
        // whole (up to 1023 frames more).
        let cases = [
            ("mp3", 44_100, "mp3", 22.0, 0),
            ("opus", 48_000, "opus", 24.0, 0),
            ("m4a", 44_100, "aac", 23.0, 1023),
            ("ogg", 44_100, "vorbis", 28.0, 0),
        ];
        for (ext, sr, codec, floor, extra) in cases {
            let n = 3 * sr as usize + 321;
            let a = audio(vec![music(n, sr, 11), music(n, sr, 12)], sr);
            let p = scratch(&format!("round_trip.{ext}"));
            let (_, r) = lossy(&p, &a, &EncodeOptions::default());
            eprintln!(
                "{ext}: {} frames in, {} decoded, lag {}, SNR {:.1} dB, {} bytes",
                n, r.decoded_frames, r.lag, r.snr, r.size
            );
            assert!(
                r.decoded_frames >= n && r.decoded_frames <= n + extra,
                "{ext}: {} frames decoded from {n}",
                r.decoded_frames
            );
            assert_eq!(r.lag, 0, "{ext}: the decoded audio is shifted");
            assert!(r.snr > floor, "{ext}: SNR {:.1} dB <= {floor}", r.snr);

            let (st, fmt) = probe(&p);
            assert_eq!(st["codec_name"], codec, "{ext}");
            assert_eq!(num(&st["sample_rate"]) as u32, sr, "{ext}");
            assert_eq!(st["channels"], 2, "{ext}");
            // ffprobe's duration: the samples' own for Vorbis and AAC (edit list, rounded to
            // the movie's millisecond), plus the encoder delay Opus and MP3 report (start_time:
            // Opus's 312-sample pre-skip at 0; MP3 shows LAME's frames whole).
            let want = n as f64 / sr as f64;
            let dur = num(&fmt["duration"]);
            let start = st["start_time"]
                .as_str()
                .map_or(0.0, |s| s.parse().unwrap());
            let slack = match ext {
                "mp3" => start + 2.0 * 1152.0 / sr as f64,
                "opus" => 312.0 / 48_000.0 + 1e-6,
                _ => 1e-3,
            };
            assert!(
                dur >= want - 1e-6 && dur <= want + slack,
                "{ext}: ffprobe duration {dur} for {want} s"
            );
        }
    }

    #[test]
    fn durations_match_the_ffmpeg_tool_encoding_the_same_audio() {
        if !tools() {
            return;
        }
        // The same samples through `ffmpeg -i in.wav out.EXT`: the containers' timestamps
        // (what ffprobe reports) agree.
        let sr = 44_100;
        let n = 2 * sr as usize + 123;
        let a = audio(vec![music(n, sr, 21), music(n, sr, 22)], sr);
        let wav = scratch("tool_in.wav");
        encode_audio(&wav, &a, &EncodeOptions::default()).unwrap();
        for ext in ["mp3", "opus", "m4a", "ogg", "flac"] {
            let ours = scratch(&format!("ours.{ext}"));
            encode_audio(&ours, &a, &EncodeOptions::default()).unwrap();
            let theirs = scratch(&format!("theirs.{ext}"));
            let o = Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-i"])
                .arg(&wav)
                .arg(&theirs)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let (s1, f1) = probe(&ours);
            let (s2, f2) = probe(&theirs);
            for key in [
                "duration",
                "start_time",
                "sample_rate",
                "channels",
                "codec_name",
            ] {
                assert_eq!(s1[key], s2[key], "{ext}: stream {key}");
            }
            assert_eq!(f1["duration"], f2["duration"], "{ext}: format duration");
            assert_eq!(
                decode(&ours).len(),
                decode(&theirs).len(),
                "{ext}: decoded length"
            );
        }
    }

    #[test]
    fn bit_rate_and_quality_take_effect() {
        if !tools() {
            return;
        }
        let sr = 48_000;
        let n = 4 * sr as usize;
        let a = audio(vec![music(n, sr, 31), music(n, sr, 32)], sr);
        let size = |ext: &str, tag: &str, o: EncodeOptions| {
            let p = scratch(&format!("rate_{tag}.{ext}"));
            let info = encode_audio(&p, &a, &o).unwrap();
            assert_eq!(info.frames, n as u64);
            let bytes = std::fs::metadata(&p).unwrap().len();
            let (st, fmt) = probe(&p);
            eprintln!(
                "{ext} {tag}: {bytes} bytes, ffprobe bit_rate {}",
                fmt["bit_rate"]
                    .as_str()
                    .or(st["bit_rate"].as_str())
                    .unwrap_or("?")
            );
            bytes
        };
        for ext in ["mp3", "opus", "m4a", "ogg"] {
            let lo = size(ext, "64k", EncodeOptions::default().bit_rate(64_000));
            let hi = size(ext, "192k", EncodeOptions::default().bit_rate(192_000));
            assert!(lo * 2 < hi, "{ext}: 64k {lo} bytes vs 192k {hi}");
            // 4 s at 64 kb/s is 32 kB: within a factor of 1.5 (container overhead, ABR).
            assert!(
                (21_000..48_000).contains(&lo),
                "{ext}: {lo} bytes at 64 kb/s"
            );
        }
        // VBR quality: MP3 (0 best), Vorbis (10 best), AAC.
        let q =
            |ext: &str, v: f32| size(ext, &format!("q{v}"), EncodeOptions::default().quality(v));
        assert!(q("mp3", 9.0) < q("mp3", 0.0));
        assert!(q("ogg", 1.0) < q("ogg", 8.0));
        assert!(q("m4a", 0.3) < q("m4a", 1.5));
        // MP3 compression level (LAME's algorithm quality) changes the bits, not the size
        // class: both decode close to the input.
        let p0 = scratch("lame_q0.mp3");
        let p9 = scratch("lame_q9.mp3");
        encode_audio(&p0, &a, &EncodeOptions::default().compression_level(0)).unwrap();
        encode_audio(&p9, &a, &EncodeOptions::default().compression_level(9)).unwrap();
        assert_ne!(std::fs::read(&p0).unwrap(), std::fs::read(&p9).unwrap());
        // A raw codec option: libopus with vbr=off is constant bit rate (every packet the
        // same size), which changes the file.
        let v = scratch("vbr_on.opus");
        let c = scratch("vbr_off.opus");
        encode_audio(&v, &a, &EncodeOptions::default()).unwrap();
        encode_audio(&c, &a, &EncodeOptions::default().codec_option("vbr", "off")).unwrap();
        assert_ne!(std::fs::read(&v).unwrap(), std::fs::read(&c).unwrap());
    }

    #[test]
    fn opus_resamples_to_a_rate_it_takes() {
        if !tools() {
            return;
        }
        for (sr, want) in [
            (44_100u32, 48_000u32),
            (22_050, 24_000),
            (16_000, 16_000),
            (96_000, 48_000),
        ] {
            let n = 2 * sr as usize + 77;
            let a = audio(vec![music(n, sr, 41)], sr);
            let p = scratch(&format!("rate_{sr}.opus"));
            let (info, r) = lossy(&p, &a, &EncodeOptions::default());
            eprintln!(
                "opus from {sr} Hz: coded at {} Hz, {} frames; {} decoded at 48 kHz, lag {}, \
                 SNR {:.1} dB against the input resampled to 48 kHz",
                info.sample_rate, info.frames, r.decoded_frames, r.lag, r.snr
            );
            assert_eq!((info.sample_rate, info.input_sample_rate), (want, sr));
            // swresample's length: the input's duration at the coded rate.
            let coded = (n as u64 * want as u64).div_ceil(sr as u64);
            assert!(
                info.frames.abs_diff(coded) <= 1,
                "{} for {coded}",
                info.frames
            );
            assert_eq!(r.decoded_frames as u64, info.frames * 48_000 / want as u64);
            // Ogg Opus headers always say 48 kHz (the decoder's rate).
            assert_eq!(num(&probe(&p).0["sample_rate"]) as u32, 48_000);
            assert_eq!(r.lag, 0, "{sr}");
            // Measured: 25.9 (44.1k), 27.4 (22.05k), 33.7 (16k), 27.0 dB (96k).
            assert!(r.snr > 22.0, "{sr}: {:.1} dB", r.snr);
        }
        // An explicit rate Opus does not take is an error, before anything is written.
        let a = audio(vec![vec![0.0; 100]], 44_100);
        let p = scratch("explicit.opus");
        let e = encode_audio(&p, &a, &EncodeOptions::default().sample_rate(44_100)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "sample_rate",
                    ..
                }
            ) && e.to_string().contains("48000"),
            "{e}"
        );
        assert!(!p.exists());
    }

    #[test]
    fn streaming_through_ffmpeg_equals_one_write() {
        if !tools() {
            return;
        }
        let sr = 44_100;
        let n = 10 * sr as usize + 5;
        let a = audio(vec![music(n, sr, 51), music(n, sr, 52)], sr);
        let planar: Vec<f32> = a.data().iter().copied().collect();
        for ext in ["flac", "mp3", "m4a", "ogg", "opus"] {
            let whole = scratch(&format!("whole.{ext}"));
            let info = encode_audio(&whole, &a, &EncodeOptions::default()).unwrap();
            let streamed = scratch(&format!("streamed.{ext}"));
            let mut enc = open_encoder(&streamed, sr, 2, &EncodeOptions::default()).unwrap();
            assert_eq!(enc.info().frame_size, info.frame_size);
            let mut buf = Vec::new();
            let mut start = 0;
            let mut k = 0;
            while start < n {
                // Chunks of 1 to 3000 frames, never a whole codec frame's multiple.
                let m = (1 + (k * 977) % 3000).min(n - start);
                k += 1;
                buf.clear();
                for c in 0..2 {
                    buf.extend_from_slice(&planar[c * n + start..c * n + start + m]);
                }
                enc.write(AudioChunk::new(&buf, 2, m).unwrap()).unwrap();
                start += m;
            }
            enc.finish().unwrap();
            assert_eq!(enc.info().frames, info.frames, "{ext}");
            let (d1, d2) = (decode(&whole), decode(&streamed));
            assert_eq!(d1.len(), d2.len(), "{ext}");
            if ext == "opus" {
                // Resampled 44.1 -> 48 kHz by soxr in pieces: the same to float rounding.
                assert!(snr_db(&d1, &d2) > 60.0, "{ext}: {:.1} dB", snr_db(&d1, &d2));
            } else {
                assert!(d1 == d2, "{ext}: streamed samples differ");
            }
        }
    }

    #[test]
    fn empty_and_tiny_inputs() {
        if !tools() {
            return;
        }
        // No samples, one sample, one short of an Opus frame, one past an MP3 frame: valid
        // files. FFmpeg's own gapless handling of such short streams is imperfect (the ffmpeg
        // tool decodes 1 MP3 sample as 47, 959 Vorbis samples as 831), so the decoded length
        // is checked against `ffmpeg -i in.wav out.EXT` on the same samples, and exactly for
        // FLAC and Opus.
        for ext in ["flac", "mp3", "opus", "m4a", "ogg"] {
            for n in [0usize, 1, 959, 1153] {
                let a = audio(vec![music(n, 48_000, 71), music(n, 48_000, 72)], 48_000);
                let p = scratch(&format!("tiny_{n}.{ext}"));
                let info = encode_audio(&p, &a, &EncodeOptions::default()).unwrap();
                assert_eq!(info.frames, n as u64, "{ext} {n}");
                if n == 0 {
                    // A header-only file, as `ffmpeg -i empty.wav x.EXT` writes, which the
                    // ffmpeg tool itself cannot always read back.
                    assert!(p.exists(), "{ext}");
                    continue;
                }
                let wav = scratch(&format!("tiny_{n}.wav"));
                encode_audio(&wav, &a, &EncodeOptions::default()).unwrap();
                let theirs = scratch(&format!("tiny_{n}_tool.{ext}"));
                let o = Command::new("ffmpeg")
                    .args(["-v", "error", "-y", "-i"])
                    .arg(&wav)
                    .arg(&theirs)
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let got = decode(&p).len() / 2;
                assert_eq!(got, decode(&theirs).len() / 2, "{ext}: {n} frames");
                if ext == "flac" || ext == "opus" {
                    assert_eq!(got, n, "{ext}");
                }
            }
        }
    }

    #[test]
    fn wav_through_ffmpeg_with_a_pcm_codec() {
        if !tools() {
            return;
        }
        let a = audio(
            vec![quantised(10_000, 24, 61), quantised(10_000, 24, 62)],
            32_000,
        );
        let p = scratch("pcm24.wav");
        let info = encode_audio(&p, &a, &EncodeOptions::default().codec("pcm_s24le")).unwrap();
        assert_eq!((info.backend, info.bits_per_sample), ("ffmpeg", Some(24)));
        assert_eq!(decode(&p), interleave(&a));
        assert_eq!(load(&p, &LoadOptions::default().no_mono()).unwrap(), a);
        // And .aiff / .mka / .aac (ADTS) by extension, mono from stereo.
        for ext in ["aiff", "mka", "aac"] {
            let p = scratch(&format!("other.{ext}"));
            let info = encode_audio(&p, &a, &EncodeOptions::default().channels(1)).unwrap();
            assert_eq!(info.channels, 1, "{ext}");
            assert_eq!(probe(&p).0["channels"], 1, "{ext}");
        }
    }

    #[test]
    fn ffmpeg_errors_are_typed_and_leave_no_file() {
        if !tools() {
            return;
        }
        let a = audio(vec![vec![0.1; 2_000]; 3], 44_100);
        let stereo = audio(vec![vec![0.1; 2_000]; 2], 44_100);
        let cases: Vec<(&str, &Audio, EncodeOptions, &str)> = vec![
            (
                "x.mp3",
                &stereo,
                EncodeOptions::default().codec("nosuchcodec"),
                "unsupported",
            ),
            (
                "x.mp3",
                &stereo,
                EncodeOptions::default().codec("flac"),
                "unsupported",
            ),
            ("x.xyz", &stereo, EncodeOptions::default(), "unsupported"),
            ("x.mp3", &a, EncodeOptions::default(), "unsupported"), // 3 channels
            (
                "x.m4a",
                &stereo,
                EncodeOptions::default().compression_level(3),
                "compression_level",
            ),
            (
                "x.flac",
                &stereo,
                EncodeOptions::default().compression_level(13),
                "compression_level",
            ),
            (
                "x.opus",
                &stereo,
                EncodeOptions::default().quality(5.0),
                "quality",
            ),
            (
                "x.flac",
                &stereo,
                EncodeOptions::default().bit_rate(128_000),
                "bit_rate",
            ),
            (
                "x.mp3",
                &stereo,
                EncodeOptions::default().quality(12.0),
                "quality",
            ),
            (
                "x.mp3",
                &stereo,
                EncodeOptions::default().quality(2.0).bit_rate(1000),
                "quality",
            ),
            (
                "x.mp3",
                &stereo,
                EncodeOptions::default().sample_format(SampleFormat::S24),
                "sample_format",
            ),
            (
                "x.opus",
                &stereo,
                EncodeOptions::default().codec_option("no_such_option", "1"),
                "codec_options",
            ),
            (
                "x.mp3",
                &stereo,
                EncodeOptions::default().sample_rate(44_000),
                "sample_rate",
            ),
        ];
        for (name, audio, opts, kind) in cases {
            let p = scratch(name);
            let e = encode_audio(&p, audio, &opts).unwrap_err();
            let ok = match kind {
                "unsupported" => matches!(e, Error::Unsupported { .. }),
                param => matches!(&e, Error::InvalidParameter { name, .. } if *name == param),
            };
            assert!(ok, "{name} {opts:?}: {e}");
            if kind == "unsupported" {
                assert!(e.to_string().contains(name), "{e}");
            }
            assert!(!p.exists(), "{name}: a file was left behind");
        }
        // A NaN sample: named, with the codec.
        let p = scratch("nan.mp3");
        let mut enc = open_encoder(&p, 44_100, 1, &EncodeOptions::default()).unwrap();
        let e = enc
            .write(AudioChunk::new(&[0.0, f32::NAN], 1, 2).unwrap())
            .unwrap_err();
        assert!(
            e.to_string().contains("nan.mp3") && e.to_string().contains("libmp3lame"),
            "{e}"
        );
        // An unwritable place: an I/O error on the path.
        let p = scratch("missing_dir").join("x.flac");
        let e = encode_audio(&p, &stereo, &EncodeOptions::default()).unwrap_err();
        assert!(
            matches!(e, Error::Io { .. }) && e.to_string().contains("missing_dir"),
            "{e}"
        );
    }
}
