//! A global tracing subscriber at TRACE that captures everything into a buffer.
//!
//! Global (not per-thread `set_default`): thread-local subscribers race with the callsite
//! interest cache when tests run in parallel, and events can be missed. Tests that read the
//! buffer hold a lock, so their captures do not mix with each other (other tests of the
//! binary may still add lines).
#![allow(unreachable_pub)]

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

fn buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_ansi(false)
            .with_writer(move || Writer(Arc::clone(&writer)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber per test binary");
        buffer
    })
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A capture in progress; the lock is held until it is dropped.
pub struct Captured {
    _exclusive: MutexGuard<'static, ()>,
}

/// Starts capturing: waits for other captures to end and empties the buffer.
pub fn start() -> Captured {
    static EXCLUSIVE: Mutex<()> = Mutex::new(());
    let exclusive = EXCLUSIVE.lock().unwrap_or_else(PoisonError::into_inner);
    buffer().lock().unwrap_or_else(PoisonError::into_inner).clear();
    Captured { _exclusive: exclusive }
}

impl Captured {
    /// Everything logged since the capture started.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&buffer().lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}
