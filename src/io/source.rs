//! Where encoded audio comes from: a file path, bytes in memory, or any `Read + Seek`.

use std::fmt;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// Encoded audio to decode: a file on disk, bytes already in memory, or a reader.
///
/// Every function in [`crate::io`] takes `impl Into<Source>`, so a path (`&str`, `String`,
/// `&Path`, `PathBuf`) or a byte buffer (`Vec<u8>`, `&[u8]`, `Arc<[u8]>`) can be passed
/// directly. Bytes of any other type that is `AsRef<[u8]>` (for example `bytes::Bytes`) go
/// through [`Source::bytes`], and any `Read + Seek` (an open `File`, a `Cursor`, a network
/// stream with range requests behind a `Seek` impl, ...) through [`Source::reader`].
///
/// A source has a *name* used in every error message (the path for files, `"<memory>"` or
/// `"<reader>"` unless set with [`Source::with_name`]) and an optional file-extension *hint*
/// that helps the container probe (taken from the path, or from the name given with
/// [`Source::with_name`]).
///
/// Paths and bytes can be opened again (a path is reopened, bytes are shared, not copied);
/// a reader is consumed by the first decoder that opens it. That matters only for
/// [`Backend::Auto`](super::Backend::Auto), which retries with FFmpeg after symphonia has
/// read part of the input: for a reader it tries symphonia alone.
///
/// ```
/// use wavegpu::io::Source;
/// let from_path = Source::from("tests/data/fixtures/speech_16k.wav");
/// assert_eq!(from_path.name(), "tests/data/fixtures/speech_16k.wav");
/// assert_eq!(from_path.extension_hint(), Some("wav"));
///
/// let bytes: Vec<u8> = vec![0; 16];
/// let in_memory = Source::bytes(bytes).with_name("upload.mp3");
/// assert_eq!(in_memory.extension_hint(), Some("mp3"));
/// ```
pub struct Source<'a> {
    pub(crate) kind: SourceKind<'a>,
    name: String,
    hint: Option<String>,
}

/// The most bytes read from a path that is not a regular file (see `Source::readable`).
pub(crate) const MAX_STREAM_BYTES: u64 = 1 << 30;

pub(crate) enum SourceKind<'a> {
    Path(PathBuf),
    Bytes(Bytes<'a>),
    Reader(Box<dyn ReadSeek + 'a>),
}

/// What [`Source::reader`] accepts: symphonia's `MediaSource` (and FFmpeg's custom I/O) need
/// `Read + Seek + Send + Sync`.
pub(crate) trait ReadSeek: Read + Seek + Send + Sync {}

impl<T: Read + Seek + Send + Sync + ?Sized> ReadSeek for T {}

/// Bytes owned or borrowed by a [`Source`], usable as a symphonia `MediaSource` via `Cursor`.
/// Cloning shares the bytes (no copy), so that a source can be opened more than once.
#[derive(Clone)]
pub(crate) struct Bytes<'a>(Arc<dyn AsRef<[u8]> + Send + Sync + 'a>);

