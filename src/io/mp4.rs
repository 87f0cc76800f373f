//! A minimal reader for MP4 edit lists (`moov/trak/edts/elst`).
//!
//! symphonia 0.6 ignores edit lists, so AAC in MP4/M4A decodes with the encoder's priming
//! frames (1024 for FFmpeg's and Apple's encoders) in front and padding behind. FFmpeg (and so
//! librosa's audioread fallback) skips the priming the edit list names; FFmpeg 5.1 keeps the
//! padding at the end, which we drop too (see `SymphoniaDecoder`). This module reads just
//! enough of the `moov` box to find, per track, how many media frames to skip and keep.

use std::io::{Read, Seek, SeekFrom};

/// The first non-empty edit of a track, in the track's media timescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mp4Edit {
    /// The track's `tkhd` id (symphonia uses it as the track id).
    pub track_id: u32,
    /// The media timescale (`mdhd`), usually the sample rate.
    pub media_timescale: u32,
    /// Media time at which presentation starts (frames to skip, in media timescale units).
    pub skip: u64,
    /// Presented duration in media timescale units, if the edit gives one.
    pub duration: Option<u64>,
}

/// Largest `moov` box read into memory; bigger ones are ignored (no edit applied).
const MAX_MOOV: u64 = 64 << 20;

/// True when `head` (the first bytes of a stream) looks like an ISO-BMFF file.
pub(crate) fn looks_like_mp4(head: &[u8]) -> bool {
    head.len() >= 8 && &head[4..8] == b"ftyp"
}

/// Reads the edit lists of all tracks of an MP4 stream. Any parse trouble gives an empty list:
/// the edit list is an optional refinement, never a reason to fail.
pub(crate) fn read_edits<R: Read + Seek>(r: &mut R) -> Vec<Mp4Edit> {
    find_moov(r)
        .map(|moov| parse_moov(&moov))
        .unwrap_or_default()
}

fn find_moov<R: Read + Seek>(r: &mut R) -> Option<Vec<u8>> {
    let end = r.seek(SeekFrom::End(0)).ok()?;
    let mut pos = 0u64;
    while pos + 8 <= end {
        r.seek(SeekFrom::Start(pos)).ok()?;
        let mut hdr = [0u8; 8];
        r.read_exact(&mut hdr).ok()?;
        let size32 = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as u64;
        let kind = [hdr[4], hdr[5], hdr[6], hdr[7]];
        let (size, header_len) = match size32 {
            0 => (end - pos, 8),
            1 => {
                let mut big = [0u8; 8];
                r.read_exact(&mut big).ok()?;
                (u64::from_be_bytes(big), 16)
            }
            s => (s, 8),
        };
        if size < header_len || pos.checked_add(size)? > end {
            return None;
        }
        if &kind == b"moov" {
            let len = size - header_len;
            if len > MAX_MOOV {
                return None;
            }
            let mut buf = vec![0u8; len as usize];
            r.read_exact(&mut buf).ok()?;
            return Some(buf);
        }
        pos += size;
    }
    None
}

/// Iterates over the child boxes of a box payload: `(type, payload)`.
fn children(mut data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 8 {
            return None;
        }
        let size32 = be_u32(data, 0)? as u64;
        let kind = [data[4], data[5], data[6], data[7]];
        let (size, header_len) = match size32 {
            0 => (data.len() as u64, 8usize),
            1 => (be_u64(data, 8)?, 16usize),
            s => (s, 8usize),
        };
        if size < header_len as u64 || size > data.len() as u64 {
            return None;
        }
        let payload = &data[header_len..size as usize];
        data = &data[size as usize..];
        Some((kind, payload))
    })
}

fn be_u32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}
fn be_u64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

fn parse_moov(moov: &[u8]) -> Vec<Mp4Edit> {
    let mut movie_timescale = None;
    let mut traks = Vec::new();
    for (kind, payload) in children(moov) {
        match &kind {
            b"mvhd" => {
                let version = payload.first().copied();
                movie_timescale = match version {
                    Some(0) => be_u32(payload, 12),
                    Some(1) => be_u32(payload, 20),
                    _ => None,
                };
            }
            b"trak" => traks.push(payload),
            _ => {}
        }
    }
    let Some(movie_timescale) = movie_timescale.filter(|&t| t > 0) else {
        return Vec::new();
    };
    traks
        .into_iter()
        .filter_map(|t| parse_trak(t, movie_timescale))
        .collect()
}

