//! GPU timestamps around compute passes, for `wavegpu bench` and [`Device::profiled`]
//! (crate::Device::profiled): each pass a plan records while profiling is on gets a begin
//! and an end timestamp; [`GpuContext::take_timings`] resolves them into durations.

use std::sync::Mutex;

use super::GpuContext;
use crate::error::{Error, Result};

/// Pairs of timestamp queries handed to passes, labelled, until they are read.
pub(crate) struct Profiler {
    set: wgpu::QuerySet,
    /// Pairs the query set holds.
    pairs: u32,
    labels: Mutex<Vec<&'static str>>,
}

impl Profiler {
    pub fn new(device: &wgpu::Device, pairs: u32) -> Profiler {
        Profiler {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * pairs,
            }),
            pairs,
            labels: Mutex::new(Vec::new()),
        }
    }
}

impl GpuContext {
    /// Timestamp writes for a compute pass labelled `label`, when profiling is on and the
    /// query set has room (else `None`: the pass runs untimed).
    pub fn pass_timestamps(
        &self,
        label: &'static str,
    ) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let p = self.profiler.as_ref()?;
        let mut labels = p.labels.lock().unwrap_or_else(|e| e.into_inner());
        let i = labels.len() as u32;
        if i >= p.pairs {
            return None;
        }
        labels.push(label);
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &p.set,
            beginning_of_pass_write_index: Some(2 * i),
            end_of_pass_write_index: Some(2 * i + 1),
        })
    }

    /// The durations in seconds of the passes timed since the last call, in the order they
    /// were recorded, and forgets them. Empty when profiling is off.
    pub async fn take_timings(&self) -> Result<Vec<(&'static str, f64)>> {
        let Some(p) = self.profiler.as_ref() else {
            return Ok(Vec::new());
        };
        let labels: Vec<&'static str> =
            std::mem::take(&mut *p.labels.lock().unwrap_or_else(|e| e.into_inner()));
        if labels.is_empty() {
            return Ok(Vec::new());
        }
        let n = 2 * labels.len() as u32;
        let bytes = u64::from(n) * 8;
        let readback = self.scoped("reading timestamps", || {
            let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let rb = self.readback_buffer("timestamps readback", bytes);
            let mut enc = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("timestamps"),
                });
            enc.resolve_query_set(&p.set, 0..n, &resolve, 0);
            enc.copy_buffer_to_buffer(&resolve, 0, &rb, 0, bytes);
            self.queue.submit(Some(enc.finish()));
            rb
        })?;
        let period = f64::from(self.queue.get_timestamp_period()) * 1e-9;
        let mut ticks = Vec::new();
        self.read_back(&readback, bytes, |b| {
            ticks = bytemuck::cast_slice::<u8, u64>(b).to_vec();
        })
        .await?;
        if ticks.len() != n as usize {
            return Err(Error::gpu("reading timestamps", "short readback"));
        }
        Ok(labels
            .into_iter()
            .zip(ticks.chunks_exact(2))
            .map(|(l, t)| (l, t[1].saturating_sub(t[0]) as f64 * period))
            .collect())
    }
}

impl GpuContext {
    /// Device-memory bandwidth in bytes per second (bytes read plus bytes written), measured
    /// with `copy_buffer_to_buffer` between two buffers of up to `bytes` bytes: one warm-up
    /// submission, then the best of three submissions of eight copies each, wall-clocked
    /// to completion.
    pub fn copy_bandwidth(&self, bytes: u64) -> Result<f64> {
        let size = bytes.min(self.limits.max_buffer_size).max(1 << 20) / 4 * 4;
        let (a, b) = self.scoped("allocating the bandwidth test", || {
            let usage = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
            (
                self.storage_buffer("bandwidth a", size, usage),
                self.storage_buffer("bandwidth b", size, usage),
            )
        })?;
        const COPIES: u32 = 8;
        let run = || -> Result<f64> {
            let t = std::time::Instant::now();
            self.scoped("timing copies", || {
                let mut enc = self
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("bandwidth"),
                    });
                for i in 0..COPIES {
                    let (src, dst) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
                    enc.copy_buffer_to_buffer(src, 0, dst, 0, size);
                }
                self.queue.submit(Some(enc.finish()));
            })?;
            self.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| Error::gpu("timing copies", e))?;
            Ok(t.elapsed().as_secs_f64())
        };
        run()?;
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            best = best.min(run()?);
        }
        Ok(2.0 * size as f64 * f64::from(COPIES) / best)
    }
}
