//! Arbitrary bytes through the FFmpeg backend (cargo feature `ffmpeg`): probe, decode to the
//! end, seek and read.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "decode_common.rs"]
mod decode_common;

fuzz_target!(|data: &[u8]| {
    decode_common::run(wavegpu::io::Backend::Ffmpeg, data);
});