fn parse_trak(trak: &[u8], movie_timescale: u32) -> Option<Mp4Edit> {
    let mut track_id = None;
    let mut media_timescale = None;
    let mut entries: Vec<(u64, i64)> = Vec::new();
    for (kind, payload) in children(trak) {
        match &kind {
            b"tkhd" => {
                track_id = match payload.first()? {
                    0 => be_u32(payload, 12),
                    1 => be_u32(payload, 20),
                    _ => None,
                };
            }
            b"mdia" => {
                for (k, p) in children(payload) {
                    if &k == b"mdhd" {
                        media_timescale = match p.first()? {
                            0 => be_u32(p, 12),
                            1 => be_u32(p, 20),
                            _ => None,
                        };
                    }
                }
            }
            b"edts" => {
                for (k, p) in children(payload) {
                    if &k == b"elst" {
                        entries = parse_elst(p)?;
                    }
                }
            }
            _ => {}
        }
    }
    let media_timescale = media_timescale.filter(|&t| t > 0)?;
    // Leading empty edits (media_time == -1) delay the track; FFmpeg ignores them for audio.
    let mut non_empty = entries.iter().filter(|(_, media_time)| *media_time >= 0);
    let &(segment_duration, media_time) = non_empty.next()?;
    if non_empty.next().is_some() {
        // Several segments (a real edit, not gapless trimming): not supported, apply none.
        return None;
    }
    let duration = if segment_duration == 0 {
        None
    } else {
        // movie timescale -> media timescale, rounded to nearest
        let num = segment_duration as u128 * media_timescale as u128;
        let den = movie_timescale as u128;
        u64::try_from((num + den / 2) / den).ok()
    };
    Some(Mp4Edit {
        track_id: track_id?,
        media_timescale,
        skip: media_time as u64,
        duration,
    })
}

fn parse_elst(p: &[u8]) -> Option<Vec<(u64, i64)>> {
    let version = *p.first()?;
    let count = be_u32(p, 4)? as usize;
    let entry_len = if version == 1 { 20 } else { 12 };
    if count > (p.len().saturating_sub(8)) / entry_len {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = 8 + i * entry_len;
        let entry = if version == 1 {
            (be_u64(p, at)?, be_u64(p, at + 8)? as i64)
        } else {
            (be_u32(p, at)? as u64, be_u32(p, at + 4)? as i32 as i64)
        };
        out.push(entry);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn reads_a_gapless_edit() {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        let mut tkhd = vec![0u8; 84];
        tkhd[12..16].copy_from_slice(&7u32.to_be_bytes());
        let mut mdhd = vec![0u8; 24];
        mdhd[12..16].copy_from_slice(&16000u32.to_be_bytes());
        let mut elst = vec![0u8; 8];
        elst[4..8].copy_from_slice(&1u32.to_be_bytes());
        elst.extend_from_slice(&1471u32.to_be_bytes()); // ms
        elst.extend_from_slice(&1024i32.to_be_bytes());
        elst.extend_from_slice(&[0, 1, 0, 0]);
        let trak = [
            boxed(b"tkhd", &tkhd),
            boxed(b"edts", &boxed(b"elst", &elst)),
            boxed(b"mdia", &boxed(b"mdhd", &mdhd)),
        ]
        .concat();
        let moov = [boxed(b"mvhd", &mvhd), boxed(b"trak", &trak)].concat();
        let file = [boxed(b"ftyp", b"M4A \0\0\0\0"), boxed(b"moov", &moov)].concat();
        assert!(looks_like_mp4(&file));
        let edits = read_edits(&mut std::io::Cursor::new(file));
        assert_eq!(
            edits,
            vec![Mp4Edit {
                track_id: 7,
                media_timescale: 16000,
                skip: 1024,
                duration: Some(23536)
            }]
        );
    }

    #[test]
    fn garbage_gives_no_edits() {
        let junk: Vec<u8> = (0..1000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(read_edits(&mut std::io::Cursor::new(junk)).is_empty());
        let mut fake = boxed(b"ftyp", b"isom");
        fake.extend_from_slice(&[0, 0, 0, 200, b'm', b'o', b'o', b'v', 1, 2]);
        assert!(read_edits(&mut std::io::Cursor::new(fake)).is_empty());
    }
}
