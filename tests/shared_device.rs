//! `Device::shared()` (behind the one-liners) recovers from a lost GPU: it opens a new device
//! instead of handing out the lost one forever (issue 8, item 4). Its own test binary: it sets
//! `WGPU_ADAPTER_NAME` so that `Device::auto()` takes the first adapter, lavapipe included
//! (auto skips software adapters otherwise), and nothing else in this process may see that.

mod common;

use wavegpu::{Audio, Device, Spectrogram};

#[test]
fn the_shared_device_is_reopened_after_a_loss() {
    let Some(any) = common::gpu_opened() else {
        return;
    };
    let name = wavegpu::Device::adapters()
        .into_iter()
        .next()
        .map(|a| a.name)
        .expect("an adapter, since Device::gpu() opened one");
    drop(any);
    std::env::set_var("WGPU_ADAPTER_NAME", &name);
    let audio = Audio::from_mono(common::noise(8000, 5), 8000);
    let one_liner = || Spectrogram::stft().n_fft(256).run(&audio);
    let first = Device::shared();
    assert!(first.is_gpu(), "{first}");
    assert!(!first.is_lost());
    let want = one_liner().unwrap();
    first.wgpu().unwrap().0.destroy();
    assert!(first.is_lost());
    // The one-liner goes on, on a new shared device.
    assert_eq!(one_liner().unwrap(), want);
    let second = Device::shared();
    assert!(second.is_gpu() && !second.is_lost(), "{second}");
    assert!(first.is_lost());
    assert!(!Device::cpu().is_lost());
}