impl AsRef<[u8]> for Bytes<'_> {
    fn as_ref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl<'a> Source<'a> {
    /// A file on disk. Its extension (if any) becomes the probe hint.
    pub fn path(path: impl AsRef<Path>) -> Source<'static> {
        let path = path.as_ref().to_path_buf();
        let hint = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        Source {
            name: path.display().to_string(),
            kind: SourceKind::Path(path),
            hint,
        }
    }

    /// Encoded bytes in memory (`Vec<u8>`, `&[u8]`, `Arc<[u8]>`, `bytes::Bytes`, ...).
    ///
    /// Named `"<memory>"` in error messages until [`Source::with_name`] is called.
    pub fn bytes(data: impl AsRef<[u8]> + Send + Sync + 'a) -> Source<'a> {
        Source {
            kind: SourceKind::Bytes(Bytes(Arc::new(data))),
            name: "<memory>".to_string(),
            hint: None,
        }
    }

    /// Any seekable reader: an open [`File`](std::fs::File), a [`Cursor`](std::io::Cursor),
    /// a custom type reading from an archive or over the network, ...
    ///
    /// The encoded stream must start at byte 0 of the reader: it is rewound before the
    /// container is probed. Its length is found by seeking to the end and back. Named
    /// `"<reader>"` in error messages until [`Source::with_name`] is called (which also gives
    /// the extension hint).
    ///
    /// A reader is consumed by the first decoder that opens it: with
    /// [`Backend::Auto`](super::Backend::Auto) only symphonia is tried.
    ///
    /// ```
    /// use wavegpu::io::{load, LoadOptions, Source};
    /// let file = std::fs::File::open("tests/data/fixtures/speech_16k.flac")?;
    /// let audio = load(Source::reader(file).with_name("speech.flac"), &LoadOptions::default())?;
    /// assert_eq!(audio.len(), 23_542);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reader(reader: impl Read + Seek + Send + Sync + 'a) -> Source<'a> {
        Source {
            kind: SourceKind::Reader(Box::new(reader)),
            name: "<reader>".to_string(),
            hint: None,
        }
    }

    /// Sets the file-extension hint (`"mp3"`, `".flac"`, ...) given to the container probe.
    ///
    /// The probe recognises containers by their content; the hint only decides which readers
    /// are tried first (and helps formats without a strong marker, such as raw ADTS AAC).
    pub fn with_extension(mut self, extension: &str) -> Self {
        let e = extension.trim_start_matches('.').to_ascii_lowercase();
        self.hint = if e.is_empty() { None } else { Some(e) };
        self
    }

    /// Sets the name used in error messages. If no extension hint is set yet and `name` has an
    /// extension, that becomes the hint.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        if self.hint.is_none() {
            self.hint = Path::new(&self.name)
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| e.to_ascii_lowercase());
        }
        self
    }

    /// A path that is a pipe, a FIFO or a device (`/dev/stdin` fed by `cat x.wav |`), read
    /// into memory: such a stream cannot seek or tell its length (its metadata says 0 bytes,
    /// which read as an empty file), and every decoder may read it again from the start.
    /// At most [`MAX_STREAM_BYTES`]. Other sources are returned as they are.
    pub(crate) fn readable(self) -> Result<Self> {
        let SourceKind::Path(path) = &self.kind else {
            return Ok(self);
        };
        // A path that cannot be read is reported by the decoder that opens it.
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() && !m.is_dir() => {}
            _ => return Ok(self),
        }
        let io_err = |e: std::io::Error| Error::Io {
            path: self.name.clone(),
            source: e,
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let mut data = Vec::new();
        file.take(MAX_STREAM_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(io_err)?;
        if data.len() as u64 > MAX_STREAM_BYTES {
            return Err(Error::Decode {
                input: self.name.clone(),
                component: "reader",
                reason: format!(
                    "a pipe or device that gives more than {} MiB: such a stream is read into \
                     memory first (it cannot seek); save it to a file",
                    MAX_STREAM_BYTES >> 20
                ),
            });
        }
        Ok(Source {
            kind: SourceKind::Bytes(Bytes(Arc::new(data))),
            name: self.name,
            hint: self.hint,
        })
    }

    /// The name used in error messages: the path, or the name given to in-memory bytes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file-extension hint, lower case and without the dot.
    pub fn extension_hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The path, for a file source.
    pub fn as_path(&self) -> Option<&Path> {
        match &self.kind {
            SourceKind::Path(p) => Some(p),
            _ => None,
        }
    }

    /// The bytes, for an in-memory source.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            SourceKind::Bytes(b) => Some(b.as_ref()),
            _ => None,
        }
    }

    /// Whether the source can be opened again: true for paths and bytes, false for a reader
    /// (consumed by the first decoder that opens it).
    pub fn is_reopenable(&self) -> bool {
        !matches!(self.kind, SourceKind::Reader(_))
    }

    /// A second handle on the same input (same name and hint), for paths and bytes (the
    /// bytes are shared, not copied); `None` for a reader.
    pub(crate) fn try_clone(&self) -> Option<Source<'a>> {
        let kind = match &self.kind {
            SourceKind::Path(p) => SourceKind::Path(p.clone()),
            SourceKind::Bytes(b) => SourceKind::Bytes(b.clone()),
            SourceKind::Reader(_) => return None,
        };
        Some(Source {
            kind,
            name: self.name.clone(),
            hint: self.hint.clone(),
        })
    }
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Source");
        match &self.kind {
            SourceKind::Path(p) => d.field("path", p),
            SourceKind::Bytes(b) => d.field("bytes", &b.as_ref().len()),
            SourceKind::Reader(_) => d.field("reader", &"<dyn Read + Seek>"),
        };
        d.field("name", &self.name)
            .field("hint", &self.hint)
            .finish()
    }
}

impl From<&str> for Source<'static> {
    fn from(p: &str) -> Self {
        Source::path(p)
    }
}
impl From<String> for Source<'static> {
    fn from(p: String) -> Self {
        Source::path(p)
    }
}
impl From<&String> for Source<'static> {
    fn from(p: &String) -> Self {
        Source::path(p)
    }
}
impl From<&Path> for Source<'static> {
    fn from(p: &Path) -> Self {
        Source::path(p)
    }
}
impl From<PathBuf> for Source<'static> {
    fn from(p: PathBuf) -> Self {
        Source::path(p)
    }
}
impl From<&PathBuf> for Source<'static> {
    fn from(p: &PathBuf) -> Self {
        Source::path(p)
    }
}
impl From<Vec<u8>> for Source<'static> {
    fn from(b: Vec<u8>) -> Self {
        Source::bytes(b)
    }
}
impl<'a> From<&'a [u8]> for Source<'a> {
    fn from(b: &'a [u8]) -> Self {
        Source::bytes(b)
    }
}
impl<'a> From<&'a Vec<u8>> for Source<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        Source::bytes(b.as_slice())
    }
}
impl From<Arc<[u8]>> for Source<'static> {
    fn from(b: Arc<[u8]>) -> Self {
        Source::bytes(b)
    }
}
