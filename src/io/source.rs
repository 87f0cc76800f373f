//! Where encoded audio comes from: a file path or bytes in memory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Encoded audio to decode: a file on disk or bytes already in memory.
///
/// Every function in [`crate::io`] takes `impl Into<Source>`, so a path (`&str`, `String`,
/// `&Path`, `PathBuf`) or a byte buffer (`Vec<u8>`, `&[u8]`, `Arc<[u8]>`) can be passed
/// directly. Bytes of any other type that is `AsRef<[u8]>` (for example `bytes::Bytes`) go
/// through [`Source::bytes`].
///
/// A source has a *name* used in every error message (the path for files, `"<memory>"` unless
/// set with [`Source::with_name`] for bytes) and an optional file-extension *hint* that helps
/// the container probe (taken from the path, or from the name given to in-memory bytes).
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

pub(crate) enum SourceKind<'a> {
    Path(PathBuf),
    Bytes(Bytes<'a>),
}

/// Bytes owned or borrowed by a [`Source`], usable as a symphonia `MediaSource` via `Cursor`.
pub(crate) struct Bytes<'a>(Box<dyn AsRef<[u8]> + Send + Sync + 'a>);

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
            kind: SourceKind::Bytes(Bytes(Box::new(data))),
            name: "<memory>".to_string(),
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
            SourceKind::Bytes(_) => None,
        }
    }

    /// The bytes, for an in-memory source.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            SourceKind::Path(_) => None,
            SourceKind::Bytes(b) => Some(b.as_ref()),
        }
    }
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Source");
        match &self.kind {
            SourceKind::Path(p) => d.field("path", p),
            SourceKind::Bytes(b) => d.field("bytes", &b.as_ref().len()),
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
