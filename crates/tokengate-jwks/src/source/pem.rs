//! [`PemSource`]: keys from a PEM file or a folder of PEM files, reloaded when they change.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokengate_core::{Algorithm, Key, KeySet, SkippedKey};

use super::{FetchFuture, Fetched, KeySource};
use crate::JwksError;
use crate::sync::lock;

/// The default interval at which files are checked for changes: 30 s.
pub const DEFAULT_PEM_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// Public keys from a PEM file, or from every `*.pem` file of a folder (the `kid` of each
/// is its file name without `.pem`).
///
/// Changes are found by polling: each fetch compares file names, sizes and modification
/// times, and re-reads only when they changed. The cache fetches at the poll interval
/// (clamped to its own bounds: lower its `min_refresh_interval` to poll faster), and
/// also when a token names an unknown `kid`, within the cooldown.
///
/// ```
/// use tokengate_core::Algorithm;
/// use tokengate_jwks::PemSource;
/// let one = PemSource::file("/etc/keys/signing.pem", Algorithm::ES256).kid("2024-06");
/// let many = PemSource::dir("/etc/keys/", Algorithm::RS256);
/// # let _ = (one, many);
/// ```
#[derive(Debug)]
pub struct PemSource {
    path: PathBuf,
    alg: Algorithm,
    folder: bool,
    kid: Option<String>,
    poll: Duration,
    last: Mutex<Option<(Vec<Stamp>, Fetched)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl PemSource {
    /// One PEM file holding one public key for `alg`. Its `kid` is the file name without
    /// extension unless set with [`PemSource::kid`].
    pub fn file(path: impl Into<PathBuf>, alg: Algorithm) -> PemSource {
        PemSource::new(path.into(), alg, false)
    }

    /// Every `*.pem` file of a folder, each one public key for `alg`, with the file
    /// name (without `.pem`) as its `kid`. Files that cannot be parsed are skipped and
    /// reported with their `kid`.
    pub fn dir(path: impl Into<PathBuf>, alg: Algorithm) -> PemSource {
        PemSource::new(path.into(), alg, true)
    }

    fn new(path: PathBuf, alg: Algorithm, folder: bool) -> PemSource {
        PemSource { path, alg, folder, kid: None, poll: DEFAULT_PEM_POLL_INTERVAL, last: Mutex::new(None) }
    }

    /// The `kid` of a single-file key.
    pub fn kid(mut self, kid: impl Into<String>) -> PemSource {
        self.kid = Some(kid.into());
        self
    }

    /// How often to check the files for changes (default 30 s).
    pub fn poll_interval(mut self, every: Duration) -> PemSource {
        self.poll = every;
        self
    }

    fn io_err(&self, path: &Path, e: impl std::fmt::Display) -> JwksError {
        let _ = self;
        JwksError::Io { path: path.display().to_string(), reason: e.to_string() }
    }

    fn files(&self) -> Result<Vec<PathBuf>, JwksError> {
        if !self.folder {
            return Ok(vec![self.path.clone()]);
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.path).map_err(|e| self.io_err(&self.path, e))? {
            let path = entry.map_err(|e| self.io_err(&self.path, e))?.path();
            if path.extension().is_some_and(|ext| ext == "pem") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    fn stamps(&self, files: &[PathBuf]) -> Result<Vec<Stamp>, JwksError> {
        files
            .iter()
            .map(|path| {
                let meta = std::fs::metadata(path).map_err(|e| self.io_err(path, e))?;
                Ok(Stamp { path: path.clone(), len: meta.len(), modified: meta.modified().ok() })
            })
            .collect()
    }

    fn kid_of(&self, path: &Path) -> Option<String> {
        if !self.folder && self.kid.is_some() {
            return self.kid.clone();
        }
        path.file_stem().map(|s| s.to_string_lossy().into_owned())
    }

    fn load(&self) -> Result<Fetched, JwksError> {
        let files = self.files()?;
        let stamps = self.stamps(&files)?;
        let mut last = lock(&self.last);
        if let Some((seen, fetched)) = last.as_ref()
            && *seen == stamps
        {
            return Ok(fetched.clone());
        }
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for path in &files {
            let kid = self.kid_of(path);
            let bytes = std::fs::read(path).map_err(|e| self.io_err(path, e))?;
            match Key::from_pem(self.alg, &bytes) {
                Ok(key) => keys.push(match &kid {
                    Some(kid) => key.with_kid(kid.clone()),
                    None => key,
                }),
                Err(reason) if self.folder => skipped.push(SkippedKey { kid, reason }),
                Err(reason) => return Err(JwksError::InvalidKey(reason)),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys { skipped: skipped.len() });
        }
        let set = KeySet::new(keys).map_err(JwksError::InvalidKey)?;
        let fetched = Fetched::new(set).skipped(skipped).refresh_in(Some(self.poll));
        *last = Some((stamps, fetched.clone()));
        Ok(fetched)
    }
}

impl KeySource for PemSource {
    fn fetch(&self) -> FetchFuture<'_> {
        // Small local files: read inline, as the OS page cache makes this a memory copy.
        let result = self.load();
        Box::pin(async move { result })
    }

    fn describe(&self) -> String {
        format!("PEM {}", self.path.display())
    }
}
